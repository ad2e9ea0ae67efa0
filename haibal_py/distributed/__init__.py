"""Saved graphs at scale: a graph run once per shard of the data, or per setting of a sweep,
in this process or on a Dask cluster (``docs/scale.md``).

::

    from haibal_py.distributed import run_over
    res = run_over("examples/segmentation.json", "data/shards/*.npz", workers=2)
    res.merged["mean_loss"]     # equals one run over the concatenated shards
    res.failures                # [ShardFailure(shard, node, message), ...]

Outputs fed by a metric's or loss's accumulator merge exactly (``Metric.merge_state``);
others are per shard (``output=`` writes them to a .csv/.json/.npz table). Dask is the
optional ``distributed`` extra; without it, ``workers=1`` runs in this process.
"""

from .executors import INSTALL_HINT, DaskNotInstalledError, dask_available
from .results import OverResult, SettingResult
from .runner import default_workers, run_over
from .shards import Shard, ShardError, expand_shards, read_shard
from .sweep import Sweep, SweepError, parse_sweeps, settings_product
from .task import ShardFailure, Summary

__all__ = ["DaskNotInstalledError", "INSTALL_HINT", "OverResult", "SettingResult", "Shard", "ShardError",
           "ShardFailure", "Summary", "Sweep", "SweepError", "dask_available", "default_workers", "expand_shards",
           "parse_sweeps", "read_shard", "run_over", "settings_product"]
