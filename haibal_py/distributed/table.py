"""The per-shard table of a sharded run or a sweep, written row by row as results arrive.

One row per (setting, shard), in order, and after each setting's shards a merged row
(``shard`` = ``(merged)``) holding the merged outputs (none when each setting ran once: a
sweep without shards, whose rows are the results). Three formats, by the suffix of
``--output``:

- ``.csv``: columns = the swept parameters, ``shard``, one per graph output, ``error``;
  a cell holds a number, a small array as JSON, a large one as its summary;
- ``.json``: ``{"graph", "sweep", "outputs", "rows": [...]}``, values as numbers or
  nested lists (non-finite numbers as null), large ones as a summary object;
- ``.npz``: the arrays themselves: ``OUTPUT/SHARD`` per shard (the shard's path without
  its suffix) and ``OUTPUT`` for a merged value (a single run: ``OUTPUT`` alone); with
  sweeps, ``s<i>/`` before each key
  (``i`` counts the settings from 0, in the order of the JSON/CSV tables).

The file is written to a temporary file and renamed when the run ends (``AtomicStream``):
an interrupted run leaves no half-written table.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from pathlib import Path, PurePath
from typing import Any, Sequence

import numpy as np

from ..files.atomic import AtomicStream
from ..node.types import Batches
from .results import SettingResult
from .task import Summary, TaskResult

__all__ = ["TABLE_SUFFIXES", "ShardTable", "cell_text", "json_value"]

TABLE_SUFFIXES = (".csv", ".json", ".npz")
MERGED = "(merged)"


def json_value(value: Any) -> Any:
    """A value as JSON data: numbers (non-finite as None), nested lists, a summary object."""
    if isinstance(value, Summary):
        return {"summary": {"shape": list(value.shape), "dtype": value.dtype, "min": value.min,
                            "mean": value.mean, "max": value.max,
                            **({"batches": value.batches} if value.batches is not None else {})}}
    if isinstance(value, Batches):
        return {"batches": [json_value(v) for v in value]}
    if value is None or isinstance(value, (str, bool)):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        return arr.tolist()
    if arr.dtype.kind in "iu":
        return arr.tolist()
    if arr.dtype.kind == "f":
        return _clean(arr.tolist())
    return str(value)


def _clean(data):
    if isinstance(data, list):
        return [_clean(d) for d in data]
    return data if math.isfinite(data) else None


def cell_text(value: Any, limit: int = 64) -> str:
    """A value in one CSV cell: a number, a small array as JSON, else its summary."""
    if value is None:
        return ""
    if isinstance(value, Summary):
        return str(value)
    if isinstance(value, Batches):
        return str(Summary.of(value))
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        return str(value)
    if arr.ndim == 0:
        return repr(bool(arr)) if arr.dtype.kind == "b" else (str(int(arr)) if arr.dtype.kind in "iu"
                                                              else f"{float(arr):.17g}")
    if arr.size <= limit:
        return json.dumps(json_value(arr))
    return str(Summary.of(arr))


def _key(shard: str) -> str:
    """A shard's name as an .npz key: its path without suffix, relative (no leading '/')."""
    path = PurePath(shard).with_suffix("")
    if path.anchor:
        path = path.relative_to(path.anchor)
    return path.as_posix()


def _setting_text(value: Any) -> str:
    return json.dumps(json_value(value)) if not isinstance(value, str) else value


class ShardTable:
    """Writes the table (see the module docstring) to ``path``: ``add_shard`` for each task
    result in order, ``add_merged`` after each setting's last shard, then ``commit``
    (or ``abort``)."""

    def __init__(self, path: str | Path, graph_name: str, sweep: Sequence[str], outputs: Sequence[str],
                 shards: int = 2):
        self.path = Path(path)
        self.kind = self.path.suffix.lower()
        if self.kind not in TABLE_SUFFIXES:
            raise ValueError(f"unsupported table suffix {self.kind!r}")
        self.graph_name, self.sweep, self.outputs = graph_name, list(sweep), list(outputs)
        self.single = shards == 1  # one run per setting: its row is the result, no merged row
        self.stream = AtomicStream(self.path)
        self._rows = 0
        self._zip: zipfile.ZipFile | None = None

    def open(self) -> "ShardTable":
        fh = self.stream.open()
        if self.kind == ".csv":
            self._write_csv(self.sweep + ["shard"] + self.outputs + ["error"])
        elif self.kind == ".json":
            head = {"graph": self.graph_name, "sweep": self.sweep, "outputs": self.outputs}
            fh.write((json.dumps(head)[:-1] + ', "rows": [\n').encode())
        else:
            self._zip = zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        return self

    # -- rows
    def add_shard(self, res: TaskResult, settings: dict[str, Any], setting_index: int | None) -> None:
        error = str(res.failure.message) if res.failure is not None else ""
        if self.kind == ".npz":
            prefix = f"s{setting_index}/" if setting_index is not None else ""
            stem = "" if self.single else "/" + (_key(res.shard) if res.shard else "inputs")
            for name, value in res.outputs.items():
                self._write_array(f"{prefix}{name}{stem}", value)
        elif self.kind == ".csv":
            self._write_csv([_setting_text(settings[k]) for k in self.sweep] + [res.shard]
                            + [cell_text(res.outputs.get(name)) for name in self.outputs] + [error])
        else:
            row: dict[str, Any] = {"settings": {k: json_value(v) for k, v in settings.items()}, "shard": res.shard,
                                   "outputs": {k: json_value(v) for k, v in res.outputs.items()}}
            if error:
                row["error"] = error
            self._write_json(row)

    def add_merged(self, row: SettingResult, setting_index: int | None) -> None:
        if self.single:
            return
        if self.kind == ".npz":
            prefix = f"s{setting_index}/" if setting_index is not None else ""
            for name, value in row.outputs.items():
                self._write_array(f"{prefix}{name}", value)
        elif self.kind == ".csv":
            failed = f"{len(row.failures)} shard(s) failed" if row.failures else ""
            self._write_csv([_setting_text(row.settings[k]) for k in self.sweep] + [MERGED]
                            + [cell_text(row.outputs.get(name)) for name in self.outputs] + [failed])
        else:
            self._write_json({"settings": {k: json_value(v) for k, v in row.settings.items()}, "shard": MERGED,
                              "outputs": {k: json_value(v) for k, v in row.outputs.items()},
                              "shards": row.shards, "failed": [f.shard for f in row.failures]})

    # -- end
    def commit(self) -> None:
        if self.kind == ".json":
            self.stream.fh.write(b"\n]}\n")
        elif self._zip is not None:
            self._zip.close()
        self.stream.commit()

    def abort(self) -> None:
        if self._zip is not None:
            try:
                self._zip.close()
            except (OSError, ValueError):
                pass
        self.stream.abort()

    # -- formats
    def _write_csv(self, cells: list[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        self.stream.fh.write(buf.getvalue().encode("utf-8"))

    def _write_json(self, row: dict) -> None:
        sep = b",\n" if self._rows else b""
        self.stream.fh.write(sep + json.dumps(row, allow_nan=False).encode("utf-8"))
        self._rows += 1

    def _write_array(self, key: str, value: Any) -> None:
        if isinstance(value, Batches):
            try:
                value = np.stack([np.asarray(v) for v in value])
            except ValueError:  # batches of different shapes: one array per batch
                for i, v in enumerate(value):
                    self._write_array(f"{key}/{i}", v)
                return
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            return
        with self._zip.open(key + ".npy", "w", force_zip64=True) as member:
            np.lib.format.write_array(member, arr, allow_pickle=False)
