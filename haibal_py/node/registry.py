"""The catalog: every node class by stable type id and by palette category.

Node classes register themselves with ``@register``. The built-in catalog
(``haibal_py.nodes``) and third-party catalogs are found through the
``haibal_py.nodes`` entry-point group, so the headless core never imports them by name.
A class may list in ``replaces`` the type ids it had before a rename: ``get`` answers them
too, and ``canonical`` gives the current id, so old graph files load and save anew.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points
from typing import Iterator

from ..errors import UnknownNodeTypeError
from .base import Node

ENTRY_POINT_GROUP = "haibal_py.nodes"


class Catalog:
    def __init__(self) -> None:
        self._nodes: dict[str, type[Node]] = {}
        self._aliases: dict[str, str] = {}  # old type id -> current type id
        self._loaded = False

    def register(self, cls: type[Node]) -> type[Node]:
        if not cls.type_id:
            raise ValueError(f"{cls.__name__} has no type_id")
        for type_id in (cls.type_id, *cls.replaces):
            known = self._nodes.get(type_id) or self._nodes.get(self._aliases.get(type_id, ""))
            if known is not None and known is not cls:
                raise ValueError(f"type id {type_id!r} is taken by {known.__module__}.{known.__name__}")
        self._nodes[cls.type_id] = cls
        for old in cls.replaces:
            self._aliases[old] = cls.type_id
        return cls

    def load_plugins(self) -> None:
        """Import every catalog package declared in the entry-point group (once)."""
        if self._loaded:
            return
        self._loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            ep.load()

    def canonical(self, type_id: str) -> str:
        """The current type id of ``type_id`` (itself unless a class replaced it)."""
        self.load_plugins()
        return self._aliases.get(type_id, type_id)

    def get(self, type_id: str) -> type[Node]:
        self.load_plugins()
        try:
            return self._nodes[self._aliases.get(type_id, type_id)]
        except KeyError:
            close = difflib.get_close_matches(type_id, self._nodes, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownNodeTypeError(f"unknown node type {type_id!r}{hint}") from None

    def __contains__(self, type_id: str) -> bool:
        self.load_plugins()
        return type_id in self._nodes or type_id in self._aliases

    def __iter__(self) -> Iterator[type[Node]]:
        self.load_plugins()
        return iter(sorted(self._nodes.values(), key=lambda c: (c.category, c.display_name)))

    def __len__(self) -> int:
        self.load_plugins()
        return len(self._nodes)

    def categories(self) -> list[str]:
        return sorted({cls.category for cls in self})

    def in_category(self, category: str) -> list[type[Node]]:
        return [cls for cls in self if cls.category.lower() == category.lower()]


CATALOG = Catalog()
register = CATALOG.register
