from deviceflow.clock import TICKS_PERIOD
from deviceflow.manualclock import ManualClock
from deviceflow.session import Session, make_record

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


def _rec_expired_before_boot():
    # Issued a day ago with a one-hour lifetime: expired while the power was off.
    return make_record(tokens(), T0 - 86400)


def test_expired_token_at_boot_refreshes_at_a_random_point_in_the_spread_window():
    clock = ManualClock(start=TICKS_PERIOD - 2000, wall=T0)  # across the tick wrap too
    now = clock.ticks_ms()
    points = []
    for r in (0.0, 0.25, 0.999):
        s = Session(clock, fixed(r), margin_s=60, window_s=600, spread_s=300)
        s.adopt(_rec_expired_before_boot(), False, now)
        assert not s.access_valid(now)
        delay = clock.ticks_diff(s.refresh_at, now)
        assert 0 <= delay < 300000, delay
        points.append(delay)
    assert points[0] == 0 and points[1] == 75000 and points[2] > 299000
    s = Session(clock, fixed(0.5), spread_s=300)
    s.adopt(_rec_expired_before_boot(), False, now)
    assert not s.refresh_due(now)
    assert not s.refresh_due(clock.ticks_add(now, 149999))
    assert s.refresh_due(clock.ticks_add(now, 150000))


def test_unknown_expiry_at_boot_is_spread_too():
    clock = ManualClock(wall=None)
    s = Session(clock, fixed(0.5), spread_s=100)
    s.adopt(make_record(tokens(), T0), False, 0)
    assert not s.access_valid(0)
    assert clock.ticks_diff(s.refresh_at, 0) == 50000


def test_no_spread_window_keeps_the_immediate_refresh():
    s = Session(ManualClock(wall=T0), fixed(0.7), spread_s=0)
    s.adopt(_rec_expired_before_boot(), False, 0)
    assert s.refresh_due(0)


def test_fresh_tokens_never_use_the_boot_spread():
    clock = ManualClock(wall=T0)
    s = Session(clock, fixed(0.0), margin_s=60, window_s=600, spread_s=300)
    s.adopt(make_record(tokens(expires_in=3600), T0), True, 0)
    assert clock.ticks_diff(s.refresh_at, 0) == 3600000 - 60000


def test_a_valid_token_at_boot_is_refreshed_before_it_expires_not_spread_past_it():
    clock = ManualClock(wall=T0)
    rec = make_record(tokens(expires_in=3600), T0 - 3590)  # 10 s left
    s = Session(clock, fixed(0.999), margin_s=60, window_s=600, spread_s=300)
    s.adopt(rec, False, 0)
    assert s.access_valid(0)
    lead = clock.ticks_diff(s.deadline, s.refresh_at)
    assert lead > 0, lead


DAY_S = 86400


def _live(clock, s, seconds, fine_after):
    """Let `seconds` pass, an hour a step (the app's loop looks far more often) and 30 s a step
    after `fine_after`; the seconds at which the access token stopped being valid and the
    refresh fell due (None: not within)."""
    invalid_at = due_at = None
    t = 0
    while t < seconds:
        step_s = 30 if t >= fine_after else 3600
        clock.advance(step_s * 1000)
        t += step_s
        now = clock.ticks_ms()
        if invalid_at is None and not s.access_valid(now):
            invalid_at = t
        if due_at is None and s.refresh_due(now):
            due_at = t
    return invalid_at, due_at


def test_long_lived_access_tokens_stay_valid_and_refresh_once_before_expiry():
    # 1, 7 and 30 days (Auth0 allows 30): more than 2^29 ms must neither overflow a tick sum
    # nor wrap into the past (a refresh storm), on the 2^30 counter of an ESP32.
    for days in (1, 7, 30):
        for wall in (T0, None):
            clock = ManualClock(start=TICKS_PERIOD - 1000, wall=wall)
            s = Session(clock, fixed(0.5), margin_s=60, window_s=600)
            life = days * DAY_S
            s.adopt(make_record(tokens(expires_in=life), wall), True, clock.ticks_ms())
            now = clock.ticks_ms()
            assert s.access_valid(now) and not s.refresh_due(now), days
            invalid_at, due_at = _live(clock, s, life + 2 * 3600, life - 3600)
            assert invalid_at == life, (days, wall, invalid_at)
            assert due_at is not None and life - 3600 <= due_at < life, (days, wall, due_at)


def test_a_device_off_for_days_boots_with_the_token_expired_and_refreshes():
    # Unplugged for 7, 30 and 400 days: the stored expiry lies that far in the past. It must
    # read as "expired" (no OverflowError, no wrap into "valid") and a refresh is due.
    for days_off in (7, 30, 400):
        rec = make_record(tokens(expires_in=3600), T0)
        clock = ManualClock(start=TICKS_PERIOD - 1000, wall=T0 + days_off * DAY_S)
        s = Session(clock, fixed(0.5), spread_s=0)
        now = clock.ticks_ms()
        s.adopt(rec, False, now)
        assert not s.access_valid(now), days_off
        assert s.refresh_due(now), days_off


def test_a_long_token_stored_before_a_short_power_cut_is_still_valid_at_boot():
    rec = make_record(tokens(expires_in=30 * DAY_S), T0)
    clock = ManualClock(start=TICKS_PERIOD - 1000, wall=T0 + 7 * DAY_S)  # 23 days left
    s = Session(clock, fixed(0.5), spread_s=300)
    now = clock.ticks_ms()
    s.adopt(rec, False, now)
    assert s.access_valid(now) and not s.refresh_due(now)
    invalid_at, due_at = _live(clock, s, 24 * DAY_S, 23 * DAY_S - 3600)
    assert invalid_at == 23 * DAY_S and 22 * DAY_S < due_at < 23 * DAY_S, (invalid_at, due_at)


def test_a_record_belongs_to_the_issuer_client_audience_and_scope_it_was_issued_for():
    from deviceflow.session import binding, foreign

    cfg = {"issuer": "https://a.auth0.com/", "client_id": "k1", "provider": "auth0",
           "audience": "https://api/", "resource": None, "scope": None}
    rec = make_record(tokens(), T0, bound=binding(cfg))
    assert foreign(rec, binding(cfg)) is None
    # a rotated record keeps its binding
    assert foreign(make_record(tokens(refresh_token="rt2"), T0, previous=rec), binding(cfg)) is None
    for key, value in (("issuer", "https://b.auth0.com/"), ("client_id", "k2"),
                       ("audience", "https://other/"), ("resource", "https://res/"),
                       ("scope", "openid offline_access")):
        other = dict(cfg)
        other[key] = value
        assert foreign(rec, binding(other)) == key, key
    assert foreign(make_record(tokens(), T0), binding(cfg)) == "unbound"  # written before binding
