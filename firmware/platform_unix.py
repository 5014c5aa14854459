# Board services on the MicroPython Unix port (and CPython): the network is the
# host's, the clock is the host's, "deep sleep" ends the process (the caller
# starts it again, like a wake), and buttons are lines typed on stdin
# ("new_code"/"n", "sign_out"/"s", "quit"/"q").
import sys

_KEYS = {"n": "new_code", "new_code": "new_code", "s": "sign_out", "sign_out": "sign_out", "q": "quit", "quit": "quit"}


class UnixPlatform:
    can_set_clock = False  # the host's clock is the host's business (SystemClock reads it)

    def __init__(self, stdin=None):
        self.stdin = stdin if stdin is not None else sys.stdin
        self._poll = None
        try:
            import select

            self._poll = select.poll()
            self._poll.register(self.stdin, select.POLLIN)
            self._select = select
        except Exception:
            self._poll = None
        self.slept = None

    def network_up(self):
        return True

    def start_radio(self):
        pass  # the host's network is always on

    def urandom(self, n):
        import os

        return os.urandom(n)

    def halt(self, code):
        return code  # a fatal error ends the process here (on a board it idles: platform_esp32)

    def set_clock(self):
        return False  # the host clock is already set when it is (SystemClock reads it)

    def pressed(self):
        if self._poll is None:
            return []
        out = []
        for _ in range(4):
            events = self._poll.poll(0)
            if not events:
                break
            ev = events[0][1]
            if not ev & self._select.POLLIN:
                self._poll.unregister(self.stdin)  # EOF / hang-up: no more buttons
                self._poll = None
                break
            line = self.stdin.readline()
            if not line:
                self._poll.unregister(self.stdin)
                self._poll = None
                break
            name = _KEYS.get(line.strip())
            if name:
                out.append(name)
        return out

    def feed_watchdog(self):
        pass

    def reading(self):
        # Sensor mode on the host: a plausible reading.
        import json

        return json.dumps({"temperature_c": 21.5}).encode()

    def deep_sleep(self, seconds):
        self.slept = seconds  # the main loop exits; a supervisor restarts us like a wake

    def random_seed(self):
        import os

        try:
            b = os.urandom(4)
            return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
        except Exception:
            return 12345
