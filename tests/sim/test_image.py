"""The register image encodes exactly as the gateway's codec decodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isthmus.config.schema import Order, PointConfig, RegisterTable
from isthmus.connectors.modbus.codec import WORDS, decode_value, encode_value
from isthmus.model import DataType
from isthmus.sim.errors import UnmappedAddressError
from isthmus.sim.image import RegisterImage

_LIMITS = {
    DataType.INT16: (-(2**15), 2**15 - 1), DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1), DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**53), 2**53), DataType.UINT64: (0, 2**53),
    DataType.FLOAT32: (-3e38, 3e38), DataType.FLOAT64: (-1e300, 1e300),
}
_NUMERIC = [t for t in DataType if t != DataType.BOOL]


@settings(max_examples=300, deadline=None)
@given(data_type=st.sampled_from(_NUMERIC), byte_order=st.sampled_from(list(Order)),
       word_order=st.sampled_from(list(Order)), data=st.data())
def test_encoding_matches_the_codec(data_type: DataType, byte_order: Order,
                                    word_order: Order, data: st.DataObject) -> None:
    low, high = _LIMITS[data_type]
    raw = data.draw(st.floats(low * 1.5 - 10, high * 1.5 + 10, allow_nan=False)
                    if data_type not in (DataType.FLOAT32,) else st.floats(low, high))
    point = PointConfig(address=3, type=data_type, byte_order=byte_order,
                        word_order=word_order)
    image = RegisterImage([point])
    image.publish(np.array([raw]))
    words = WORDS[data_type]
    got = image.read(RegisterTable.HOLDING_REGISTER, 3, words).tolist()
    assert got == encode_value(raw, data_type, byte_order=byte_order, word_order=word_order)


@settings(max_examples=100, deadline=None)
@given(value=st.floats(-300, 300), scale=st.sampled_from([0.01, 0.1, 1.0, 2.5]),
       offset=st.sampled_from([0.0, -40.0, 100.0]))
def test_scale_and_offset_round_trip(value: float, scale: float, offset: float) -> None:
    point = PointConfig(address=0, type=DataType.INT32, scale=scale, offset=offset)
    image = RegisterImage([point])
    image.publish(np.array([value]))
    assert image.engineering(0) == pytest.approx(value, abs=scale / 2 + 1e-9)


def test_bits_are_ones_and_zeros() -> None:
    points = [PointConfig(table=RegisterTable.COIL, address=i, type=DataType.BOOL)
              for i in range(3)]
    image = RegisterImage(points)
    image.publish(np.array([0.0, 1.0, 0.3]))
    assert image.read(RegisterTable.COIL, 0, 3).tolist() == [0, 1, 1]


def test_strict_image_refuses_a_read_across_a_gap() -> None:
    image = RegisterImage([PointConfig(address=0), PointConfig(address=2)])
    assert image.read(RegisterTable.HOLDING_REGISTER, 2, 1).tolist() == [0]
    with pytest.raises(UnmappedAddressError, match=r"holding_register 0\.\.2"):
        image.read(RegisterTable.HOLDING_REGISTER, 0, 3)
    with pytest.raises(UnmappedAddressError):
        image.read(RegisterTable.HOLDING_REGISTER, 2, 2)      # past the last point
    with pytest.raises(UnmappedAddressError):
        image.read(RegisterTable.INPUT_REGISTER, 0, 1)        # a table with no point


def test_lenient_image_reads_gaps_as_zero() -> None:
    image = RegisterImage([PointConfig(address=0, type=DataType.UINT16)],
                          strict_addresses=False)
    image.publish(np.array([7.0]))
    assert image.read(RegisterTable.HOLDING_REGISTER, 0, 4).tolist() == [7, 0, 0, 0]


def test_write_reports_every_point_it_touches() -> None:
    points = [PointConfig(address=0, type=DataType.UINT16),
              PointConfig(address=1, type=DataType.FLOAT32),
              PointConfig(address=3, type=DataType.UINT16)]
    image = RegisterImage(points)
    assert image.write(RegisterTable.HOLDING_REGISTER, 2, [1, 2]) == [1, 2]
    image.write(RegisterTable.HOLDING_REGISTER, 1,
                encode_value(12.5, DataType.FLOAT32))
    assert image.engineering(1) == 12.5
    assert decode_value(image.read(RegisterTable.HOLDING_REGISTER, 1, 2).tolist(),
                        DataType.FLOAT32) == 12.5
