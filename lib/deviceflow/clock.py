# Clocks: the one seam through which the library and app learn the time.
#
# Ticks are milliseconds on a counter that wraps (2^30 on ESP32). All tick
# arithmetic goes through ticks_add/ticks_diff of the clock in use, so code is
# correct across the wrap, and tests can inject a ManualClock (deviceflow/manualclock.py,
# never loaded on a device) that wraps early.
# Wall time (time()) is Unix-epoch seconds, or None while it was never set.
#
# A tick span must stay well inside half the period: MicroPython's ticks_add raises
# OverflowError for |delta| >= period/2 (2^29 ms, 6.2 days on an ESP32), and ticks_diff
# cannot tell a later deadline from an earlier one beyond that. span() clamps a span to
# [0, MAX_SPAN_MS]; Deadline keeps a moment further away than that (a 30-day token).
# backoff_ms is the wait after failures, for the engines and the app alike.
import time

TICKS_PERIOD = 1 << 30
MAX_SPAN_MS = 86400000  # one day: every span we add (and every wait) stays far inside 2^29
UNIX_EPOCH_OFFSET = 946684800  # seconds from 1970-01-01 to 2000-01-01 (ESP32 epoch)
WALL_CLOCK_SANE_AFTER = 1700000000  # 2023-11-14: anything earlier means "never set"


def wrap_add(t, delta, period=TICKS_PERIOD):
    """t + delta on the wrapping counter; OverflowError beyond half the period, as on a board."""
    half = period >> 1
    if not -half < delta < half:
        raise OverflowError("ticks interval overflow")
    return (t + delta) % period


def span(ms):
    """A tick span clamped to [0, MAX_SPAN_MS]: a span already in the past is 0 (due now)."""
    if ms <= 0:
        return 0
    return MAX_SPAN_MS if ms > MAX_SPAN_MS else int(ms)


class Deadline:
    """A moment `ms` after `now`, however far (a token valid for 30 days, or one that expired a
    year ago). Ticks hold at most MAX_SPAN_MS of it; the rest is carried over each time that
    tick deadline passes, so no tick sum ever overflows. The owner must look (passed()) at
    least once every few days, which the app's loop does: it wakes at `at` at the latest."""

    def __init__(self, clock, now, ms):
        self.clock = clock
        step = span(ms)
        self.at = clock.ticks_add(now, step)
        self.rest = ms - step if ms > step else 0
        self.done = False

    def passed(self, now):
        if self.done:
            return True  # once past, past for good: ticks alias again 6.2 days later
        while self.clock.ticks_diff(now, self.at) >= 0:
            if self.rest <= 0:
                self.done = True
                return True
            step = span(self.rest)
            self.at = self.clock.ticks_add(self.at, step)
            self.rest -= step
        return False


def wrap_diff(a, b, period=TICKS_PERIOD):
    """Signed a - b on a wrapping counter; valid while |a - b| < period / 2."""
    half = period >> 1
    return ((a - b + half) % period) - half


def _epoch_offset():
    try:
        return UNIX_EPOCH_OFFSET if time.gmtime(0)[0] == 2000 else 0
    except Exception:
        return 0


class SystemClock:
    """The real clock. MicroPython: time.ticks_*; CPython: monotonic, wrapped like an ESP32.

    offset: ms added to the ticks, which then wrap at 2^30 whatever the port's own period
    (the 64-bit Unix port wraps at 2^62), so a host run can cross the ESP32 wrap soon.
    wall=False: time() always returns None, as on a board whose clock was never set.
    """

    def __init__(self, offset=None, wall=True):
        self._native = hasattr(time, "ticks_ms") and offset is None
        self._mp = hasattr(time, "ticks_ms")
        self._shift = offset or 0
        self._wall = wall
        self._offset = _epoch_offset()

    def ticks_ms(self):
        if self._native:
            return time.ticks_ms()
        raw = time.ticks_ms() if self._mp else int(time.monotonic() * 1000)
        return (raw + self._shift) % TICKS_PERIOD

    def ticks_add(self, t, delta):
        if self._native:
            return time.ticks_add(t, delta)
        return wrap_add(t, delta)

    def ticks_diff(self, a, b):
        if self._native:
            return time.ticks_diff(a, b)
        return wrap_diff(a, b)

    def time(self):
        if not self._wall:
            return None
        now = int(time.time()) + self._offset
        return now if now >= WALL_CLOCK_SANE_AFTER else None

    def sleep_ms(self, ms):
        if ms > 0:
            if hasattr(time, "sleep_ms"):
                time.sleep_ms(ms)
            else:
                time.sleep(ms / 1000)


def backoff_ms(floor_ms, failures, max_backoff_ms, jitter=None, retry_after=None, spread_ms=0):
    """Wait after `failures` consecutive transient failures: floor * 2^failures capped at
    max_backoff_ms, full jitter when given, never below floor_ms nor below Retry-After.

    Retry-After gets up to half of itself again as jitter: a provider tells the whole fleet the
    same number, and a fleet that obeys it exactly comes back in the same second.
    spread_ms (refresh_spread_s, the window a fleet's boot refreshes are spread over): never
    sooner than 0.9-1.1 x spread_ms. A device the provider turned away then goes back into the
    fleet's spread instead of into a retry storm: however long an outage, each device asks about
    once per spread, so the fleet asks at most at the rate its spread was sized for.
    """
    cap = floor_ms
    for _ in range(failures):
        cap *= 2
        if cap >= max_backoff_ms:
            break
    cap = min(cap, max_backoff_ms)
    wait = int(cap * jitter()) if jitter is not None else cap
    wait = max(wait, floor_ms)
    if spread_ms:
        wait = max(wait, int(spread_ms * (0.9 + 0.2 * jitter())) if jitter is not None else spread_ms)
    if retry_after is not None:
        if jitter is not None:
            retry_after += int(min(retry_after, MAX_SPAN_MS) * jitter() / 2)
        wait = max(wait, retry_after)
    return min(wait, MAX_SPAN_MS)
