"""R's default random numbers (Mersenne-Twister, ``sample.kind = "Rejection"``, R >= 3.6), for reference tests.

``RRandom(seed)`` reproduces ``set.seed(seed)`` followed by ``sample(1:n)`` (a permutation) or
``sample(1:n, replace = TRUE)``, so that a published result computed in R with a fixed seed (e.g. the placebo
standard errors of the synthetic DiD paper's Table 1, ``set.seed(12345)``) can be reproduced digit for digit.
Written from R's src/main/RNG.c (``RNG_Init``, ``MT_genrand``, ``fixup``) and src/main/random.c (``R_unif_index``,
``rbits``, ``do_sample``). Test helper only: the package draws its own permutations from numpy generators.
"""

from __future__ import annotations

import math

import numpy as np

_MASK32 = 0xFFFFFFFF
_I2_32M1 = 2.328306437080797e-10  # 1 / (2^32 - 1)


class RRandom:
    def __init__(self, seed: int) -> None:
        s = seed & _MASK32
        for _ in range(50):  # initial scrambling
            s = (69069 * s + 1) & _MASK32
        key = np.empty(625, dtype=np.uint32)
        for j in range(625):
            s = (69069 * s + 1) & _MASK32
            key[j] = s
        # key[0] is R's mti slot, set to 624 by FixupSeeds: the first draw regenerates the whole state.
        self._bits = np.random.MT19937(0)
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key[1:], "pos": 624}}

    def unif_rand(self) -> float:
        value = float(self._bits.random_raw()) * 2.3283064365386963e-10
        if value <= 0.0:
            return 0.5 * _I2_32M1
        if 1.0 - value <= 0.0:
            return 1.0 - 0.5 * _I2_32M1
        return value

    def _rbits(self, bits: int) -> int:
        v = 0
        for _ in range(0, bits + 1, 16):
            v = 65536 * v + int(math.floor(self.unif_rand() * 65536))
        return v & ((1 << bits) - 1)

    def unif_index(self, n: int) -> int:
        if n <= 0:
            return 0
        bits = math.ceil(math.log2(n))
        while True:
            value = self._rbits(bits)
            if value < n:
                return value

    def permutation(self, n: int) -> np.ndarray:
        """``sample(1:n)`` minus one (0-based)."""
        pool = list(range(n))
        out = np.empty(n, dtype=np.int64)
        remaining = n
        for i in range(n):
            j = self.unif_index(remaining)
            out[i] = pool[j]
            remaining -= 1
            pool[j] = pool[remaining]
        return out

    def resample(self, n: int) -> np.ndarray:
        """``sample(1:n, replace = TRUE)`` minus one (0-based)."""
        return np.array([self.unif_index(n) for _ in range(n)], dtype=np.int64)
