"""The playground (tools/playground.py, `make playground`), driven in a real browser.

Headless Chromium (Debian's chromium + chromium-driver, which `make test` installs) opens the page
while the real firmware runs on the Unix port against the stub: the test reads the user code from
the device pane, decodes the QR from a screenshot of that pane, approves in the user's frame,
waits for the success screen and event=api_ok, then injects an outage and sees the network screen
and the recovery. It also writes docs/playground.png (the README's picture). Without Chromium it
is skipped, and says why. The config handling of the tenant mode is tested without a browser.
"""
import base64
import io
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from urllib.parse import urlsplit

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import playground  # noqa: E402
import pg_device  # noqa: E402  (tools/playground/pg_device.py: playground put it on the path)
import procs  # noqa: E402  (tests/procs.py)

PY = os.path.join(ROOT, ".venv", "bin", "python")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
PICTURE = os.path.join(ROOT, "docs", "playground.png")
PICTURE_MAX = 200 * 1024
WAIT = 120   # generous: six engineers share two cores


# ---- without a browser: config handling, frames, the display menu ------------------------------

TENANT = {"issuer": "https://example-tenant.us.auth0.com/", "client_id": "abc123",
          "api_url": "https://api.example.com/hello", "audience": "https://api.example.com/",
          "board": "heltec_wifi_kit_32", "state_dir": "/", "api_interval_s": 300}


def test_tenant_config_runs_on_the_unix_board_with_the_playgrounds_state():
    cfg = playground.tenant_config(dict(TENANT), "/tmp/pg-state")
    assert cfg["board"] == "unix"                  # the board whose screen the page can show
    assert cfg["state_dir"] == "/tmp/pg-state"     # not the board's flash root
    for key in ("issuer", "client_id", "api_url", "audience", "api_interval_s"):
        assert cfg[key] == TENANT[key]


def test_tenant_config_file_errors_are_clear(tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    no_issuer = tmp_path / "no_issuer.json"
    no_issuer.write_text(json.dumps({k: v for k, v in TENANT.items() if k != "issuer"}))
    a_list = tmp_path / "list.json"
    a_list.write_text("[]")
    cases = [(tmp_path / "missing.json", "cannot read"), (bad_json, "not valid JSON"),
             (no_issuer, "'issuer'"), (a_list, "JSON object")]
    for path, said in cases:
        with pytest.raises(ValueError) as e:
            playground.read_tenant_config(str(path), str(tmp_path / "state"))
        assert said in str(e.value), path
    good = tmp_path / "good.json"
    good.write_text(json.dumps(TENANT))
    assert playground.read_tenant_config(str(good), "s")["issuer"] == TENANT["issuer"]


def test_playground_with_a_bad_tenant_config_says_why_and_starts_nothing(tmp_path):
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps({"issuer": "https://t.example/"}))
    out = subprocess.run([PY, os.path.join(ROOT, "tools", "playground.py"), "--config", str(path),
                          "--no-browser", "--work-dir", str(tmp_path / "pg")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "'client_id'" in out.stderr and "http://" not in out.stdout


def test_user_link_goes_to_this_page_with_the_stub_and_to_the_tenant_otherwise():
    ev = {"verification_uri": "https://localhost:4443/activate",
          "verification_uri_complete": "https://localhost:4443/activate?user_code=BCDF-GHJK"}
    assert pg_device.user_link(ev, "https://localhost:4443") == "/activate?user_code=BCDF-GHJK"
    assert pg_device.user_link({"verification_uri": ev["verification_uri"]},
                                "https://localhost:4443") == "/activate"
    # Another origin than the stub's is never proxied, whatever path it names.
    assert pg_device.user_link(ev, "https://localhost:9999") is None
    real = {"verification_uri": "https://t.eu.auth0.com/activate",
            "verification_uri_complete": "https://t.eu.auth0.com/activate?user_code=BCDF-GHJK"}
    assert pg_device.user_link(real) == real["verification_uri_complete"]
    assert pg_device.user_link({"verification_uri": "https://accounts.google.com/device"}) == \
        "https://accounts.google.com/device"
    assert pg_device.user_link({"verification_uri": "javascript:alert(1)"}) is None
    assert pg_device.user_link({}) is None


def test_display_menu_is_every_class_the_unix_board_knows():
    with open(os.path.join(ROOT, "boards", "unix.py")) as f:
        named = set(re.findall(r"[\"']([a-z0-9]+_\d+x\d+)[\"']", f.read()))
    classes = playground.display_classes()   # asked of boards/unix.py under MicroPython
    assert "oled_128x64" in named and named <= set(classes), (named, classes)
    for name, (w, h, depth) in classes.items():
        assert w > 0 and h > 0 and depth in (1, 16), name
        if name in named:   # oled_128x64 is 128 x 64 pixels
            assert name.rsplit("_", 1)[1] == "%dx%d" % (w, h), name


DRAW = """
import sys
from deviceflow.term_display import TerminalDisplay
class Null:
    def write(self, b):
        pass
for w, h, depth in ((128, 64, 1), (135, 240, 16)):
    d = TerminalDisplay(w, h, stream=Null(), depth=depth, live=False, frames=sys.argv[1])
    d.fill(d.light)
    d.fill_rect(3, 5, 4, 2, d.dark)
    d.show()
    d.pixel(w - 1, h - 1, 0xF800 if depth == 16 else d.dark)
    d.show()
    d._frames_out.close()
    sys.argv[1] = sys.argv[1] + "2"
"""


def test_frames_are_the_framebuffer_the_firmware_shows(tmp_path):
    script = tmp_path / "draw.py"
    script.write_text(DRAW)
    out = tmp_path / "frames.bin"
    subprocess.run([MICROPYTHON, str(script), str(out)], cwd=ROOT, check=True, timeout=60,
                   env=dict(os.environ, MICROPYPATH="lib"))
    mono = pg_device.parse_frames(bytearray(out.read_bytes()))
    colour = pg_device.parse_frames(bytearray((tmp_path / "frames.bin2").read_bytes()))
    assert [f[:3] for f in mono] == [(128, 64, 1)] * 2
    assert [f[:3] for f in colour] == [(135, 240, 16)] * 2

    def mono_dark(pixels, x, y):
        return not (pixels[y * 16 + (x >> 3)] >> (7 - (x & 7))) & 1

    def rgb(pixels, x, y):
        i = (y * 135 + x) * 2
        return pixels[i] | pixels[i + 1] << 8

    first, second = mono[0][3], mono[1][3]
    assert mono_dark(first, 3, 5) and mono_dark(first, 6, 6) and not mono_dark(first, 7, 5)
    assert not mono_dark(first, 127, 63) and mono_dark(second, 127, 63)
    assert rgb(colour[0][3], 4, 6) == 0 and rgb(colour[0][3], 0, 0) == 0xFFFF
    assert rgb(colour[1][3], 134, 239) == 0xF800
    with pytest.raises(ValueError):
        pg_device.parse_frames(bytearray(b"XX" + bytes(20)))


# ---- the page's own API, without a browser: every fault and the device's reaction ---------------

class PageClient:
    """What the page receives (/events) and sends (/api/*), in Python."""

    def __init__(self, url):
        self.url = url
        self.logs, self.state, self.frame = [], {}, None
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self):
        event, data = None, ""
        with urllib.request.urlopen(self.url + "events", timeout=WAIT) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and event:
                    obj = json.loads(data)
                    if event == "log":
                        self.logs.extend(obj)
                    elif event == "state":
                        self.state = obj
                    elif event == "frame":
                        self.frame = obj
                    event, data = None, ""

    def post(self, path, **body):
        req = urllib.request.Request(self.url + path.lstrip("/"), json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            return json.load(r)

    def lines(self, src):
        return [e["text"] for e in list(self.logs) if e["src"] == src]

    def wait(self, what, cond, timeout=WAIT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = cond()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError("no %s in %d s; state %s; device log:\n%s\nserver log:\n%s" % (
            what, timeout, self.state, "\n".join(self.lines("device")[-40:]),
            "\n".join(self.lines("server")[-30:])))

    def count(self, src, text):
        return sum(text in line for line in self.lines(src))


def _approve(work, code, approve=True):
    """The user's answer on the activation page (through the stub's control port)."""
    with open(os.path.join(work, "stub.json")) as f:
        control = json.load(f)["control"]
    req = urllib.request.Request(control + "/_stub/decide", json.dumps(
        {"user_code": code, "approve": approve}).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=15) as r:
        assert json.load(r)["ok"]


def test_every_fault_and_button_shows_on_the_device(tmp_path):
    work = str(tmp_path / "pg")
    proc, url = _start_playground(work)
    try:
        page = PageClient(url)
        screen = lambda: page.state.get("screen")  # noqa: E731
        first = page.wait("a code", lambda: page.state.get("user_code"))
        assert page.frame["w"] == 128 and page.frame["h"] == 64

        # slow_down: the next poll is refused, and the device waits 5 s more from then on.
        page.post("/api/fault", kind="slow_down")
        page.wait("slow_down", lambda: page.count("server", "slow_down (forced"))
        page.wait("two polls after it", lambda: len(page.lines("server")[
            [i for i, l in enumerate(page.lines("server")) if "slow_down" in l][0]:]) > 2
            and page.count("server", "authorization_pending") >= 2)
        gaps = [float(g) for g in re.findall(r"\[(\d+\.\d) s after", "\n".join(
            l for l in page.lines("server") if "slow_down" not in l))]
        assert gaps and gaps[-1] >= 9, page.lines("server")

        # An expired code: the expired screen; the device's button asks for a new code.
        page.post("/api/fault", kind="expire_code")
        page.wait("the expired screen", lambda: screen() == "expired")
        assert page.count("device", "reason=expired_token")
        page.post("/api/button", name="new_code")
        second = page.wait("a new code", lambda: page.state.get("user_code") not in (None, first)
                           and page.state["user_code"])
        _approve(work, second)
        page.wait("signed in", lambda: screen() == "success" and page.count("device", "event=api_ok"))

        # A TLS impostor: the device refuses it (TLS screen), then goes on with the real server.
        ok = page.count("device", "event=api_ok")
        page.post("/api/fault", kind="impostor", seconds=25)
        page.wait("the TLS screen", lambda: screen() == "tls")
        page.wait("recovery", lambda: screen() == "success" and page.count("device", "event=api_ok") > ok)

        # A revoked refresh token: signed out by the provider, and a new code on screen.
        page.post("/api/fault", kind="revoke")
        page.wait("invalid_grant", lambda: page.count("device", "reason=invalid_grant"))
        page.wait("a third code", lambda: page.state.get("user_code") not in (None, first, second))
        _approve(work, page.state["user_code"])
        page.wait("signed in again", lambda: screen() == "success")

        # Another display class: the firmware restarts on it, still signed in (tokens in flash).
        page.post("/api/display", name="tft_135x240")
        page.wait("a 135x240 frame", lambda: page.frame["w"] == 135 and page.frame["h"] == 240)
        page.wait("signed in on it", lambda: screen() == "success")
        assert len(base64.b64decode(page.frame["data"])) == 135 * 240 * 2

        # Sign out: the refresh token is revoked at the server, the device says so.
        page.post("/api/button", name="sign_out")
        page.wait("signed out", lambda: screen() == "signed_out")
        page.wait("the revocation", lambda: page.count("server", "POST /oauth/revoke -> 200"))

        # The user denies the next code: the device says so and stops polling.
        page.post("/api/button", name="new_code")
        fourth = page.wait("a code after signing out", lambda: page.state.get("user_code"))
        _approve(work, fourth, approve=False)
        page.wait("the denied screen", lambda: screen() == "denied")
        assert page.count("device", "reason=access_denied")
    finally:
        _stop(proc)


def test_tenant_mode_links_to_the_tenants_own_page_and_injects_nothing(tmp_path):
    """CONFIG=my-tenant.json: the device talks to the configured server only (here a stub playing
    the tenant, with its own CA), the user's side is that server's verification page itself, and
    there are no faults to inject into someone's real tenant."""
    from stubctl import start_stub

    with start_stub(str(tmp_path / "tenant"), interval=1) as tenant:
        cfg = {"issuer": tenant.issuer, "client_id": tenant.client_id, "provider": "auth0",
               "audience": "https://api.example.com/", "api_url": tenant.url + "/api/hello",
               "ca_file": tenant.ca_pem, "board": "lilygo_t_display", "api_spread_s": 0}
        path = tmp_path / "my-tenant.json"
        path.write_text(json.dumps(cfg))
        proc = subprocess.Popen([PY, os.path.join(ROOT, "tools", "playground.py"), "--config", str(path),
                                 "--no-browser", "--work-dir", str(tmp_path / "pg")], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline().decode()).group()
            page = PageClient(url)
            link = page.wait("the tenant's link", lambda: page.state.get("user_link"))
            code = page.state["user_code"]
            assert link == tenant.url + "/activate?user_code=" + code
            with urllib.request.urlopen(url + "api/info", timeout=15) as r:
                info = json.load(r)
            assert info["tenant"] is True and info["faults"] == []
            for path_ in ("api/fault", "activate"):   # nothing to inject, nothing proxied
                req = urllib.request.Request(url + path_, b'{"kind": "outage"}',
                                             {"Content-Type": "application/json"})
                with pytest.raises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(req, timeout=15)
                assert e.value.code == 404
            tenant.approve(code)
            page.wait("signed in", lambda: page.state.get("screen") == "success"
                      and page.count("device", "event=api_ok"))
            assert page.frame["w"] == 128   # the Unix board, whatever board the file names
        finally:
            _stop(proc)


# ---- in Chromium -------------------------------------------------------------------------------

def _skip(why):
    msg = "playground browser test skipped: %s" % why
    warnings.warn(msg)
    print(msg, file=sys.stderr)
    pytest.skip(msg)


def _chromium():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _skip("selenium is not installed (make setup installs requirements.txt)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        _skip("no Chromium here; `make test` installs Debian's chromium and chromium-driver with "
              "apt-get, which was not possible on this machine")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1360,1000", "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    try:
        return webdriver.Chrome(service=Service(driver), options=opts)
    except Exception as e:   # a browser that did not come up on a loaded machine: once more
        print("chromium did not start (%s); trying again" % type(e).__name__, file=sys.stderr)
        time.sleep(5)
        return webdriver.Chrome(service=Service(driver), options=opts)


def _start_playground(work):
    os.makedirs(os.path.dirname(work), exist_ok=True)
    with open(work + "-stderr.log", "wb") as err:
        proc = subprocess.Popen([PY, os.path.join(ROOT, "tools", "playground.py"), "--no-browser",
                                 "--work-dir", work], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=err, stdin=subprocess.DEVNULL)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line, deadline = b"", time.monotonic() + WAIT
    while not line.endswith(b"\n"):
        if time.monotonic() > deadline or not sel.select(deadline - time.monotonic()):
            break
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            break
        line += chunk
    sel.close()
    m = re.search(rb"http://127\.0\.0\.1:\d+/", line)
    if not m:
        proc.kill()
        proc.wait(10)
        with open(work + "-stderr.log", "rb") as f:
            said = f.read()[-3000:].decode(errors="replace")
        raise AssertionError("playground did not print its URL: %r; its stderr:\n%s" % (line, said))
    return proc, m.group().decode()


def _stop(proc):
    procs.end(proc, 30)


def _png(element):
    from PIL import Image

    return Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")


def _save_picture(driver):
    """The README's picture: the whole page, in a small palette so it stays well under 200 KB."""
    from PIL import Image

    size = driver.get_window_size()
    extra = driver.execute_script("return window.outerHeight - window.innerHeight")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], height + extra)   # the whole page, logs included
    page = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    driver.set_window_size(size["width"], size["height"])
    for colours in (64, 32, 16):
        buf = io.BytesIO()
        page.quantize(colors=colours).save(buf, "PNG", optimize=True)
        if buf.tell() < PICTURE_MAX:
            break
    with open(PICTURE, "wb") as f:
        f.write(buf.getvalue())
    return buf.tell()


def test_sign_in_and_an_outage_in_the_browser(tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp")
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _chromium()
    proc = None
    try:
        proc, url = _start_playground(str(tmp_path / "pg"))
        assert urlsplit(url).hostname == "127.0.0.1"
        driver.set_page_load_timeout(WAIT)
        driver.get(url)
        # The user's frame navigates under our feet: an element of the page it left is stale.
        wait = WebDriverWait(driver, WAIT, poll_frequency=0.25,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))
        text = lambda id_: driver.find_element(By.ID, id_).text.strip()  # noqa: E731

        # The device pane: the code the firmware shows, and its QR read off the drawn pixels.
        code = wait.until(lambda d: re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", text("user-code"))
                          and text("user-code"))
        screen = driver.find_element(By.ID, "device-screen")
        wait.until(lambda d: screen.get_attribute("data-native") == "128x64")
        factor = int(screen.get_attribute("data-factor"))
        assert factor >= 2 and screen.size["width"] == 128 * factor
        qr = wait.until(lambda d: [r.text for r in zxingcpp.read_barcodes(_png(screen))])
        assert urlsplit(qr[0]).query == "user_code=" + code, qr
        assert driver.execute_script("return state.user_link") == \
            urlsplit(qr[0]).path + "?" + urlsplit(qr[0]).query
        assert text("device-status") == "code"

        # The user's side: enter the code, see it to confirm; the README's picture; approve.
        driver.switch_to.frame(driver.find_element(By.ID, "user-frame"))
        field = wait.until(lambda d: d.find_element(By.NAME, "user_code"))
        field.send_keys(code)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: d.find_element(By.CLASS_NAME, "code").text.strip() == code)
        driver.switch_to.default_content()
        wait.until(lambda d: "POST /activate -> 200" in text("server-log"))
        assert _save_picture(driver) < PICTURE_MAX
        driver.switch_to.frame(driver.find_element(By.ID, "user-frame"))
        driver.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
        wait.until(lambda d: "all set" in d.find_element(By.TAG_NAME, "h1").text)
        driver.switch_to.default_content()

        # The device signs in: success screen, the API answered.
        wait.until(lambda d: text("device-status") == "success" and "event=api_ok" in text("device-log"))
        assert not text("user-code")
        signed_in = wait.until(lambda d: (lambda img: img if not zxingcpp.read_barcodes(img) else None)(
            _png(screen)))

        # Nothing secret reached the page: no device code or token the stub issued.
        with open(tmp_path / "pg" / "stub.json") as f:
            control = json.load(f)["control"]
        with urllib.request.urlopen(control + "/_stub/secrets", timeout=15) as r:
            issued = json.load(r)
        secrets = [s for kind in issued.values() for s in kind]
        assert issued["device_code"] and issued["access_token"]
        page = driver.page_source + text("device-log") + text("server-log")
        assert not [s for s in secrets if s in page]

        # An outage: the network screen on the device, then the recovery by itself.
        api_ok = text("device-log").count("event=api_ok")
        seconds = driver.find_element(By.ID, "fault-seconds")
        seconds.clear()
        seconds.send_keys("20")
        driver.find_element(By.ID, "fault-outage").click()
        wait.until(lambda d: text("fault-status").startswith("Outage"))
        wait.until(lambda d: text("device-status") == "network")
        wait.until(lambda d: _png(screen) != signed_in)   # the network screen, drawn
        wait.until(lambda d: text("fault-status") == "No fault.")
        wait.until(lambda d: text("device-status") == "success"
                   and text("device-log").count("event=api_ok") > api_ok)
        wait.until(lambda d: _png(screen) == signed_in)   # the very pixels of the success screen
        assert "event=error" in text("device-log")
    except Exception:   # what the page showed, for the failure report
        for id_ in ("device-status", "user-code", "fault-status", "device-log", "server-log"):
            try:
                print("#%s:\n%s" % (id_, driver.find_element(By.ID, id_).text), file=sys.stderr)
            except Exception as e:
                print("#%s: %r" % (id_, e), file=sys.stderr)
        raise
    finally:
        driver.quit()
        if proc is not None:
            _stop(proc)
