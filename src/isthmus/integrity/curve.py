"""Checks on Ed25519 public keys that the signature library does not make: a key that is not
a canonical point encoding, or a point of small order (such a key accepts forged signatures,
e.g. the all-zero key with the all-zero signature), is refused before it can be trusted.

Plain integer arithmetic on the twisted Edwards curve −x² + y² = 1 + d·x²·y² mod 2²⁵⁵ − 19
(RFC 8032 §5.1); it runs once per key, so clarity beats speed.
"""

from __future__ import annotations

__all__ = ["is_weak_public_key"]

_P = 2**255 - 19
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_MINUS_ONE = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1)

Point = tuple[int, int]


def _decode_point(encoded: bytes) -> Point | None:
    """(x, y) of a 32-byte point encoding, or None if it is not a canonical curve point."""
    y = int.from_bytes(encoded, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P:
        x = x * _SQRT_MINUS_ONE % _P
        if (v * x * x - u) % _P:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(a: Point, b: Point) -> Point:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _P) % _P
    return x3, y3


def is_weak_public_key(public_key: bytes) -> bool:
    """True if `public_key` is not a canonical point, or is a point whose order divides 8."""
    point = _decode_point(public_key)
    if point is None:
        return True
    for _ in range(3):  # multiply by the cofactor 8
        point = _add(point, point)
    return point == _IDENTITY
