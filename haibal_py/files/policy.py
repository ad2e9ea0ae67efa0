"""Which files a graph may read and write: its own folder and below, unless the user widens it.

A graph or a snippet may come from a stranger (a PNG dropped from a web page, a file in a
mail), so the paths its nodes name are checked before anything runs:

- a relative path starts at the graph's folder (the current folder for a graph that has
  none); ``~`` is the home folder; ``..`` and symbolic links are followed, and the place the
  path finally names must lie inside an allowed folder;
- allowed for reading and writing: the graph's folder and below; plus the folders the
  user allows on purpose (``haibal run --allow-read DIR --allow-write DIR``, the editor's run
  settings, ``FilePolicy(allow_read=..., allow_write=...)``); a folder allowed for writing
  may also be read.

``FilePolicy.resolve`` gives the checked path or raises ``FileAccessError`` naming the path
as written and the place it leads to. Plain path logic: no graph or node is known here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import HaibalValueError

__all__ = ["FileAccessError", "FilePolicy", "FileUse", "READ", "WRITE"]

READ, WRITE = "read", "write"


class FileAccessError(HaibalValueError):
    """A node names a file outside the folders it may read or write."""


@dataclass(frozen=True)
class FileUse:
    """A file a node would read or write, as its parameters name it (``Node.files()``).

    ``via``: for a composite node (a subgraph, a snippet node), the ids of the inner nodes
    that name the file, outermost first."""

    path: str
    mode: str = READ
    via: tuple[str, ...] = ()

    def __post_init__(self):
        if self.mode not in (READ, WRITE):
            raise ValueError(f"a file use is {READ!r} or {WRITE!r}, got {self.mode!r}")

    def inside(self, node_id: str) -> "FileUse":
        """The same use seen from a composite node: ``node_id`` prepended to ``via``."""
        return FileUse(self.path, self.mode, (node_id,) + self.via)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


@dataclass(frozen=True)
class FilePolicy:
    """The folders a graph may read and write besides its own (see the module docstring)."""

    allow_read: tuple[Path, ...] = field(default=())
    allow_write: tuple[Path, ...] = field(default=())

    def __post_init__(self):
        object.__setattr__(self, "allow_read", tuple(Path(p).expanduser() for p in self.allow_read))
        object.__setattr__(self, "allow_write", tuple(Path(p).expanduser() for p in self.allow_write))

    def widened(self, read: Iterable[str | Path] = (), write: Iterable[str | Path] = ()) -> "FilePolicy":
        """A copy that also allows these folders."""
        return FilePolicy(self.allow_read + tuple(Path(p) for p in read),
                          self.allow_write + tuple(Path(p) for p in write))

    @staticmethod
    def folder_of(base_dir: str | Path | None) -> Path:
        """The graph's folder: ``base_dir``, or the current folder for a graph that has none."""
        return Path(base_dir) if base_dir is not None else Path.cwd()

    def roots(self, base_dir: str | Path | None, mode: str) -> list[Path]:
        """The folders (symbolic links resolved) that ``mode`` may reach, the graph's first."""
        extra = self.allow_write if mode == WRITE else self.allow_read + self.allow_write
        return [_real(self.folder_of(base_dir).absolute())] + [_real(p.absolute()) for p in extra]

    def resolve(self, raw: str, base_dir: str | Path | None, mode: str = READ) -> Path:
        """The path a node's ``raw`` parameter names, every link followed, checked to lie in an
        allowed folder; FileAccessError otherwise (naming ``raw`` and where it leads)."""
        if not isinstance(raw, str) or not raw.strip():
            raise FileAccessError(f"a file path must be a non-empty text, got {raw!r}")
        if "\x00" in raw:
            raise FileAccessError(f"file path {raw!r} holds a NUL character")
        folder = self.folder_of(base_dir).absolute()
        given = Path(os.path.expanduser(raw))
        path = given if given.is_absolute() else folder / given
        real = _real(path)
        roots = self.roots(base_dir, mode)
        if any(real == r or r in real.parents for r in roots):
            return real
        why = []
        if raw.startswith("~"):
            why.append("~ is the home folder")
        elif given.is_absolute():
            why.append("an absolute path")
        if ".." in given.parts:
            why.append("'..' climbs out")
        lexical = Path(os.path.normpath(path))
        if lexical != real and any(lexical == r or r in lexical.parents for r in roots[:1]):
            why.append("through a symbolic link")
        reason = f" ({', '.join(why)})" if why else ""
        flag = "--allow-write" if mode == WRITE else "--allow-read"
        raise FileAccessError(f"{mode} path {raw!r} leads to {str(real)!r}{reason}, outside the graph's folder "
                              f"{str(roots[0])!r}" + (" and the allowed folders" if len(roots) > 1 else "")
                              + f"; allow it on purpose with {flag} DIR")


DEFAULT_POLICY = FilePolicy()
