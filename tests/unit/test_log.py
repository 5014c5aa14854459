from check import raises
from log import Log


class Sink:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


def test_stable_event_lines_with_quoting():
    s = Sink()
    Log(s).event("show_code", user_code="WDJB-MJHT", verification_uri="https://x/activate", note="two words")
    assert s.text == 'event=show_code note="two words" user_code=WDJB-MJHT verification_uri=https://x/activate\n'


def test_none_fields_are_left_out():
    s = Sink()
    Log(s).error("timeout", detail=None)
    assert s.text == "event=error reason=timeout\n"


def test_secret_fields_are_refused():
    log = Log(Sink())
    for key in ("access_token", "refresh_token", "id_token", "device_code", "client_secret", "password"):
        raises(ValueError, log.event, "x", **{key: "v"})
