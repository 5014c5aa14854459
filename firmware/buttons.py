# Edge detection and debouncing for the board's buttons: a press is reported
# once, when a button has read "down" for two consecutive polls >= 20 ms apart.
DEBOUNCE_MS = 20


class ButtonWatcher:
    def __init__(self, buttons, clock):
        self.buttons = buttons or {}
        self.clock = clock
        self._down_since = {}
        self._reported = {}

    def poll(self):
        """Return the names of buttons newly pressed since the last poll."""
        pressed = []
        now = self.clock.ticks_ms()
        for name in self.buttons:
            down = self.buttons[name].value()
            if not down:
                self._down_since.pop(name, None)
                self._reported[name] = False
                continue
            since = self._down_since.get(name)
            if since is None:
                self._down_since[name] = now
            elif not self._reported.get(name) and self.clock.ticks_diff(now, since) >= DEBOUNCE_MS:
                self._reported[name] = True
                pressed.append(name)
        return pressed
