"""Writes Keras 3's ``model.summary()`` texts for tests/summary_cases.py to
tests/reference/keras_summaries.json (run with the reference environment):

    /work/venv-ref/bin/python scripts/gen_keras_summary_refs.py

Each case is printed once per terminal width in ``summary_cases.COLUMNS`` (Keras reads
the width through ``shutil.get_terminal_size``, i.e. the COLUMNS variable), each width in
a fresh process so nothing depends on Keras' global state.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "reference" / "keras_summaries.json"


def _child(columns: int) -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.path.insert(0, str(ROOT / "tests"))
    import keras
    from types import SimpleNamespace

    import summary_cases

    api = SimpleNamespace(layers=keras.layers, Input=keras.Input, Model=keras.Model, Sequential=keras.Sequential)
    texts = {}
    for name, build in summary_cases.CASES.items():
        model, kwargs = build(api)
        captured = []
        model.summary(print_fn=captured.append, **kwargs)
        texts[name] = captured[0]
    print(json.dumps(texts))


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]))
        return
    sys.path.insert(0, str(ROOT / "tests"))
    import keras  # noqa: F401  (fail early outside the reference environment)
    import summary_cases

    result = {"keras_version": keras.__version__, "columns": {}}
    for columns in summary_cases.COLUMNS:
        env = dict(os.environ, COLUMNS=str(columns))
        out = subprocess.run([sys.executable, __file__, "--child", str(columns)], env=env, check=True,
                             capture_output=True, text=True).stdout
        result["columns"][str(columns)] = json.loads(out.strip().splitlines()[-1])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
