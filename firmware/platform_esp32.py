# Board services on an ESP32: Wi-Fi, NTP, watchdog, deep sleep, hardware RNG.
# Only a board runs this; it is kept thin, and everything it feeds the app goes
# through the same interface as platform_unix.
import machine
import network
import time


class Esp32Platform:
    def __init__(self, cfg, board, watchdog_ms=30000):
        self.cfg = cfg
        self.board = board
        self.wlan = network.WLAN(network.STA_IF)
        self._connecting = False
        # Longer than a TLS handshake (1.2-2.5 s) plus a QR encode, with room for a slow server.
        self.wdt = machine.WDT(timeout=watchdog_ms)

    def network_up(self):
        if self.wlan.isconnected():
            return True
        wifi = self.cfg.get("wifi")
        if wifi and not self._connecting:
            self.wlan.active(True)
            self.wlan.connect(wifi["ssid"], wifi["password"])
            self._connecting = True
        return False

    def set_clock(self):
        try:
            import ntptime

            ntptime.settime()
            return True
        except Exception:
            return False

    def pressed(self):
        return []  # board buttons are watched by the main loop's ButtonWatcher

    def feed_watchdog(self):
        self.wdt.feed()

    def reading(self):
        import esp32
        import json

        try:
            temp_c = (esp32.raw_temperature() - 32) / 1.8
        except Exception:
            temp_c = None
        return json.dumps({"temperature_c": temp_c, "uptime_ms": time.ticks_ms()}).encode()

    def deep_sleep(self, seconds):
        machine.deepsleep(seconds * 1000)

    def random_seed(self):
        import os

        b = os.urandom(4)
        return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
