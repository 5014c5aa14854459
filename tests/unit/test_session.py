from deviceflow.clock import ManualClock, TICKS_PERIOD
from session import Session, make_record

T0 = 1800000000


def fixed(v):
    return lambda: v


def tokens(**kw):
    d = {"access_token": "at1", "token_type": "Bearer", "refresh_token": "rt1", "expires_in": 3600}
    d.update(kw)
    return d


def test_record_keeps_old_refresh_token_when_none_returned():
    old = make_record(tokens(), T0)
    new = make_record(tokens(access_token="at2", refresh_token=None), T0 + 10, previous=old)
    assert new["refresh_token"] == "rt1"
    assert new["expires_at"] == T0 + 10 + 3600


def test_record_takes_rotated_refresh_token():
    old = make_record(tokens(), T0)
    assert make_record(tokens(refresh_token="rt2"), T0, previous=old)["refresh_token"] == "rt2"


def test_refresh_lands_inside_the_window_before_expiry_across_the_wrap():
    clock = ManualClock(start=TICKS_PERIOD - 5000, wall=T0)
    for r in (0.0, 0.5, 0.999):
        s = Session(clock, fixed(r), margin_s=60, window_s=600)
        s.adopt(make_record(tokens(), T0), True, clock.ticks_ms())
        lead = clock.ticks_diff(s.deadline, s.refresh_at)
        assert 60000 <= lead <= 660000, lead
        assert not s.refresh_due(clock.ticks_ms())


def test_refresh_points_are_spread_by_the_random_source():
    clock = ManualClock(wall=T0)
    points = set()
    for r in (0.1, 0.4, 0.7):
        s = Session(clock, fixed(r))
        s.adopt(make_record(tokens(), T0), True, 0)
        points.add(s.refresh_at)
    assert len(points) == 3


def test_access_token_expires_by_ticks_even_across_the_wrap():
    clock = ManualClock(start=TICKS_PERIOD - 1000, wall=None)
    s = Session(clock, fixed(0.5))
    s.adopt(make_record(tokens(expires_in=10), None), True, clock.ticks_ms())
    assert s.access_valid(clock.ticks_ms())
    clock.advance(9000)
    assert s.access_valid(clock.ticks_ms())
    clock.advance(2000)
    assert not s.access_valid(clock.ticks_ms())


def test_stored_token_after_reboot_uses_wall_clock():
    rec = make_record(tokens(), T0)
    clock = ManualClock(wall=T0 + 100)
    s = Session(clock, fixed(0.0))
    s.adopt(rec, False, 0)
    assert s.access_valid(0)
    clock2 = ManualClock(wall=T0 + 4000)
    s2 = Session(clock2, fixed(0.0))
    s2.adopt(rec, False, 0)
    assert not s2.access_valid(0)
    assert s2.refresh_due(0)


def test_unset_wall_clock_neither_accepts_nor_rejects_but_refreshes():
    rec = make_record(tokens(), T0)
    s = Session(ManualClock(wall=None), fixed(0.0))
    s.adopt(rec, False, 0)
    assert not s.access_valid(0)
    assert s.refresh_due(0)


def test_no_refresh_token_never_schedules_refresh():
    s = Session(ManualClock(wall=T0), fixed(0.0))
    s.adopt(make_record(tokens(refresh_token=None), T0), True, 0)
    assert s.refresh_at is None


def test_tokens_shorter_than_the_margin_do_not_cause_a_refresh_storm():
    clock = ManualClock(wall=T0)
    s = Session(clock, fixed(0.0), margin_s=60, window_s=600)
    s.adopt(make_record(tokens(expires_in=10), T0), True, 0)
    assert clock.ticks_diff(s.refresh_at, 0) == 5000  # half the lifetime, not "now"
