# What the app shows, on whatever surface the board gives it. Screens are drawn
# by deviceflow.screen; this module decides when: the whole code screen once,
# then only the countdown once a second (a full TFT redraw is slow and an
# e-paper one takes seconds). Every screen change is also logged as
# `event=screen`, so the state is visible without a display.
#
# When the QR and the text do not fit side by side (a 128x32 OLED, a long host
# name on 128x64), the code screen has pages shown in turn: a few seconds each,
# at most one a minute on e-paper. The QR is encoded in one place, the layout
# (deviceflow.codescreen.CodeScreen), which falls back to text when no QR fits.
#
# Import by phase (deviceflow/phase.py): the code screen's module is loaded to draw the code
# screen and dropped once it is drawn (kept while a paged screen turns its pages); the
# message screens' module is dropped while the QR is encoded (the sign-in's largest code).
from deviceflow.phase import drop


def _layouts():
    """deviceflow.screen (messages), imported again if the code screen dropped it."""
    from deviceflow import screen

    return screen


PAGE_MS = 5000
SLOW_PAGE_MS = 60000


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
        slow = getattr(surface, "slow_refresh", False)
        self._countdown_step = 60 if slow else 1
        self._page_ms = SLOW_PAGE_MS if slow else PAGE_MS
        self._screen = None  # the planned code screen (CodeScreen), kept only when it has pages
        self._pages = 1
        self._page = 0
        self._page_at = 0

    def _show(self):
        show = getattr(self.surface, "show", None)
        if show:
            show()

    def end_code(self):
        """The code is no longer wanted on screen (approved, failed): its code can go."""
        self.code_shown = False
        self._drop_screen()

    def _drop_screen(self):
        if self._screen is not None:
            self._screen = None
            drop("deviceflow.codescreen", "deviceflow.codedraw")

    def message(self, kind, detail=None):
        self.end_code()
        if self.current == (kind, detail):
            return
        self.current = (kind, detail)
        if self.log:
            self.log.event("screen", kind=kind, detail=detail)
        _layouts().draw_message(self.surface, kind, detail)
        self._show()

    def code(self, action, now):
        s = self.surface
        # The message screens' code is not needed while the QR is encoded (the sign-in's
        # largest code): drop it, and let _layouts() import it again afterwards.
        drop("deviceflow.screen")
        from deviceflow.codescreen import CodeScreen

        self._screen = CodeScreen(s.width, s.height, action.user_code, action.verification_uri,
                                  action.verification_uri_complete)
        del CodeScreen
        self._expires_at = action.expires_at
        self._page = 0
        self._page_at = now
        self._pages = len(self._screen.pages)
        self._draw_page(now)
        if self._pages == 1:  # drawn for good: only the countdown changes (deviceflow.textfit)
            self._drop_screen()
        self.code_shown = True
        self.current = ("code", action.user_code)
        if self.log:
            self.log.event("screen", kind="code", pages=self._pages)
        self._show()

    def _draw_page(self, now):
        left = self._seconds_left(now)
        self._rect = self._screen.draw(self.surface, left, self._page)
        self._last_second = left

    def _seconds_left(self, now):
        return max(0, self.clock.ticks_diff(self._expires_at, now) // 1000)

    def tick(self, now):
        """Refresh the countdown when its displayed value changes."""
        if not self.code_shown or self._rect is None:
            return
        paged = self._pages > 1
        if paged and self.clock.ticks_diff(now, self._page_at) >= self._page_ms:
            self._page = (self._page + 1) % self._pages
            self._page_at = now
            self._draw_page(now)
            self._show()
            return
        if paged and self._countdown_step > 1:
            return  # e-paper with pages: each turn redraws the countdown; one refresh a minute
        left = self._seconds_left(now)
        if self._last_second is not None and self._last_second - left < self._countdown_step:
            return
        self._last_second = left
        from deviceflow.textfit import draw_countdown

        draw_countdown(self.surface, self._rect, left)
        self._show()

    def poll_phase(self):
        if self.code_shown and self._rect is not None:
            self._phase += 1
            from deviceflow.textfit import draw_poll_indicator

            draw_poll_indicator(self.surface, self._rect, self._phase)
            self._show()
