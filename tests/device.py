"""The firmware as a MicroPython Unix-port process, for end-to-end tests.

    dev = Device(tmp_path, stub)             # writes config.json pointing at the stub
    rc = dev.run("--once", timeout=60)       # runs main.py to completion
    dev.events("api_ok")                     # parsed `event=...` log lines

The screen goes to stderr (kept in dev.screen_text), the log to stdout.
"""
import json
import os
import shlex
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
PORT32 = os.path.join(ROOT, "build", "port32", "micropython")  # make port32
PORT32_FROZEN = os.path.join(ROOT, "build", "port32-frozen", "micropython")  # firmware frozen in
# make test-e2e passes the folders of the real micropython-lib hmac and ssd1306 (what mip puts on
# a board), so the firmware runs with them rather than its fallbacks.
MPYLIB = os.environ.get("DEVICEFLOW_MPYLIB", "")
ENV = dict(os.environ, MICROPYPATH="lib:firmware:boards:.frozen" + (":" + MPYLIB if MPYLIB else ""))


def parse_event(line):
    """`event=NAME k=v k="quoted v"` -> dict, or None for anything else."""
    if not line.startswith("event="):
        return None
    out = {}
    for part in shlex.split(line):
        key, _, value = part.partition("=")
        out[key] = value
    return out


class Device:
    def __init__(self, tmpdir, stub=None, **overrides):
        self.dir = str(tmpdir)
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.state, exist_ok=True)
        self.config_path = os.path.join(self.dir, "config.json")
        cfg = {}
        if stub is not None:
            cfg = {"issuer": stub.issuer, "client_id": "demo-device-client",
                   "audience": "https://api.example.com/", "api_url": stub.url + "/api/hello",
                   "ca_file": stub.ca_pem, "provider": "auth0"}
        cfg.update({"board": "unix", "state_dir": self.state, "seed": 1, "api_spread_s": 0})
        cfg.update(overrides)
        self.config = cfg
        self.write_config()
        self.proc = None
        self.lines = []
        self.screen_text = ""

    def write_config(self, raw=None):
        with open(self.config_path, "w") as f:
            f.write(raw if raw is not None else json.dumps(self.config))

    def command(self, args, heapsize=None, mpy_tree=None, micropython=MICROPYTHON):
        """(argv, environment) of a run; a subclass may run the firmware another way.
        mpy_tree: run the compiled firmware (tools/build_mpy.py --out DIR) instead of the sources.
        micropython: the port to run (PORT32_FROZEN: its frozen modules replace the sources)."""
        cmd = [micropython]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        main = os.path.join(mpy_tree, "main.py") if mpy_tree else "firmware/main.py"
        cmd += [main, "--config", self.config_path] + list(args)
        env = dict(ENV, MICROPYPATH=os.path.join(mpy_tree, "lib") + ":.frozen") if mpy_tree else ENV
        if micropython == PORT32_FROZEN:
            env = dict(ENV, MICROPYPATH=".frozen")
        return cmd, env

    def start(self, *args, **options):
        """Start the firmware (options: those of command()); its log is read as it comes."""
        cmd, env = self.command(args, **options)
        self.lines = []
        self._stderr = open(os.path.join(self.dir, "screen.txt"), "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait(self, timeout=60):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("device did not finish in %ss; log:\n%s" % (timeout, self.log_text()))
        self._reader.join(5)
        self._stderr.close()
        with open(os.path.join(self.dir, "screen.txt")) as f:
            self.screen_text = f.read()
        return rc

    def run(self, *args, timeout=60, heapsize=None, mpy_tree=None, micropython=MICROPYTHON):
        self.start(*args, heapsize=heapsize, mpy_tree=mpy_tree, micropython=micropython)
        return self.wait(timeout)

    def wait_for(self, event, timeout=30, **fields):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ev in self.events(event):
                if all(ev.get(k) == str(v) for k, v in fields.items()):
                    return ev
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError("no event=%s %s; log:\n%s" % (event, fields, self.log_text()))

    def wait_for_count(self, event, n, timeout=30):
        """Wait until the log holds at least `n` events named `event`; returns them all."""
        deadline = time.time() + timeout
        while len(self.events(event)) < n and time.time() < deadline:
            time.sleep(0.1)
        found = self.events(event)
        assert len(found) >= n, "%d of %d event=%s; log:\n%s" % (len(found), n, event, self.log_text())
        return found

    def quit(self, timeout=20):
        """Press the quit button and wait for the firmware to end; returns its exit code."""
        self.press("quit")
        return self.wait(timeout)

    def press(self, name):
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def events(self, name=None):
        out = []
        for line in list(self.lines):
            ev = parse_event(line)
            if ev and (name is None or ev["event"] == name):
                out.append(ev)
        return out

    def log_text(self):
        return "\n".join(self.lines)


def screen_frames(text, height=64):
    """Split the Unix board's terminal output into frames of pixel rows (light=True)."""
    import simulator

    lines = [l for l in text.split("\n") if l]
    per = (height + 1) // 2
    return [simulator.parse_half_blocks("\n".join(lines[i:i + per]))[:height]
            for i in range(0, len(lines) - per + 1, per)]


def decode_qr(rows, factor=4):
    import simulator
    import zxingcpp

    img = simulator.to_image(len(rows[0]), len(rows), rows, factor)
    return [r.text for r in zxingcpp.read_barcodes(img)]
