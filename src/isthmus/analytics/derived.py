"""Derived tags: values the analytics compute (OEE per shift, energy per interval, capability)
collected as samples for the historian. A derived tag the historian has not registered is
counted, not written."""

from __future__ import annotations

from isthmus.model import SampleBatch, TagRegistry

__all__ = ["DerivedSamples"]


class DerivedSamples:
    def __init__(self, registry: TagRegistry) -> None:
        self.registry = registry
        self._ids: list[int] = []
        self._ts: list[int] = []
        self._values: list[float] = []
        self.unregistered = 0

    def add(self, path: str, ts_ns: int, value: float) -> None:
        if path not in self.registry:
            self.unregistered += 1
            return
        self._ids.append(self.registry.id_of(path))
        self._ts.append(ts_ns)
        self._values.append(value)

    def __len__(self) -> int:
        return len(self._ids)

    def take(self) -> SampleBatch:
        """The samples added since the last call, as one batch."""
        batch = SampleBatch.of(self._ids, self._ts, self._values)
        self._ids, self._ts, self._values = [], [], []
        return batch
