# Seedable randomness for jitter and spreading (xorshift32): the same sequence on
# MicroPython and CPython, so fleet simulations and tests are deterministic.


class Rng:
    def __init__(self, seed):
        self.state = (seed & 0xFFFFFFFF) or 0x9E3779B9
        for _ in range(8):  # nearby seeds start nearly alike: stir before the first draw
            self()

    def __call__(self):
        """A float in [0, 1)."""
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x / 4294967296
