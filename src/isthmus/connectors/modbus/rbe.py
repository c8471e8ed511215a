"""Report by exception: pass a sample on only when it moved past its deadband, its quality
changed, or its tag has been silent for the heartbeat interval. Vectorised over slots."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ReportByException"]

_NEVER = np.uint32(0xFFFFFFFF)  # not an OPC UA status code: "nothing emitted yet"


class ReportByException:
    """State for `n` slots (a plan's points): last emitted value, quality and time."""

    def __init__(self, deadband: npt.ArrayLike, *, max_silence_ns: int) -> None:
        self.deadband = np.asarray(deadband, dtype=np.float64)
        n = len(self.deadband)
        self.max_silence_ns = max_silence_ns
        self.last_value = np.full(n, np.nan)
        self.last_quality = np.full(n, _NEVER, dtype=np.uint32)
        self.last_ts = np.zeros(n, dtype=np.int64)
        self.suppressed = 0

    def select(self, slots: npt.NDArray[np.intp], values: npt.NDArray[np.float64],
               quality: npt.NDArray[np.uint32], ts: int) -> npt.NDArray[np.bool_]:
        """Mask of the samples to emit; the state is updated for those."""
        last_v = self.last_value[slots]
        changed: npt.NDArray[np.bool_] = np.abs(values - last_v) > self.deadband[slots]
        changed |= np.isnan(values) != np.isnan(last_v)
        changed |= quality != self.last_quality[slots]
        changed |= (ts - self.last_ts[slots]) >= self.max_silence_ns
        chosen = slots[changed]
        self.last_value[chosen] = values[changed]
        self.last_quality[chosen] = quality[changed]
        self.last_ts[chosen] = ts
        self.suppressed += len(slots) - len(chosen)
        return changed
