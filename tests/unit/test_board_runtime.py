# The board's own start-up (firmware/platform_esp32.py, firmware/safeboot.py) with the
# hardware modules passed in: the heap grows once before Wi-Fi exists, the watchdog starts
# last, keys draw on the RNG only with the radio on, a fatal error idles feeding the
# watchdog, and safe boot is recognised. The end-to-end side runs the firmware on the
# board emulator (tests/test_board_e2e.py).
from check import tmpdir

from deviceflow.manualclock import ManualClock
import platform_esp32
import safeboot


class SplitHeap:
    """MicroPython's GC as an ESP32 without PSRAM runs it: one area at boot; an allocation
    that fits no hole (after a collect) adds a second area, sized to double the total
    (py/gc.c gc_try_add_heap), once, if the IDF heap has room."""

    def __init__(self, calls, first=56 * 1024, used=20000, room=True):
        self.calls = calls
        self.areas = [first]
        self.used = used
        self.room = room

    def collect(self):
        self.calls.append("gc.collect")

    def mem_free(self):
        return sum(self.areas) - self.used

    def mem_alloc(self):
        return self.used

    def alloc(self, n):
        self.calls.append("alloc %d" % n)
        if n > self.mem_free():
            if not self.room or len(self.areas) > 1:
                raise MemoryError()
            self.areas.append(max(sum(self.areas), n + 2048))
        return object()


def test_heap_grows_once_by_asking_for_more_than_is_free():
    calls = []
    heap = SplitHeap(calls)
    free = heap.mem_free()
    grown = platform_esp32.grow_heap_once(heap, heap.alloc)
    assert grown == 56 * 1024  # the planned doubling: 56 KiB -> 112 KiB
    assert len(heap.areas) == 2
    assert calls[0] == "gc.collect"  # first make every free byte count...
    assert calls[1] == "alloc %d" % (free + platform_esp32.GROW_MARGIN)  # ...then ask for more
    assert calls[-1] == "gc.collect"  # and drop the block at once


def test_no_room_to_grow_is_not_an_error():
    calls = []
    heap = SplitHeap(calls, room=False)
    assert platform_esp32.grow_heap_once(heap, heap.alloc) == 0
    assert len(heap.areas) == 1


def test_a_heap_that_has_grown_already_is_left_alone():
    # A third area would take the ~40 KB Wi-Fi and TLS need: no second forced growth, and no
    # multi-megabyte request on a PSRAM heap either.
    for areas in ([56 * 1024, 56 * 1024], [4 * 1024 * 1024]):
        calls = []
        heap = SplitHeap(calls)
        heap.areas = list(areas)
        assert platform_esp32.grow_heap_once(heap, heap.alloc) == 0
        assert heap.areas == areas
        assert not [c for c in calls if c.startswith("alloc")]


class Recorder:
    """Fake machine and network modules that note, in one list, what was done in what order."""

    def __init__(self, calls):
        self.calls = calls

        class WDT:
            def __init__(self, timeout=0):
                calls.append("WDT %d" % timeout)

            def feed(self):
                calls.append("feed")

        class WLAN:
            def __init__(self, interface):
                calls.append("WLAN")
                self.on = False

            def active(self, on=None):
                if on is None:
                    return self.on
                calls.append("active %s" % on)
                self.on = on

            def isconnected(self):
                return False

            def connect(self, ssid, password):
                calls.append("connect " + ssid)

        self.WDT = WDT
        self.WLAN = WLAN
        self.STA_IF = 0


def _platform(calls, cfg=None):
    hw = Recorder(calls)
    heap = SplitHeap(calls)
    p = platform_esp32.Esp32Platform(cfg or {"wifi": {"ssid": "home", "password": "pw"}}, None,
                                     machine=hw, network=hw, gc=heap, watchdog_ms=30000)
    return p, heap


def test_heap_grows_before_wifi_exists_and_the_watchdog_starts_last():
    calls = []
    orig = platform_esp32.grow_heap_once
    grown = []

    def spy(gc, alloc=bytearray):
        calls.append("grow")
        grown.append(orig(gc, gc.alloc))  # the fake heap's own allocator
        return grown[0]

    platform_esp32.grow_heap_once = spy
    try:
        p, heap = _platform(calls)
    finally:
        platform_esp32.grow_heap_once = orig
    assert grown == [56 * 1024]
    order = [c for c in calls if c in ("grow", "WLAN") or c.startswith("WDT")]
    assert order == ["grow", "WLAN", "WDT 30000"]
    assert "active True" not in calls  # the radio is not on yet


def test_random_bytes_only_with_the_radio_on():
    calls = []
    p, _ = _platform(calls)
    assert not p.wlan.active()
    b = p.urandom(32)
    assert len(b) == 32
    assert p.wlan.active()  # turned on first: the RNG has real entropy only then
    assert calls.count("active True") == 1
    p.urandom(4)
    p.start_radio()
    assert calls.count("active True") == 1  # once


def test_wifi_connects_with_the_radio_on():
    calls = []
    p, _ = _platform(calls)
    assert not p.network_up()
    assert calls.index("active True") < calls.index("connect home")


def test_fatal_idle_feeds_the_watchdog_and_never_returns_on_its_own():
    calls = []
    hw = Recorder(calls)
    slept = []
    platform_esp32.idle_forever(hw, sleep_ms=slept.append, forever=False)
    assert calls == ["WDT %d" % platform_esp32.WATCHDOG_MS, "feed"]  # fed, even one started before a soft reset
    assert slept == [1000]  # well inside the watchdog's timeout


class Button:
    def __init__(self, clock, pressed_from=None):
        self.clock = clock
        self.pressed_from = pressed_from

    def value(self):
        return 1 if self.pressed_from is not None and self.clock.ticks_ms() >= self.pressed_from else 0


class FakeBoard:
    def __init__(self, button):
        self.buttons = {"new_code": button} if button else {}


class Reset:
    PWRON_RESET, DEEPSLEEP_RESET = 1, 4

    def __init__(self, cause):
        self.cause = cause

    def reset_cause(self):
        return self.cause


def test_safe_boot_by_marker_file_next_to_the_config():
    d = tmpdir()
    cfg = d + "/config.json"
    clock = ManualClock()
    assert safeboot.marker_path(cfg) == d + "/safeboot"
    assert safeboot.marker_path("config.json") == "safeboot"  # on a board: /safeboot
    assert safeboot.requested(cfg, FakeBoard(None), clock) is None
    open(d + "/safeboot", "w").close()
    assert safeboot.requested(cfg, FakeBoard(None), clock) == "marker"


def test_safe_boot_by_button_held_within_the_first_second():
    d = tmpdir()
    cfg = d + "/config.json"
    clock = ManualClock(start=5000)
    assert safeboot.requested(cfg, FakeBoard(Button(clock, 5600)), clock, Reset(1)) == "button"
    clock = ManualClock(start=5000)
    assert safeboot.requested(cfg, FakeBoard(Button(clock, 7000)), clock, Reset(1)) is None  # too late
    assert clock.now - 5000 <= safeboot.HOLD_WINDOW_MS + 20  # and boot waited no longer than the window


def test_a_deep_sleep_wake_does_not_wait_for_the_button():
    d = tmpdir()
    clock = ManualClock(start=0)
    assert safeboot.requested(d + "/config.json", FakeBoard(Button(clock, 500)), clock, Reset(4)) is None
    assert clock.now == 0
    held = Button(clock, 0)
    assert safeboot.requested(d + "/config.json", FakeBoard(held), clock, Reset(4)) == "button"
