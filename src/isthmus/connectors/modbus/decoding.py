"""Turn one response into engineering values and qualities, vectorised per decode group."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from isthmus.connectors.modbus.codec import decode_gathered, wire_bytes
from isthmus.connectors.modbus.planner import ReadRequest
from isthmus.model import Quality

__all__ = ["decode_request"]

_EXCEEDED = np.uint32(Quality.UNCERTAIN_ENGINEERING_UNITS_EXCEEDED)


def decode_request(
    request: ReadRequest, data: npt.NDArray[np.uint16] | npt.NDArray[np.uint8],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
    """Values (`raw * scale + offset`) and qualities of the request's points. A value outside
    its tag's range is kept, with quality UNCERTAIN_ENGINEERING_UNITS_EXCEEDED."""
    if len(data) < request.count:
        raise ValueError(f"{request.describe()}: response holds {len(data)} values, "
                         f"expected {request.count}")
    values = np.empty(len(request.points), dtype=np.float64)
    if request.table.is_bit:
        for g in request.groups:
            values[g.rows] = data[g.offsets]
    else:
        wire = wire_bytes(data)  # type: ignore[arg-type]
        for g in request.groups:
            values[g.rows] = decode_gathered(wire, g.byte_index, g.data_type)
    values *= request.scale
    values += request.offset
    quality = np.zeros(len(values), dtype=np.uint32)
    if request.has_range:
        quality[(values < request.low) | (values > request.high)] = _EXCEEDED
    return values, quality
