# What the app shows, on whatever surface the board gives it. Screens are drawn
# by deviceflow.screen; this module decides when: the whole code screen once,
# then only the countdown once a second (a full TFT redraw is slow and an
# e-paper one takes seconds). Every screen change is also logged as
# `event=screen`, so the state is visible without a display.
from deviceflow import screen as layouts
from deviceflow.phase import drop


class Display:
    def __init__(self, surface, clock, log=None):
        self.surface = surface
        self.clock = clock
        self.log = log
        self.code_shown = False
        self._rect = None
        self._expires_at = None
        self._last_second = None
        self._phase = 0
        self.current = None
        # e-paper cannot refresh every second: only redraw the countdown each minute there.
        self._countdown_step = 60 if getattr(surface, "slow_refresh", False) else 1

    def _show(self):
        show = getattr(self.surface, "show", None)
        if show:
            show()

    def message(self, kind, detail=None):
        self.code_shown = False
        if self.current == (kind, detail):
            return
        self.current = (kind, detail)
        if self.log:
            self.log.event("screen", kind=kind, detail=detail)
        layouts.draw_message(self.surface, kind, detail)
        self._show()

    def code(self, action, now):
        matrix = _encode_qr(action.verification_uri_complete or action.verification_uri)
        self._expires_at = action.expires_at
        left = self._seconds_left(now)
        self._rect = layouts.draw_code_screen(self.surface, action.user_code, action.verification_uri,
                                              action.verification_uri_complete, left, matrix)
        del matrix
        self.code_shown = True
        self.current = ("code", action.user_code)
        self._last_second = left
        if self.log:
            self.log.event("screen", kind="code")
        self._show()

    def _seconds_left(self, now):
        return max(0, self.clock.ticks_diff(self._expires_at, now) // 1000)

    def tick(self, now):
        """Refresh the countdown when its displayed value changes."""
        if not self.code_shown or self._rect is None:
            return
        left = self._seconds_left(now)
        if self._last_second is not None and self._last_second - left < self._countdown_step:
            return
        self._last_second = left
        layouts.draw_countdown(self.surface, self._rect, left)
        self._show()

    def poll_phase(self):
        if self.code_shown and self._rect is not None:
            self._phase += 1
            layouts.draw_poll_indicator(self.surface, self._rect, self._phase)
            self._show()


_LAYOUT_MODULES = ("deviceflow.screen", "deviceflow.textfit", "deviceflow.font")


def _encode_qr(uri):
    """The QR matrix of uri. The encoder is the largest code of the sign-in: while it runs,
    the layout code is dropped (it is loaded again to draw), and once it is done the encoder
    goes, so the heap holds one of them at a time (deviceflow/phase.py)."""
    global layouts
    layouts = None
    drop(*_LAYOUT_MODULES)
    from deviceflow import qr

    try:
        return qr.encode(uri, "M")
    finally:
        del qr
        drop("deviceflow.qr", "deviceflow.qr_tables")
        from deviceflow import screen as layouts
