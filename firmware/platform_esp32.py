# Board services on an ESP32: Wi-Fi, NTP, watchdog, deep sleep, hardware RNG, and the
# heap's one planned growth. Only a board runs this; everything it feeds the app goes
# through the same interface as platform_unix. The hardware modules are imported when
# the platform is made, and can be passed in: unit tests and the Unix-port board emulator
# (tests/board_emulator.py) run this file as it is.
import time

WATCHDOG_MS = 30000  # longer than a TLS handshake (1.2-2.5 s) plus a QR encode, with room for a slow server
GROW_MARGIN = 1024  # bytes beyond the free heap: no hole can hold the block, so the heap must grow
GROWN_BYTES = 100 * 1024  # a heap this big has had its growth (111,936 B), or lives in PSRAM


def grow_heap_once(gc, alloc=bytearray):
    """Force the GC heap's one planned growth now, before Wi-Fi and TLS take the IDF heap.

    An ESP32 without PSRAM starts with one 56 KiB GC area and adds a second one (doubling
    the total to 111,936 B) the first time an allocation cannot fit. Grown at boot, the new
    area is carved while internal RAM is still free, and the ~40 KB left over stays with
    Wi-Fi and mbedTLS; grown later, mid-handshake, it would take what the handshake needs.
    A block bigger than all free GC memory cannot fit anywhere, so asking for one (and
    dropping it at once) makes exactly that growth. Only once: a heap that has grown already
    (imports can do it) would get a third area, which takes the RAM Wi-Fi and TLS need.
    Returns the bytes the heap grew by."""
    gc.collect()
    before = gc.mem_free() + gc.mem_alloc()
    if before >= GROWN_BYTES:
        return 0
    try:
        block = alloc(gc.mem_free() + GROW_MARGIN)
    except MemoryError:
        return 0  # no room to grow (or a port whose heap cannot): carry on with what there is
    del block
    gc.collect()
    return gc.mem_free() + gc.mem_alloc() - before


def idle_forever(machine, wdt=None, sleep_ms=None, forever=True):
    """A board must not end main.py with sys.exit(): SystemExit soft-resets and runs main.py
    again, so a fatal error would loop. Idle instead, feeding the watchdog (which cannot be
    stopped, and may be running from before a soft reset). Ctrl-C still reaches the REPL."""
    if wdt is None:
        wdt = machine.WDT(timeout=WATCHDOG_MS)
    sleep_ms = sleep_ms or time.sleep_ms
    while True:
        wdt.feed()
        sleep_ms(1000)
        if not forever:
            return


class Esp32Platform:
    can_set_clock = True  # the RTC starts at 2000 after power-up: NTP sets it

    def __init__(self, cfg, board, log=None, machine=None, network=None, gc=None,
                 watchdog_ms=WATCHDOG_MS):
        self.cfg = cfg
        self.board = board
        self.log = log
        self.machine = machine or __import__("machine")
        network = network or __import__("network")
        # Order matters. The heap grows first, while internal RAM is still free (creating the
        # WLAN object already initialises the Wi-Fi driver, which allocates from it).
        grown = grow_heap_once(gc or __import__("gc"))
        self._event("heap_grown", bytes=grown)
        self.wlan = network.WLAN(network.STA_IF)
        self._connecting = False
        # Started after safe boot was ruled out (main.py): from here on it cannot be stopped.
        self.wdt = self.machine.WDT(timeout=watchdog_ms)
        self._event("watchdog", timeout_ms=watchdog_ms)

    def _event(self, name, **fields):
        if self.log is not None:
            self.log.event(name, **fields)

    def start_radio(self):
        """Turn the radio on. The ESP32's RNG gives true random numbers only while Wi-Fi or
        Bluetooth is on (ESP-IDF, Random Number Generation): keys are made after this."""
        if not self.wlan.active():
            self.wlan.active(True)
            self._event("radio_on")

    def urandom(self, n):
        self.start_radio()
        import os

        return os.urandom(n)

    def network_up(self):
        if self.wlan.isconnected():
            return True
        wifi = self.cfg.get("wifi")
        if wifi and not self._connecting:
            self.start_radio()
            self.wlan.connect(wifi["ssid"], wifi["password"])
            self._connecting = True
        return False

    def set_clock(self):
        """One NTP exchange (one UDP packet, 1 s timeout); True once the RTC is set."""
        try:
            import ntptime

            ntptime.settime()
            return True
        except Exception:  # OSError (timeout, DNS) or anything the module raises: try later
            return False

    def pressed(self):
        return []  # board buttons are watched by the main loop's ButtonWatcher

    def feed_watchdog(self):
        self.wdt.feed()

    def halt(self, code):
        """A fatal error (config, flash): the error is on screen; idle, never exit."""
        idle_forever(self.machine, self.wdt)
        return code

    def reading(self):
        import json

        try:
            import esp32

            temp_c = (esp32.raw_temperature() - 32) / 1.8
        except Exception:
            temp_c = None
        return json.dumps({"temperature_c": temp_c, "uptime_ms": time.ticks_ms()}).encode()

    def deep_sleep(self, seconds):
        self.machine.deepsleep(seconds * 1000)

    def random_seed(self):
        b = self.urandom(4)
        return b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
