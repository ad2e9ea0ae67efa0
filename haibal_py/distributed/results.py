"""Gathering a sharded run: the states of each setting merged shard after shard, in order.

``SettingReducer`` takes the ``TaskResult`` s of one setting in shard order and keeps only
what it must: one accumulated state per mergeable output (a copy of the first shard's
state, then ``merge_state`` of each next one), the failures and the count. So the client's
memory does not grow with the number of shards, and the merged numbers do not depend on
how many workers ran or which finished first (the same additions in the same order).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..errors import HaibalError
from .task import ShardFailure, TaskResult

__all__ = ["OverResult", "SettingReducer", "SettingResult"]


@dataclass
class SettingResult:
    """The result of one setting of the swept parameters over every shard.

    - ``settings``: sweep label (``scce1.from_logits``) -> value ({} without sweeps);
    - ``outputs``: graph output name -> value: the merged value of each output fed by a
      mergeable state (a metric's or loss's batch instance); with a single shard, every
      output of that run;
    - ``per_shard``: the outputs that have one value per shard only (not mergeable, with
      several shards): in the per-shard table or ``.npz`` (``--output``), not here;
    - ``node_values``: node id -> {port: merged value} (asked with ``node_values=True``);
    - ``shards``: shards that ran without failing; ``failures``: the others.
    """

    settings: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    per_shard: list[str] = field(default_factory=list)
    node_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    shards: int = 0
    failures: list[ShardFailure] = field(default_factory=list)


@dataclass
class OverResult:
    """What ``run_over`` returns: one ``SettingResult`` per setting (one without sweeps),
    the number of shards, every failure, the time taken and where it ran."""

    rows: list[SettingResult]
    shards: int
    seconds: float = 0.0
    where: str = ""

    @property
    def failures(self) -> list[ShardFailure]:
        return [f for row in self.rows for f in row.failures]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def merged(self) -> dict[str, Any]:
        """The outputs of the only setting (a run without sweeps)."""
        if len(self.rows) != 1:
            raise ValueError(f"a sweep has {len(self.rows)} settings: read .rows[i].outputs")
        return self.rows[0].outputs


class SettingReducer:
    """Merges one setting's task results, given in shard order (see the module docstring)."""

    def __init__(self, settings: dict[str, Any], output_names: list[str], shard_count: int):
        self.settings = settings
        self.output_names = list(output_names)
        self.shard_count = shard_count
        self.states: dict[str, Any] = {}
        self.node_states: dict[str, dict[str, Any]] = {}
        self.counts: dict[Any, int] = {}  # output name or (node id, port) -> shards that gave a state
        self.single: dict[str, Any] = {}  # the outputs of a one-shard run
        self.done = 0
        self.failures: list[ShardFailure] = []

    def add(self, res: TaskResult) -> None:
        if res.failure is not None:
            self.failures.append(ShardFailure(res.failure.shard, res.failure.node, res.failure.message,
                                              dict(self.settings)))
            return
        self.done += 1
        if self.shard_count == 1:
            self.single = dict(res.outputs)
        self._merge(self.states, res.states, lambda key: key, res.shard)
        for gid, ports in res.node_states.items():
            self._merge(self.node_states.setdefault(gid, {}), ports, lambda port: (gid, port), res.shard)

    def _merge(self, kept: dict[str, Any], states: dict[str, Any], count_key, shard: str) -> None:
        for key, state in states.items():
            ck = count_key(key)
            if self.counts.get(ck, 0) < 0:
                continue
            try:
                if key in kept:
                    kept[key].merge_state([state])
                else:  # a copy: the first shard's state may be the object a runtime keeps in its cache
                    kept[key] = copy.deepcopy(state)
            except HaibalError as exc:  # e.g. a per-class metric that saw another number of classes
                self.counts[ck] = -1  # never merged: reported per shard
                what = f"output {key!r}" if ck == key else f"node {ck[0]!r} port {ck[1]!r}"
                self.failures.append(ShardFailure(shard, None, f"{what} cannot be merged with the shards "
                                                               f"before: {exc}", dict(self.settings)))
                continue
            self.counts[ck] = self.counts.get(ck, 0) + 1

    def _mergeable(self, key) -> bool:
        """A value merges only when every shard that ran gave a state for it."""
        return self.done > 0 and self.counts.get(key, 0) == self.done

    def result(self) -> SettingResult:
        row = SettingResult(dict(self.settings), shards=self.done, failures=list(self.failures))
        for name in self.output_names:
            if self._mergeable(name):
                row.outputs[name] = self.states[name].result()
            elif self.shard_count == 1 and name in self.single:
                row.outputs[name] = self.single[name]
            else:
                row.per_shard.append(name)
        for gid, ports in self.node_states.items():
            merged = {p: s.result() for p, s in ports.items() if self._mergeable((gid, p))}
            if merged:
                row.node_values[gid] = merged
        return row
