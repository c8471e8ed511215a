"""A read position over one message's bytes: fixed-size integers and length-prefixed
fields, each raising `Malformed` with the offset when the message ends too soon."""

from __future__ import annotations

import struct

from isthmus.security.dissectors.message_session import Malformed

__all__ = ["Cursor"]

_U16 = {">": struct.Struct(">H"), "<": struct.Struct("<H")}
_U32 = {">": struct.Struct(">I"), "<": struct.Struct("<I")}


class Cursor:
    def __init__(self, data: bytes, pos: int = 0, *, order: str = ">") -> None:
        self.data = data
        self.pos = pos
        self.order = order

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int, what: str = "field") -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise Malformed("truncated", f"{what} needs {size} bytes at offset {self.pos}, "
                            f"{max(0, self.left)} left", self.pos)
        out = self.data[self.pos:self.pos + size]
        self.pos += size
        return out

    def u8(self, what: str = "byte") -> int:
        return self.take(1, what)[0]

    def u16(self, what: str = "u16") -> int:
        value: int = _U16[self.order].unpack(self.take(2, what))[0]
        return value

    def u32(self, what: str = "u32") -> int:
        value: int = _U32[self.order].unpack(self.take(4, what))[0]
        return value

    def text(self, size: int, what: str = "string") -> str:
        return self.take(size, what).decode("utf-8", "replace")
