# An ESP32 as far as main.py can tell, on the MicroPython Unix port: the firmware runs
# its board path (sys.platform "esp32", firmware/platform_esp32.py, safe boot) against
# stand-ins for the hardware modules, and the emulator behaves like the board where the
# board path matters:
#
#   - SystemExit from main.py soft-resets and runs main.py again (ports/esp32/main.c);
#     each one is logged as event=emu_soft_reset, and a loop is cut after --max-boots.
#   - machine.WDT cannot be stopped and survives soft reset; a watcher thread logs
#     event=emu_wdt_reset when it goes unfed longer than its timeout (--wdt-ms overrides it).
#   - The RTC reads 2000 until ntptime.settime() succeeds (--ntp-fail N: it fails N times).
#   - network.WLAN connects a few polls after connect(); os.urandom logs whether the radio
#     was on (event=emu_urandom radio=0|1): the ESP32's RNG needs it for real entropy.
#   - --fault-isconnected K: the K-th isconnected() raises RuntimeError (a driver fault).
#   - --hold PIN: that input pin reads low (a button held) from power-up.
#   - --deepsleep-wake: machine.reset_cause() says the board woke from deep sleep.
#
#   micropython tests/board_emulator.py [options] -- firmware/main.py --config c.json ...
#
# The network peer (the stub server) and the TLS stack are real; only the board is not.
import sys

_real_sys = sys
HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.append(HERE + "/unit")

import _thread  # noqa: E402
import os as _real_os  # noqa: E402
import time as _real_time  # noqa: E402

from recording_bus import RecordingMachine  # noqa: E402

OPTS = {"ntp_fail": 0, "wifi_after": 2, "wdt_ms": 0, "fault_isconnected": 0, "hold": None,
        "max_boots": 3, "deepsleep_wake": False}


def emit(line):
    _real_sys.stdout.write(line + "\n")


def _parse(argv):
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return argv[i + 1:]
        key = a[2:].replace("-", "_")
        if key == "deepsleep_wake":
            OPTS[key] = True
        else:
            OPTS[key] = int(argv[i + 1])
            i += 1
        i += 1
    raise SystemExit("usage: board_emulator.py [options] -- main.py args")


# ---- the RTC and NTP ------------------------------------------------------------
class _Rtc:
    set = False
    boot_s = _real_time.time()


class FakeTime:
    """time, but time() counts from 2000-01-01 (as an unset ESP32 RTC) until NTP sets it."""

    def __getattr__(self, name):
        return getattr(_real_time, name)

    def time(self):
        if _Rtc.set:
            return _real_time.time()
        return 946684800 + int(_real_time.time() - _Rtc.boot_s)  # Unix-epoch seconds in January 2000


class FakeNtptime:
    calls = 0
    timeout = 1

    def settime(self):
        FakeNtptime.calls += 1
        ok = FakeNtptime.calls > OPTS["ntp_fail"]
        emit("event=emu_ntp ok=%d" % ok)
        if not ok:
            raise OSError(110)  # ETIMEDOUT: no answer within the 1 s timeout
        _Rtc.set = True


# ---- Wi-Fi ---------------------------------------------------------------------
class _Radio:
    on = False


class WLAN:
    def __init__(self, interface=0):
        self.polls = 0
        self.connecting = False
        self.checks = 0

    def active(self, on=None):
        if on is None:
            return _Radio.on
        if on and not _Radio.on:
            emit("event=emu_radio on=1")
        _Radio.on = bool(on)
        return None

    def connect(self, ssid, password):
        if not _Radio.on:
            raise OSError("Wifi Not Started")  # as the ESP32 port says
        self.connecting = True

    def isconnected(self):
        self.checks += 1
        if self.checks == OPTS["fault_isconnected"]:
            raise RuntimeError("emulated driver fault")
        if self.connecting:
            self.polls += 1
        return self.connecting and self.polls > OPTS["wifi_after"]

    def status(self):
        return 1010 if self.isconnected() else 1001


class FakeNetwork:
    STA_IF = 0
    AP_IF = 1
    WLAN = WLAN


class FakeOs:
    def __getattr__(self, name):
        return getattr(_real_os, name)

    def urandom(self, n):
        emit("event=emu_urandom n=%d radio=%d" % (n, 1 if _Radio.on else 0))
        return _real_os.urandom(n)


class FakeEsp32:
    def raw_temperature(self):
        return 120


# ---- the watchdog and the rest of machine --------------------------------------
class _Dog:
    timeout = None
    last = None
    reported = False


class WDT:
    def __init__(self, id=0, timeout=5000):
        # One watchdog: making it again returns the running one (it cannot be stopped).
        if _Dog.timeout is None:
            _Dog.timeout = OPTS["wdt_ms"] or timeout
            _Dog.last = _real_time.ticks_ms()
            _thread.start_new_thread(_watch, ())
            emit("event=emu_wdt_start timeout_ms=%d" % _Dog.timeout)
        else:
            self.feed()

    def feed(self):
        _Dog.last = _real_time.ticks_ms()


def _watch():
    while True:
        _real_time.sleep_ms(50)
        late = _real_time.ticks_diff(_real_time.ticks_ms(), _Dog.last)
        if late > _Dog.timeout and not _Dog.reported:
            _Dog.reported = True
            emit("event=emu_wdt_reset starved_ms=%d" % late)


def _machine():
    m = RecordingMachine(record=False)
    m.WDT = WDT
    m.PWRON_RESET, m.HARD_RESET, m.WDT_RESET, m.DEEPSLEEP_RESET, m.SOFT_RESET = 1, 2, 3, 4, 5
    m.reset_cause = lambda: m.DEEPSLEEP_RESET if OPTS["deepsleep_wake"] else m.PWRON_RESET

    def deepsleep(ms=0):
        emit("event=emu_deepsleep ms=%d" % ms)
        _Power.off = True  # the board powers down; the next wake is a new process
        raise SystemExit(0)

    m.deepsleep = deepsleep
    m.unique_id = lambda: b"\x24\x0a\xc4\x00\x00\x01"
    if OPTS["hold"] is not None:
        m.set_input(OPTS["hold"], 0)
    return m


class _Power:
    off = False


class FakeSys:
    platform = "esp32"

    def __init__(self, argv):
        self.argv = argv

    def __getattr__(self, name):
        return getattr(_real_sys, name)


def main():
    args = _parse(_real_sys.argv[1:])
    fakes = {"sys": FakeSys(args), "time": FakeTime(), "os": FakeOs(), "ntptime": FakeNtptime(),
             "network": FakeNetwork(), "esp32": FakeEsp32(), "machine": _machine()}
    keep = set(_real_sys.modules)
    with open(args[0]) as f:
        code = compile(f.read(), args[0], "exec")
    boots = 0
    while True:
        boots += 1
        for name in list(_real_sys.modules):  # a soft reset forgets every module main.py loaded
            if name not in keep:
                del _real_sys.modules[name]
        _real_sys.modules.update(fakes)
        try:
            exec(code, {"__name__": "__main__", "__file__": args[0]})
        except SystemExit as e:
            if _Power.off:
                _real_sys.exit(0)
            emit("event=emu_soft_reset boot=%d code=%s" % (boots, e.args[0] if e.args else None))
            if boots >= OPTS["max_boots"]:
                emit("event=emu_soft_reset_loop boots=%d" % boots)
                _real_sys.exit(99)
            continue
        emit("event=emu_repl")  # main.py returned: the board sits at the REPL
        _real_sys.exit(0)


main()
