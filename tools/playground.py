"""`make playground`: the device flow in a browser, with the real firmware inside.

    make playground                          # the bundled stub server; you are the user
    make playground CONFIG=my-tenant.json    # the same firmware against your real tenant
    python tools/playground.py [--config FILE] [--port N] [--display CLASS] [--no-browser]

It starts the stub server (tests/stubctl.py) and the firmware on the MicroPython Unix port,
serves one page on http://127.0.0.1:PORT/ (this machine only) and opens it when a browser is
there. The page shows the device's screen (the framebuffer the firmware draws, exported by
boards/unix.py with DEVICEFLOW_FRAMES), its buttons, the user's side (the stub's activation
page, proxied here so the browser need not trust the test CA), the device's event log and the
server's log as they happen, and faults to inject. The page never receives a device code or a
token: it gets the event log (which has none), the stub's request log and the screen's pixels.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools", "playground"))

from pg_device import DEFAULT_DISPLAY, MICROPYTHON, MP_PATH, Firmware  # noqa: E402
from pg_page import Hub, Playground, serve  # noqa: E402
from pg_server import StubSide  # noqa: E402

# The stub's settings and the device's config in stub mode: Auth0's 5 s poll interval, short
# token lifetimes and a 10 s API period, so a refresh and a fault's effect come within a minute.
STUB_SETTINGS = {"interval": 5, "access_ttl": 180, "approve_after": None}
DEVICE_TUNING = {"api_spread_s": 0, "api_interval_s": 10, "refresh_margin_s": 30,
                 "refresh_window_s": 30, "refresh_spread_s": 0}


# ---- configuration (pure functions, unit-tested in tests/test_playground.py) -------------------

def display_classes():
    """{class: [width, height, depth]} as boards/unix.py knows them (asked of MicroPython, so a
    class added there appears in the page's menu)."""
    code = "import json, unix; print(json.dumps(unix.SIZES))"
    out = subprocess.run([MICROPYTHON, "-c", code], cwd=ROOT, capture_output=True,
                         env=dict(os.environ, MICROPYPATH=MP_PATH), timeout=30)
    if out.returncode != 0:
        raise RuntimeError("cannot read boards/unix.py SIZES: %s" % out.stderr.decode(errors="replace"))
    return {k: list(v) for k, v in json.loads(out.stdout).items()}


def tenant_config(raw, state_dir):
    """A user's config (parsed JSON) -> the config the playground's device runs with: the Unix
    board (whose screen the page shows) and its own state directory, everything else as given."""
    if not isinstance(raw, dict):
        raise ValueError("the config file must hold a JSON object")
    for key in ("issuer", "client_id", "api_url"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ValueError("the config needs '%s' (see README: Configuration)" % key)
    cfg = dict(raw)
    cfg["board"] = "unix"
    cfg["state_dir"] = state_dir
    return cfg


def read_tenant_config(path, state_dir):
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError as e:
        raise ValueError("cannot read %s: %s" % (path, e.strerror))
    except ValueError:
        raise ValueError("%s is not valid JSON" % path)
    return tenant_config(raw, state_dir)


def stub_device_config(stub, state_dir):
    cfg = {"issuer": stub.issuer, "client_id": stub.client_id, "provider": "auth0",
           "audience": "https://api.example.com/", "api_url": stub.url + "/api/hello",
           "ca_file": stub.ca_pem, "board": "unix", "state_dir": state_dir}
    cfg.update(DEVICE_TUNING)
    return cfg


def has_display():
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="your own config.json (a real tenant) instead of the stub")
    ap.add_argument("--port", type=int, default=0, help="the page's port (0: a free one)")
    ap.add_argument("--display", default=os.environ.get("DEVICEFLOW_DISPLAY") or DEFAULT_DISPLAY,
                    help="display class to start with (boards/unix.py SIZES)")
    ap.add_argument("--work-dir", default=os.path.join(ROOT, "var", "playground"),
                    help="state of this playground's stub and device (wiped at start)")
    ap.add_argument("--no-browser", action="store_true", help="only print the URL")
    a = ap.parse_args(argv)

    displays = display_classes()
    if a.display not in displays:
        ap.error("unknown display class %s; known: %s" % (a.display, ", ".join(sorted(displays))))
    work = os.path.abspath(a.work_dir)
    if os.path.isdir(work) and os.listdir(work) and not os.path.exists(os.path.join(work, "config.json")):
        sys.exit("playground: %s holds something else than a playground; not wiping it" % work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "state"))
    config_path = os.path.join(work, "config.json")
    hub = Hub()
    stub = stub_side = None
    if a.config:
        try:
            cfg = read_tenant_config(a.config, os.path.join(work, "state"))
        except ValueError as e:
            sys.exit("playground: %s" % e)
    else:
        from stubctl import start_stub

        stub = start_stub(os.path.join(work, "stub"), tls=True, **STUB_SETTINGS)
        cfg = stub_device_config(stub, os.path.join(work, "state"))
        stub_side = StubSide(hub, stub)
        # For tests that check no secret ever reaches the page: where the stub's control port is.
        with open(os.path.join(work, "stub.json"), "w") as f:
            json.dump({"url": stub.url, "control": stub.control_url}, f)
    with open(config_path, "w") as f:
        json.dump(cfg, f, indent=2)
    hub.update(tenant=bool(a.config), issuer=cfg["issuer"], fault=None, server_log=None)
    firmware = Firmware(hub, config_path, work, stub.url if stub else None)
    server = None

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        if stub_side:
            stub_side.start_log()
        firmware.start(a.display)
        server = serve(Playground(hub, firmware, stub_side, displays, bool(a.config)), a.port)
        url = "http://127.0.0.1:%d/" % server.server_address[1]
        print("Playground: %s  (Ctrl-C stops it)" % url, flush=True)
        if not a.no_browser and has_display():
            import webbrowser

            webbrowser.open(url)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()
        if server is not None:
            server.shutdown()
            server.server_close()
        firmware.stop()
        if stub_side:
            stub_side.stop()
        if stub:
            stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
