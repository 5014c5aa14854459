# The app's Display (firmware/display.py) on the code screen: one QR encoder (deviceflow.screen),
# pages that alternate when the QR and the text do not fit side by side, and no crash on a
# verification_uri_complete too long for any QR.
from deviceflow.manualclock import ManualClock
from deviceflow import qr
from display import Display
from test_screen import Recorder, find_qr, quiet_zone_light, code_scale

URI = "https://example-tenant.us.auth0.com/activate"
LONG_HOST = "https://my-company-production-tenant-name.eu.auth0.com/activate"


class Action:
    def __init__(self, uri, complete, code="WDJB-MJHT", expires_at=900000):
        self.user_code = code
        self.verification_uri = uri
        self.verification_uri_complete = complete
        self.expires_at = expires_at


def test_uri_too_long_for_any_qr_shows_the_code_instead_of_crashing():
    # issue 13: a 2.4 KB verification_uri_complete raised ValueError in Display.code
    clock = ManualClock()
    s = Recorder(128, 64)
    d = Display(s, clock)
    d.code(Action(URI, URI + "?user_code=WDJB-MJHT&pad=" + "x" * 2400), clock.ticks_ms())
    assert d.code_shown
    text = "".join(t[0] for t in s.texts)
    assert "example-tenant" in text
    assert code_scale(s) >= 1 or "WDJB-MJHT" in s.all_text()


def test_long_host_on_128x64_alternates_a_scannable_qr_and_the_text():
    complete = LONG_HOST + "?user_code=WDJB-MJHT"  # the example (83 bytes)
    clock = ManualClock()
    s = Recorder(128, 64)
    d = Display(s, clock)
    d.code(Action(LONG_HOST, complete), clock.ticks_ms())
    matrix = qr.encode(complete, "M")
    found = find_qr(s, matrix)
    assert found is not None
    assert quiet_zone_light(s, matrix, found[0], found[1], found[2])
    seen = ""
    pages = len(d._screen.pages)
    assert pages >= 2
    for _ in range(pages - 1):
        clock.advance(5000)
        d.tick(clock.ticks_ms())
        assert find_qr(s, matrix) is None  # a text page
        seen += "".join(t[0] for t in s.texts)
    assert "my-company-production-tenant-name.eu.auth0.com/activate" in seen.replace(" ", "")
    assert code_scale(s) >= 2  # the last page: the code, big
    clock.advance(5000)
    d.tick(clock.ticks_ms())
    assert find_qr(s, matrix) is not None  # and back to the QR


def test_epaper_turns_pages_at_most_once_a_minute():
    clock = ManualClock()

    class Paper(Recorder):
        slow_refresh = True

        def show(self):
            shows.append(clock.ticks_ms())

    shows = []
    s = Paper(128, 64)
    d = Display(s, clock)
    clock.advance(999)  # the code's expiry falls just short of a whole second
    d.code(Action(LONG_HOST, LONG_HOST + "?user_code=WDJB-MJHT", expires_at=900000), clock.ticks_ms())
    for _ in range(3000):  # five minutes, ticked every 100 ms
        clock.advance(100)
        d.tick(clock.ticks_ms())
    gaps = [clock.ticks_diff(b, a) for a, b in zip(shows, shows[1:])]
    assert len(shows) >= 5 and min(gaps) >= 60000, gaps  # pages turn, one refresh a minute at most
