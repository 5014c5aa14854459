# Tick spans far beyond 2^29 ms (6.2 days on the 2^30 counter of an ESP32): a server's
# Retry-After, a long-lived token. MicroPython's ticks_add raises OverflowError on such a span
# (ManualClock does the same), and a wrapped span would read as "in the past".
import json

from deviceflow.clock import MAX_SPAN_MS, TICKS_PERIOD, Deadline, span
from deviceflow.manualclock import ManualClock
from deviceflow.flow import DeviceFlow

JSON = {"content-type": "application/json"}


def _code_reply(expires_in):
    return json.dumps({"device_code": "dc-SECRET", "user_code": "WDJB-MJHT", "expires_in": expires_in,
                       "verification_uri": "https://t.example.com/activate", "interval": 5}).encode()


def test_retry_after_of_a_million_seconds_on_pending_waits_without_overflow():
    for expires_in in (900, 10 * 86400):
        clock = ManualClock(start=TICKS_PERIOD - 3000)
        flow = DeviceFlow(clock, "cid", "https://t.example.com/dev", "https://t.example.com/tok")
        flow.start(clock.now)
        flow.on_response(clock.now, 200, JSON, _code_reply(expires_in))
        a = flow.next_action(clock.now)
        clock.now = a.until
        assert flow.next_action(clock.now).kind == "send"
        pending = json.dumps({"error": "authorization_pending"}).encode()
        a = flow.on_response(clock.now, 400, dict(JSON, **{"retry-after": "1000000"}), pending)
        assert a.kind == "wait"
        waited = clock.ticks_diff(a.until, clock.now)
        # Honoured as far as a tick span may go: never sooner than asked within the code's life.
        assert 0 < waited <= MAX_SPAN_MS, waited
        assert waited >= min(expires_in * 1000, MAX_SPAN_MS) - 10000, waited
        clock.advance(waited - 1)
        assert flow.next_action(clock.now).kind == "wait"


def test_span_clamps_to_the_tick_range_and_past_is_now():
    assert span(-10 ** 12) == 0 and span(0) == 0 and span(5) == 5
    assert span(30 * 86400000) == MAX_SPAN_MS < (1 << 29)


def test_deadline_a_year_away_is_kept_exactly_across_many_wraps():
    clock = ManualClock(start=TICKS_PERIOD - 7)
    year = 365 * 86400000
    d = Deadline(clock, clock.now, year)
    gone = 0
    while not d.passed(clock.now):
        clock.advance(3600000)
        gone += 3600000
    assert gone == year
    past = Deadline(clock, clock.now, -400 * 86400000)
    assert past.passed(clock.now)


def test_emulated_clocks_refuse_a_span_of_half_the_period_as_a_board_does():
    from check import raises
    from deviceflow.clock import SystemClock

    for clock in (ManualClock(start=5), SystemClock(offset=0)):
        t = clock.ticks_ms()
        assert clock.ticks_diff(clock.ticks_add(t, (1 << 29) - 1), t) == (1 << 29) - 1
        raises(OverflowError, clock.ticks_add, t, 1 << 29)
        raises(OverflowError, clock.ticks_add, t, -(1 << 29))
        raises(OverflowError, clock.ticks_add, t, 30 * 86400000)
