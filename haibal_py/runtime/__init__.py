"""Running graphs: the incremental ``Runtime``, its observers and results (``engine``)."""

from .engine import (GraphInputError, NodeContext, NodeRunError, RunObserver, RunResult, Runtime,
                     fingerprint)

__all__ = ["GraphInputError", "NodeContext", "NodeRunError", "RunObserver", "RunResult", "Runtime", "fingerprint"]
