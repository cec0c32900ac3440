"""HyperLogLog: how many distinct ids (users, sessions) without keeping any id.

Precision 14: 16,384 one-byte registers (16 KiB), standard error 1.04/sqrt(m) = 0.81 %.
Ids are hashed (64-bit BLAKE2b) before they touch a register, so the sketch holds no id and
cannot give one back. Sketches merge (register-wise max), serialize to bytes, and count in a
few C-level passes (``bytes.count`` per register value), not a Python loop over registers.
Stdlib only, for any room that counts distinct things.
"""

from __future__ import annotations

import math
from hashlib import blake2b

DEFAULT_PRECISION = 14


class HyperLogLog:
    __slots__ = ("p", "registers")

    def __init__(self, p: int = DEFAULT_PRECISION, registers: bytes | None = None) -> None:
        if not 4 <= p <= 18:
            raise ValueError(f"HyperLogLog precision {p} outside 4..18")
        self.p = p
        m = 1 << p
        if registers is not None and len(registers) != m:
            raise ValueError(f"{len(registers)} registers, expected {m}")
        self.registers = bytearray(registers) if registers is not None else bytearray(m)

    def add(self, item: str | bytes) -> None:
        data = item.encode() if isinstance(item, str) else item
        h = int.from_bytes(blake2b(data, digest_size=8).digest(), "big")
        p = self.p
        index = h >> (64 - p)
        rest = h & ((1 << (64 - p)) - 1)
        rank = (64 - p) - rest.bit_length() + 1
        if rank > self.registers[index]:
            self.registers[index] = rank

    def count(self) -> int:
        regs = bytes(self.registers)
        m = len(regs)
        total = 0.0
        for value in set(regs):
            total += regs.count(value) * 2.0 ** -value
        alpha = 0.7213 / (1 + 1.079 / m)
        estimate = alpha * m * m / total
        zeros = regs.count(0)
        if estimate <= 2.5 * m and zeros:
            estimate = m * math.log(m / zeros)  # linear counting for small sets
        return round(estimate)

    def merge(self, other: HyperLogLog) -> None:
        if other.p != self.p:
            raise ValueError("cannot merge sketches of different precision")
        regs = self.registers
        for i, value in enumerate(other.registers):
            if value > regs[i]:
                regs[i] = value

    def to_bytes(self) -> bytes:
        return bytes([self.p]) + bytes(self.registers)

    @classmethod
    def from_bytes(cls, data: bytes) -> HyperLogLog:
        if not data:
            return cls()
        return cls(data[0], data[1:])
