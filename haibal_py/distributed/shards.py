"""Shards: the files a sharded run goes over, and the graph inputs each one supplies.

A ``.npz`` shard supplies graph inputs by name (each array named like an input); a
``.npy`` or ``.csv`` shard holds one array, fed to the input named by ``input_name``
(``haibal run --over-input NAME``). Paths are made absolute on the client, so workers in
other folders (or on other machines sharing the file system) read the same files.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import HaibalValueError
from ..files.array_files import SUFFIXES, NpzReader, read_array
from ..files.limits import DEFAULT_LIMITS, Limits

__all__ = ["Shard", "ShardError", "expand_shards", "read_shard"]


class ShardError(HaibalValueError):
    """The shards cannot be listed or used as asked (no file matches, a wrong kind of file)."""


@dataclass(frozen=True)
class Shard:
    """One shard: ``name`` (how messages and tables name it: the path as given), ``path``
    (absolute) and, for a one-array file, the graph input it feeds."""

    name: str
    path: str
    input_name: str | None = None


def expand_shards(patterns: str | Path | Iterable[str | Path], input_name: str | None = None,
                  base_dir: str | Path | None = None) -> list[Shard]:
    """The shards named by ``patterns`` (file paths or globs such as ``data/*.npz``), sorted
    within each pattern, in the order of the patterns; a file listed twice counts once.

    Relative patterns start at ``base_dir`` (default: the current folder). ``input_name``
    is required for ``.npy``/``.csv`` files (the graph input their array feeds).
    """
    if isinstance(patterns, (str, Path)):
        patterns = [patterns]
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    shards: list[Shard] = []
    seen: set[str] = set()
    for pattern in patterns:
        text = str(pattern)
        full = text if Path(text).is_absolute() else str(base / text)
        matches = sorted(glob.glob(full, recursive=True)) if glob.has_magic(text) else [full]
        matches = [m for m in matches if Path(m).is_file()]
        if not matches:
            raise ShardError(f"--over {text!r}: no file matches" if glob.has_magic(text)
                             else f"--over {text!r}: no such file")
        for m in matches:
            path = str(Path(m).resolve())
            if path in seen:
                continue
            seen.add(path)
            suffix = Path(m).suffix.lower()
            if suffix not in SUFFIXES:
                raise ShardError(f"shard {m}: unsupported file type {suffix or '(none)'!r}; "
                                 f"use .npz (inputs by name), .npy or .csv")
            if suffix != ".npz" and not input_name:
                raise ShardError(f"shard {m}: a {suffix} file holds one array; say which graph input it "
                                 f"feeds with --over-input NAME")
            name = str(Path(m).relative_to(base)) if _inside(Path(m), base) else m
            shards.append(Shard(name, path, input_name if suffix != ".npz" else None))
    return shards


def _inside(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
        return True
    except ValueError:
        return False


def read_shard(shard: Shard, limits: Limits = DEFAULT_LIMITS) -> dict[str, np.ndarray]:
    """The graph input values a shard supplies: input name -> array, read as every array file
    is (``files.array_files``: no pickles, sizes checked against ``limits`` before allocating)."""
    path = Path(shard.path)
    if shard.input_name:
        return {shard.input_name: read_array(path, limits=limits)}
    if path.suffix.lower() != ".npz":
        raise ShardError(f"{shard.name}: a {path.suffix} file needs the graph input it feeds (--over-input)")
    with NpzReader(path, limits, where=shard.name) as npz:
        return {name: npz.read(name) for name in npz.names}
