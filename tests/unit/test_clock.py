from deviceflow.clock import SystemClock, wrap_add, wrap_diff, TICKS_PERIOD
from deviceflow.manualclock import ManualClock


def test_wrap_diff_across_the_2_30_wrap():
    before = TICKS_PERIOD - 1000
    after = wrap_add(before, 3000)
    assert after == 2000
    assert wrap_diff(after, before) == 3000
    assert wrap_diff(before, after) == -3000


def test_manual_clock_wraps_like_an_esp32():
    c = ManualClock(start=TICKS_PERIOD - 10)
    t0 = c.ticks_ms()
    c.advance(25)
    assert c.ticks_ms() == 15
    assert c.ticks_diff(c.ticks_ms(), t0) == 25


def test_manual_clock_wall_time_unset_means_none():
    assert ManualClock().time() is None
    c = ManualClock(wall=1800000000)
    c.advance(2000)
    assert c.time() == 1800000002


def test_system_clock_ticks_move_forward():
    c = SystemClock()
    a = c.ticks_ms()
    c.sleep_ms(5)
    assert c.ticks_diff(c.ticks_ms(), a) >= 4
    assert c.time() is not None  # the host clock is set on CI machines
