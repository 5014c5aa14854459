"""The playground's device: the firmware on the MicroPython Unix port as a child process, its
`event=` log (stdout), its buttons (stdin) and its screen: the raw frames boards/unix.py writes to
the FIFO named by DEVICEFLOW_FRAMES (header: lib/deviceflow/term_display.py)."""
import os
import select
import subprocess
import threading
from urllib.parse import urlsplit

import procs  # tests/procs.py: tools/playground.py puts tests/ on the path

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
MP_PATH = "lib:firmware:boards:.frozen"
DEFAULT_DISPLAY = "oled_128x64"
FRAME_MAGIC = b"DF"


def user_link(event, stub_url=None):
    """Where the user goes for a shown code (the QR's link): with the stub, the same path on this
    page's own origin (proxied to the stub); with a real tenant, the tenant's own page."""
    uri = event.get("verification_uri_complete") or event.get("verification_uri")
    if not uri:
        return None
    if stub_url is None:
        return uri if uri.startswith("https://") else None
    parts, stub = urlsplit(uri), urlsplit(stub_url)
    if (parts.scheme, parts.hostname, parts.port) != (stub.scheme, stub.hostname, stub.port):
        return None
    if not parts.path.startswith("/activate"):
        return None
    return parts.path + ("?" + parts.query if parts.query else "")


def parse_frames(buf):
    """Complete frames at the front of `buf` (a bytearray, consumed): [(w, h, depth, pixels)].
    The header is boards/unix.py's (lib/deviceflow/term_display.py). Raises ValueError on junk."""
    out = []
    while len(buf) >= 8:
        if buf[:2] != FRAME_MAGIC:
            raise ValueError("not a frame header")
        w, h, depth = buf[2] | buf[3] << 8, buf[4] | buf[5] << 8, buf[6]
        n = ((w + 7) >> 3) * h if depth == 1 else w * h * 2
        if len(buf) < 8 + n:
            break
        out.append((w, h, depth, bytes(buf[8:8 + n])))
        del buf[:8 + n]
    return out


class Firmware:
    """One firmware process at a time; its log goes to the hub, its frames too."""

    def __init__(self, hub, config_path, work_dir, stub_url=None):
        self.hub = hub
        self.config_path = config_path
        self.work_dir = work_dir
        self.stub_url = stub_url
        self.proc = None
        self.lock = threading.Lock()
        self.runs = 0

    def start(self, display):
        with self.lock:
            self._stop()
            self.runs += 1
            fifo = os.path.join(self.work_dir, "frames-%d.fifo" % self.runs)
            if os.path.exists(fifo):
                os.unlink(fifo)
            os.mkfifo(fifo, 0o600)
            # Read-write: the open never blocks and there is always a writer, so no EOF between
            # the firmware's frames; the reader thread ends on its stop flag.
            fd = os.open(fifo, os.O_RDWR)
            stop = threading.Event()
            env = dict(os.environ, MICROPYPATH=MP_PATH, DEVICEFLOW_DISPLAY=display,
                       DEVICEFLOW_FRAMES=fifo)
            proc = subprocess.Popen([MICROPYTHON, "firmware/main.py", "--config", self.config_path],
                                    cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            self.proc, self.stop_flag, self.fifo = proc, stop, fifo
            threading.Thread(target=self._read_frames, args=(fd, stop), daemon=True).start()
            threading.Thread(target=self._read_log, args=(proc,), daemon=True).start()
            threading.Thread(target=self._read_stderr, args=(proc,), daemon=True).start()
            self.hub.update(display=display, device_running=True, screen=None, user_code=None,
                            user_link=None)
            self.hub.log("playground", "device started (display %s)" % display)

    def _read_frames(self, fd, stop):
        buf = bytearray()
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.3)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            try:
                frames = parse_frames(buf)
            except ValueError:
                self.hub.log("playground", "unreadable frame data; waiting for the next frame")
                buf = bytearray()
                continue
            if frames:
                self.hub.set_frame(*frames[-1])   # a page only needs the newest picture
        os.close(fd)

    def _read_log(self, proc):
        from device import parse_event

        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.hub.log("device", line)
            ev = parse_event(line)
            if not ev:
                continue
            if ev["event"] == "show_code":
                self.hub.update(user_code=ev.get("user_code"), user_link=user_link(ev, self.stub_url))
            elif ev["event"] == "screen":
                changes = {"screen": ev.get("kind")}
                if ev.get("kind") != "code":
                    changes["user_code"] = None
                self.hub.update(**changes)
        rc = proc.wait()
        if proc is self.proc:
            self.hub.update(device_running=False)
            self.hub.log("playground", "device stopped (exit code %s)" % rc)

    def _read_stderr(self, proc):
        # The terminal picture (half blocks in ANSI colours) comes here too: pass on only the
        # other lines (a crash's traceback).
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line and "\x1b[" not in line:
                self.hub.log("device", line)

    def press(self, name):
        with self.lock:
            proc = self.proc
            if proc is None or proc.poll() is not None:
                return False
            try:
                proc.stdin.write(name.encode() + b"\n")
                proc.stdin.flush()
            except OSError:
                return False
            return True

    def _stop(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        procs.end(proc)
        for f in (proc.stdin,):
            try:
                f.close()
            except OSError:
                pass
        self.stop_flag.set()
        try:
            os.unlink(self.fifo)
        except OSError:
            pass

    def stop(self):
        with self.lock:
            self._stop()
