"""Property tests of the register codec: encode then decode gives the value back."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from isthmus.config.schema import Order
from isthmus.connectors.modbus.codec import (
    WORDS,
    byte_index,
    decode_gathered,
    decode_registers,
    decode_value,
    encode_value,
    wire_bytes,
)
from isthmus.model import DataType

INT_RANGES = {DataType.INT16: (-2**15, 2**15 - 1), DataType.UINT16: (0, 2**16 - 1),
              DataType.INT32: (-2**31, 2**31 - 1), DataType.UINT32: (0, 2**32 - 1),
              DataType.INT64: (-2**53, 2**53), DataType.UINT64: (0, 2**53)}
orders = st.sampled_from(list(Order))


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[DataType, float]:
    dtype = draw(st.sampled_from([t for t in DataType if t != DataType.BOOL]))
    if dtype in INT_RANGES:
        low, high = INT_RANGES[dtype]
        return dtype, float(draw(st.integers(low, high)))
    if dtype == DataType.FLOAT32:
        return dtype, float(np.float32(draw(st.floats(width=32, allow_nan=False))))
    return dtype, draw(st.floats(allow_nan=False))


@given(typed_values(), orders, orders)
def test_encode_then_decode_round_trips(tv: tuple[DataType, float], bo: Order,
                                        wo: Order) -> None:
    dtype, value = tv
    regs = encode_value(value, dtype, byte_order=bo, word_order=wo)
    assert len(regs) == WORDS[dtype]
    assert all(0 <= r <= 0xFFFF for r in regs)
    back = decode_value(regs, dtype, byte_order=bo, word_order=wo)
    assert back == value or (math.isinf(value) and back == value)


@given(st.lists(typed_values(), min_size=1, max_size=20), orders, orders)
def test_vectorised_decode_equals_one_by_one(tvs: list[tuple[DataType, float]], bo: Order,
                                              wo: Order) -> None:
    dtype = tvs[0][0]
    values = [v for t, v in tvs if t == dtype]
    regs: list[int] = []
    offsets = []
    for v in values:
        offsets.append(len(regs))
        regs.extend(encode_value(v, dtype, byte_order=bo, word_order=wo))
        regs.append(0xBEEF)  # a gap register between values
    decoded = decode_registers(np.array(regs, np.uint16), np.array(offsets, np.intp), dtype,
                               byte_order=bo, word_order=wo)
    assert decoded.tolist() == values


@given(st.lists(st.tuples(typed_values(), orders, orders), min_size=1, max_size=20))
def test_byte_gather_decode_equals_register_decode(
        items: list[tuple[tuple[DataType, float], Order, Order]]) -> None:
    dtype = items[0][0][0]
    regs: list[int] = []
    index = []
    expected = []
    for (t, value), bo, wo in items:
        if t != dtype:
            continue
        offset = np.array([len(regs)], np.intp)
        regs.extend(encode_value(value, dtype, byte_order=bo, word_order=wo))
        index.append(byte_index(offset, dtype, byte_order=bo, word_order=wo))
        expected.append(float(decode_registers(np.array(regs, np.uint16), offset, dtype,
                                               byte_order=bo, word_order=wo)[0]))
    got = decode_gathered(wire_bytes(np.array(regs, np.uint16)), np.concatenate(index), dtype)
    assert got.astype(np.float64).tolist() == expected


def test_word_orders_differ_as_the_modbus_convention_says() -> None:
    # 0x12345678 big word order: [0x1234, 0x5678]; little word order: [0x5678, 0x1234]
    assert encode_value(0x12345678, DataType.UINT32) == [0x1234, 0x5678]
    assert encode_value(0x12345678, DataType.UINT32, word_order=Order.LITTLE) == [0x5678, 0x1234]
    assert encode_value(0x12345678, DataType.UINT32, byte_order=Order.LITTLE) == [0x3412, 0x7856]
