# A clock tests and simulators move by hand (the same interface as deviceflow.clock.SystemClock).
# Its own module: a device never needs it, and on a board every imported line costs heap.
from deviceflow.clock import TICKS_PERIOD, wrap_add, wrap_diff


class ManualClock:
    """A clock tests move by hand; it wraps at `period` like an ESP32's ticks."""

    def __init__(self, start=0, period=TICKS_PERIOD, wall=None):
        self.period = period
        self.now = start % period
        self.wall = wall  # Unix seconds, or None for "never set"

    def ticks_ms(self):
        return self.now

    def ticks_add(self, t, delta):
        return wrap_add(t, delta, self.period)

    def ticks_diff(self, a, b):
        return wrap_diff(a, b, self.period)

    def advance(self, ms):
        self.now = (self.now + ms) % self.period  # time passing may be any length
        if self.wall is not None:
            self.wall += ms / 1000

    def time(self):
        return None if self.wall is None else int(self.wall)

    def sleep_ms(self, ms):
        if ms > 0:
            self.advance(ms)
