"""End-to-end: the firmware's board path, on the board emulator (tests/board_emulator.py).

main.py runs as on an ESP32 (sys.platform "esp32", firmware/platform_esp32.py, safe boot)
on the MicroPython Unix port, against the stub server over verified HTTPS. The emulator
gives it an RTC that reads 2000 until NTP answers, a watchdog that cannot be stopped and
reports starvation, Wi-Fi whose radio the RNG depends on, and main.py's SystemExit
turned into a soft reset that runs main.py again, as ports/esp32/main.c does."""
import os
import time

import pytest

from device import ENV, MICROPYTHON, Device
from stubctl import start_stub

EMULATOR = os.path.join("tests", "board_emulator.py")
WIFI = {"ssid": "home", "password": "not-a-real-password"}


class Board(Device):
    """The Device of tests/device.py, started on the board emulator with `emu` options."""

    def __init__(self, tmpdir, stub=None, emu=(), **overrides):
        overrides.setdefault("wifi", WIFI)
        Device.__init__(self, tmpdir, stub, **overrides)
        self.emu = list(emu)
        self.times = {}

    def command(self, args, **_options):
        cmd = [MICROPYTHON, EMULATOR] + self.emu + ["--", "firmware/main.py", "--config", self.config_path]
        return cmd + list(args), ENV

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self.times[len(self.lines) - 1] = time.monotonic()

    def time_of(self, event, **fields):
        for i, line in enumerate(list(self.lines)):
            if line.startswith("event=" + event + " ") or line == "event=" + event:
                if all((" %s=%s" % (k, v)) in " " + line for k, v in fields.items()):
                    return self.times[i]
        return None

    def names(self):
        return [e["event"] for e in self.events()]


def _certs_with_a_leaf_from_the_future(directory):
    """The stub's certificate set (tools/certs.py) plus `notyet`: a leaf for localhost from the
    same CA whose validity starts next week, what a board with its RTC at 2000 sees in every one."""
    import datetime

    import certs
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    os.makedirs(directory, exist_ok=True)
    p = lambda n: os.path.join(directory, n)  # noqa: E731
    ca, ca_key = certs.make_ca("deviceflow test CA")
    certs._write(p("ca.pem"), ca.public_bytes(serialization.Encoding.PEM))
    certs._write(p("ca.der"), ca.public_bytes(serialization.Encoding.DER))
    other, other_key = certs.make_ca("untrusted test CA")
    certs._write(p("other-ca.pem"), other.public_bytes(serialization.Encoding.PEM))
    certs._write(p("other-ca.der"), other.public_bytes(serialization.Encoding.DER))
    key = certs._key()
    now = datetime.datetime.now(datetime.timezone.utc)
    future = (x509.CertificateBuilder().subject_name(certs._name("localhost")).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now + 7 * certs.ONE_DAY).not_valid_after(now + 90 * certs.ONE_DAY)
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    leaves = {"server": certs.make_leaf(["localhost", "127.0.0.1"], ca, ca_key), "notyet": (future, key),
              "untrusted": certs.make_leaf(["localhost", "127.0.0.1"], other, other_key)}
    for name, (cert, k) in leaves.items():  # untrusted.key last: write_all() then keeps this set
        certs._write(p(name + ".pem"), cert.public_bytes(serialization.Encoding.PEM))
        certs._write(p(name + ".key"), certs._pem_key(k))


def test_a_certificate_not_valid_yet_makes_the_board_ask_ntp_again(tmp_path):
    # The clock was set, but the server's certificate is "not valid yet" (here it really is;
    # on a board it is the RTC that is wrong): the failure gets its own reason, the board asks
    # NTP again at once, and the exchange is retried by its backoff; once the certificate is
    # acceptable, sign-in goes on.
    _certs_with_a_leaf_from_the_future(str(tmp_path / "stub" / "certs"))
    with start_stub(str(tmp_path / "stub"), tls=True, leaf="notyet", interval=1, approve_after=1) as stub:
        dev = Board(tmp_path, stub)
        dev.start()
        try:
            err = dev.wait_for("error", reason="tls_not_yet_valid", timeout=30)
            resync = dev.wait_for("clock_resync", timeout=10)
            stub._control("POST", "/_stub/listen", {"up": False})
            stub._control("POST", "/_stub/listen", {"up": True, "leaf": "server"})  # a valid leaf
            dev.wait_for("api_ok", timeout=60)
        finally:
            dev.stop()
            dev.wait(10)
    assert "clock" in err["detail"]
    assert resync["ok"] == "1"
    names = dev.names()
    assert names.count("emu_ntp") >= 2  # once at boot, again after the refusal
    assert names.index("clock_set") < names.index("clock_resync") < names.index("api_ok")


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=1) as s:
        yield s


def test_clock_is_set_before_the_first_https_request_and_keys_wait_for_the_radio(stub, tmp_path):
    # NTP fails three times: the device says so on screen, backs off, asks again, and sends
    # nothing over HTTPS until the clock is set; then it signs in.
    dev = Board(tmp_path, stub, emu=["--ntp-fail", "3"])
    dev.start("--once")
    try:
        third = dev.wait_for("error", reason="clock_unset", tries=3, timeout=20)
        assert stub.requests() == []  # no HTTPS yet: mbedTLS would refuse every certificate
        dev.wait_for("clock_set", tries=4, timeout=20)
        assert dev.wait(60) == 0, dev.log_text()
    finally:
        dev.stop()
    names = dev.names()
    assert dev.events("exit")[-1]["code"] == "0", dev.log_text()
    assert names.count("emu_ntp") == 4
    assert "api_ok" in names and dev.wait_for("exit")["code"] == "0", dev.log_text()
    errors = dev.events("error")
    waits = [int(e["retry_ms"]) for e in errors if e["reason"] == "clock_unset"]
    assert len(waits) == 3 and min(waits) >= 1000  # backoff: never sooner than 1 s...
    first, last = dev.time_of("error", tries=1), dev.time_of("clock_set")
    assert last - first >= sum(waits[:3]) / 1000 - 0.3  # ...and the waits really happened
    assert third["detail"] == "NTP failed; retrying"
    assert dev.wait_for("screen", kind="clock")
    assert names.index("clock_set") < names.index("show_code")
    # Start-up order on the board: the heap grows, then the watchdog, then the radio, and only
    # then is the device key drawn from the RNG (with the radio on: real entropy).
    assert names.index("heap_grown") < names.index("emu_wdt_start") < names.index("emu_radio")
    draws = dev.events("emu_urandom")
    assert draws and all(d["radio"] == "1" for d in draws), draws
    assert names.index("emu_radio") < names.index("emu_urandom")
    assert os.path.exists(os.path.join(dev.state, "device.key"))
    assert "emu_wdt_reset" not in names and "emu_soft_reset" not in names


@pytest.mark.parametrize("fault", ["config", "store"])
def test_a_fatal_error_idles_with_the_watchdog_fed_instead_of_soft_reset_looping(tmp_path, fault):
    # sys.exit() on a board soft-resets and runs main.py again: an app that exits on a fatal
    # error would loop (here, the emulator would log emu_soft_reset and give up after 3).
    if fault == "config":
        dev = Board(tmp_path, None, emu=["--wdt-ms", "1500"], issuer="https://example.com/",
                    api_url="https://example.com/api")  # no client_id
    else:
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        dev = Board(tmp_path, None, emu=["--wdt-ms", "1500"], issuer="https://example.com/",
                    client_id="x", api_url="https://example.com/api", state_dir=str(blocker))
    dev.start()
    try:
        if fault == "config":
            dev.wait_for("error", reason="config", key="client_id", timeout=20)
            dev.wait_for("screen", kind="config", timeout=5)
        else:
            dev.wait_for("error", reason="store", timeout=20)
            dev.wait_for("screen", kind="error", timeout=5)
        time.sleep(4)  # well past the 1.5 s watchdog: the idle loop must keep feeding it
        assert dev.proc.poll() is None, dev.log_text()  # still there, idling
    finally:
        dev.stop()
        dev.wait(10)
    names = dev.names()
    assert "emu_soft_reset" not in names and "emu_soft_reset_loop" not in names, dev.log_text()
    assert "emu_wdt_reset" not in names, dev.log_text()
    assert names.count("error") == 1
    assert "emu_wdt_start" in names  # a watchdog from before a soft reset would be fed too


def test_an_unexpected_exception_in_a_step_is_logged_shown_backed_off_and_survived(stub, tmp_path):
    # The Wi-Fi driver raises something no state expects, once. The app logs the exception's
    # type (never its text), shows an error, waits its backoff, and carries on to sign in.
    dev = Board(tmp_path, stub, emu=["--fault-isconnected", "2"])
    dev.start()
    try:
        err = dev.wait_for("error", reason="unexpected", timeout=20)
        dev.wait_for("api_ok", timeout=60)
    finally:
        dev.stop()
        dev.wait(10)
    assert err["state"] == "network"
    assert "RuntimeError" in err["detail"]
    assert "emulated driver fault" not in dev.log_text()  # the message itself stays out of the log
    assert dev.wait_for("screen", kind="error")["detail"] == err["detail"]
    names = dev.names()
    assert names.index("error") < names.index("network_up")
    waited = dev.time_of("network_up") - dev.time_of("error", reason="unexpected")
    assert waited >= 1.9, waited  # the failure backoff's floor (2 s), not a tight retry loop
    assert "emu_soft_reset" not in names and "emu_wdt_reset" not in names
    assert names.count("boot") == 1  # the same run went on: no restart


def test_safe_boot_marker_starts_neither_the_app_nor_the_watchdog(tmp_path):
    dev = Board(tmp_path, None, issuer="https://example.com/", client_id="x",
                api_url="https://example.com/api")
    open(os.path.join(dev.dir, "safeboot"), "w").close()  # what `make deploy` writes
    assert dev.run(timeout=20) == 0
    names = dev.names()
    assert dev.wait_for("safe_boot")["trigger"] == "marker"
    assert dev.wait_for("screen", kind="safe_boot")
    assert names[-1] == "emu_repl"  # main.py ended: the REPL and mpremote are free
    for started in ("emu_wdt_start", "watchdog", "emu_radio", "network_up", "heap_grown"):
        assert started not in names, dev.log_text()
    os.remove(os.path.join(dev.dir, "safeboot"))
    dev.start()  # without the marker, the app and its watchdog start
    try:
        dev.wait_for("emu_wdt_start", timeout=20)
        dev.wait_for("network_up", timeout=20)
    finally:
        dev.stop()
        dev.wait(10)


def test_safe_boot_by_holding_the_new_code_button_at_power_up(tmp_path):
    # A real board file on the emulated pins: the T-Display's new-code button is GPIO 0.
    dev = Board(tmp_path, None, emu=["--hold", "0"], board="lilygo_t_display",
                issuer="https://example.com/", client_id="x", api_url="https://example.com/api")
    assert dev.run(timeout=30) == 0
    assert dev.wait_for("safe_boot")["trigger"] == "button"
    assert "emu_wdt_start" not in dev.names()


def test_safe_boot_marker_works_even_when_the_config_names_no_real_board(tmp_path):
    # A broken config must not lock `make deploy` out: the marker is honoured before the idle.
    dev = Board(tmp_path, None, board="no_such_board", issuer="https://example.com/",
                api_url="https://example.com/api")  # and no client_id
    open(os.path.join(dev.dir, "safeboot"), "w").close()
    assert dev.run(timeout=20) == 0
    names = dev.names()
    assert dev.wait_for("safe_boot")["trigger"] == "marker"
    assert names[-1] == "emu_repl" and "emu_wdt_start" not in names
