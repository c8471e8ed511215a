"""Modbus PDUs in, responses out: the function codes and exception codes of the spec."""

from __future__ import annotations

import struct

import numpy as np

from isthmus.config.schema import PointConfig, RegisterTable
from isthmus.model import DataType
from isthmus.sim.image import RegisterImage
from isthmus.sim.protocol import respond


class _Unit:
    def __init__(self) -> None:
        self.image = RegisterImage(
            [PointConfig(address=0), PointConfig(address=1),
             PointConfig(table=RegisterTable.COIL, address=0, type=DataType.BOOL),
             PointConfig(table=RegisterTable.COIL, address=9, type=DataType.BOOL)],
            strict_addresses=False)
        self.image.publish(np.array([0x1234, 0xABCD, 1, 1]))

    def read(self, table: RegisterTable, start: int, count: int) -> np.ndarray:
        return self.image.read(table, start, count)

    def write(self, table: RegisterTable, start: int, values: list[int]) -> None:
        self.image.write(table, start, values)


def test_read_holding_registers_answers_big_endian_words() -> None:
    assert respond(_Unit(), bytes.fromhex("03 0000 0002")) == bytes.fromhex("03 04 1234 abcd")


def test_read_coils_packs_bits_least_significant_first() -> None:
    assert respond(_Unit(), bytes.fromhex("01 0000 000a")) == bytes.fromhex("01 02 01 02")


def test_unknown_function_is_illegal_function() -> None:
    assert respond(_Unit(), bytes.fromhex("2b 0e01 00")) == bytes.fromhex("ab 01")


def test_read_count_out_of_range_is_illegal_data_value() -> None:
    assert respond(_Unit(), bytes.fromhex("03 0000 0000")) == bytes.fromhex("83 03")
    assert respond(_Unit(), bytes.fromhex("03 0000 007e")) == bytes.fromhex("83 03")
    assert respond(_Unit(), bytes.fromhex("01 0000 07d1")) == bytes.fromhex("81 03")


def test_read_past_the_last_address_is_illegal_data_address() -> None:
    assert respond(_Unit(), bytes.fromhex("03 ffff 0002")) == bytes.fromhex("83 02")


def test_truncated_request_is_illegal_data_value() -> None:
    assert respond(_Unit(), bytes.fromhex("03 0000")) == bytes.fromhex("83 03")


def test_write_single_coil_accepts_only_ff00_and_0000() -> None:
    unit = _Unit()
    assert respond(unit, bytes.fromhex("05 0003 ff00")) == bytes.fromhex("05 0003 ff00")
    assert unit.image.tables[RegisterTable.COIL][3] == 1
    assert respond(unit, bytes.fromhex("05 0003 0001")) == bytes.fromhex("85 03")


def test_write_multiple_registers_echoes_address_and_count() -> None:
    unit = _Unit()
    request = bytes.fromhex("10 0004 0002 04 0102 0304")
    assert respond(unit, request) == bytes.fromhex("10 0004 0002")
    assert unit.image.read(RegisterTable.HOLDING_REGISTER, 4, 2).tolist() == [0x0102, 0x0304]


def test_write_multiple_with_wrong_byte_count_is_illegal_data_value() -> None:
    request = bytes.fromhex("10 0004 0002 03 0102 03")
    assert respond(_Unit(), request) == bytes.fromhex("90 03")


def test_write_multiple_coils_unpacks_bits() -> None:
    unit = _Unit()
    request = struct.pack(">BHHB", 0x0F, 20, 10, 2) + bytes((0b1000_0101, 0b10))
    assert respond(unit, request) == bytes.fromhex("0f 0014 000a")
    assert unit.image.read(RegisterTable.COIL, 20, 10).tolist() == [1, 0, 1, 0, 0, 0, 0, 1,
                                                                     0, 1]
