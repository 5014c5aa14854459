"""End-to-end: user codes as an Auth0 tenant configures them (charset and mask), on the screens
people own, and the Auth0 tenant log events an admin would read for each outcome. The firmware
runs on the Unix port (its screen in the terminal, read back pixel by pixel) against the stub."""
import re

import pytest

import device
from device import Device, decode_qr, screen_frames
from stubctl import start_stub
from test_screens import _find  # font template search in a picture

SIZES = {"oled_128x32": (128, 32), "oled_128x64": (128, 64), "tft_240x135": (240, 135),
         "epaper_200x200": (200, 200), "epaper_296x128": (296, 128)}


def groups(code):
    return [g for g in re.split(r"[- ]", code) if g]


def drawn_groups(frames, code):
    """The code's groups found whole (at one scale) on some frame; [] when none."""
    w, h = len(frames[0][0]), len(frames[0])
    for rows in frames:
        pix = bytes(1 if rows[y][x] else 0 for y in range(h) for x in range(w))
        for k in range(4, 0, -1):
            if all(_find(pix, w, h, g, k) for g in groups(code)):
                return groups(code)
    return []


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1) as s:
        yield s


CASES = [("oled_128x32", "digits", "**** ****"), ("oled_128x64", "base20", "****-****-****"),
         ("tft_240x135", "base20", "****"), ("epaper_200x200", "digits", "****-****-****-****"),
         ("epaper_296x128", "base20", "**** **** **** ****")]


@pytest.mark.parametrize("display,charset,mask", CASES)
def test_tenant_code_format_is_shown_whole_and_sign_in_is_logged(stub, tmp_path, monkeypatch, display,
                                                                 charset, mask):
    monkeypatch.setitem(device.ENV, "DEVICEFLOW_DISPLAY", display)
    # approval after 11 s: a paged code screen turns its pages (5 s each) before that
    stub.configure(user_code_charset=charset, user_code_mask=mask, approve_after=11)
    dev = Device(tmp_path, stub)
    assert dev.run("--once", timeout=90) == 0, dev.log_text()
    show = dev.wait_for("show_code")
    code = show["user_code"]
    chars = "[BCDFGHJKLMNPQRSTVWXZ]" if charset == "base20" else "[0-9]"
    assert re.match("^" + "".join(chars if c == "*" else re.escape(c) for c in mask) + "$", code), code
    w, h = SIZES[display]
    frames = [f for f in screen_frames(dev.screen_text, h) if len(f[0]) == w]
    assert frames
    assert drawn_groups(frames, code) == groups(code), (display, code)
    decoded = [t for f in frames for t in decode_qr(f, 4)]
    if display != "oled_128x32":  # 32 rows hold no QR of a URI this long (tests/test_screens.py)
        assert show["verification_uri_complete"] in decoded
    logs = stub.tenant_logs()
    assert [e["type"] for e in logs] == ["sede"] and logs[0]["client_id"] == stub.client_id


def test_denied_and_expired_screens_match_the_tenant_log_codes(stub, tmp_path):
    # the README's troubleshooting table: DENIED <-> fdecc (+ fede), EXPIRED <-> no sede (fede at most)
    stub.configure(deny_after=1)
    dev = Device(tmp_path, stub)
    assert dev.run("--once", timeout=60) != 0
    dev.wait_for("error", reason="access_denied")
    dev.wait_for("screen", kind="denied")
    assert [e["type"] for e in stub.tenant_logs()] == ["fdecc", "fede"]
    stub.reset()
    stub.configure(expires_in=2)
    dev = Device(tmp_path / "again", stub)
    assert dev.run("--once", timeout=60) != 0
    dev.wait_for("error", reason="expired_token")
    dev.wait_for("screen", kind="expired")
    # the device stops at its own clock's expiry; a poll that reached the server after it is a fede
    assert all(e["type"] == "fede" and "xpired" in e["description"] for e in stub.tenant_logs())


def test_wrong_client_id_is_an_fdeaz(stub, tmp_path):
    dev = Device(tmp_path, stub, client_id="not-this-tenants-client")
    assert dev.run("--once", timeout=60) != 0
    dev.wait_for("error", reason="invalid_client")
    logs = stub.tenant_logs()
    assert [e["type"] for e in logs] == ["fdeaz"] and logs[0]["client_id"] == "not-this-tenants-client"


def test_make_run_ends_with_the_tenant_log_table():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = subprocess.run([sys.executable, os.path.join(root, "tools", "run_demo.py"), "--once"], cwd=root,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    tail = p.stderr[p.stderr.index("\nsummary:"):]
    lines = tail.split("\n")
    at = lines.index("tenant logs (Auth0 event codes):")
    row = lines[at + 1].split()
    assert re.match(r"^\d\d:\d\d:\d\d$", row[0]) and row[1:3] == ["sede", "demo-device-client"], lines[at:]
