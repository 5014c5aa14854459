"""Start, drive and stop the stub authorization server (tools/stub_server.py) from tests (CPython).

    from stubctl import start_stub
    with start_stub(tmpdir, interval=1, approve_after=0) as stub:
        stub.url, stub.issuer, stub.ca_pem, stub.ca_der     # ca_* are file paths (None without TLS)
        status, body = stub.post_form("/oauth/device/code", client_id=stub.client_id, scope="openid")
        stub.approve(body["user_code"])
        stub.requests()                                     # what the server received

Settings (keyword arguments) are those of GET /_stub/config: approve_after, deny_after, interval,
expires_in, access_ttl, id_ttl, rotation, client_id, audience, user, force. They are the startup
settings, so `reset()` comes back to them. Control calls go to the stub's separate plain-HTTP
control port: they are not in the request log or the stats and work whatever `leaf` is served.
"""
import http.client
import json
import os
import selectors
import ssl
import subprocess
import sys
import time
from urllib.parse import urlencode, urlsplit

import procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "tools", "stub_server.py")
READY_TIMEOUT = 30


def _python():
    venv = os.path.join(ROOT, ".venv", "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


class Stub:
    def __init__(self, proc, url, ca_pem, control_url, log_path):
        self.proc = proc
        self.url = url
        self.issuer = url + "/"
        self.ca_pem = ca_pem
        self.ca_der = ca_pem[:-4] + ".der" if ca_pem else None
        self.log_path = log_path
        parts = urlsplit(url)
        self.host, self.port, self.tls = parts.hostname, parts.port, parts.scheme == "https"
        self.control_url = control_url   # plain HTTP on 127.0.0.1, /_stub/* only
        self.client_id = self.config()["client_id"]

    # ---- plain HTTP helpers (verified TLS, one connection per call) ----------------------------

    def ssl_context(self):
        """A CPython client context that trusts only the stub's test CA (hostname checked)."""
        return ssl.create_default_context(cafile=self.ca_pem) if self.ca_pem else None

    def request(self, method, path, body=None, headers=None):
        """-> (status, headers dict with lower-case names, body bytes)."""
        if self.tls:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=15,
                                               context=self.ssl_context())
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def post_form(self, path, **fields):
        """POST a form; -> (status, parsed JSON body or None)."""
        status, _, body = self.request("POST", path, urlencode(fields),
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        return status, _json(body)

    def get_json(self, path, token=None):
        """GET with an optional bearer token; -> (status, parsed JSON body or None)."""
        status, _, body = self.request("GET", path, None,
                                       {"Authorization": "Bearer " + token} if token else {})
        return status, _json(body)

    def _control(self, method, path, obj=None):
        body = json.dumps(obj) if obj is not None else None
        c = urlsplit(self.control_url)
        conn = http.client.HTTPConnection(c.hostname, c.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            status, raw = r.status, r.read()
        finally:
            conn.close()
        data = _json(raw)
        if status != 200 and path != "/_stub/decide":
            raise RuntimeError("stub %s %s -> %d %s" % (method, path, status, raw[:200]))
        return status, data

    # ---- control ----------------------------------------------------------------------------

    def tenant_logs(self):
        """Auth0 tenant log events the stub recorded: [{date, type, client_id, description}]."""
        return self._control("GET", "/_stub/logs")[1]

    def configure(self, **settings):
        """Merge settings into the running stub; returns the full settings."""
        return self._control("POST", "/_stub/config", settings)[1]

    def config(self):
        return self._control("GET", "/_stub/config")[1]

    def requests(self):
        """Every non-control request received, oldest first, as dicts: method, path, query,
        fields (form/JSON field names, sorted), grant_type ("" when none), status (int; None when
        a forced drop sent nothing), error (the JSON "error" sent, or None), forced (bool),
        conn (connection id, counted from 1), time (Unix seconds)."""
        return self._control("GET", "/_stub/requests")[1]

    def token_posts(self, grant=""):
        """The requests to the token endpoint whose grant_type ends with `grant` (all of them
        when it is ""; "device_code" for the polls, "refresh_token" for the refreshes)."""
        return [r for r in self.requests() if r["path"] == "/oauth/token" and r["grant_type"].endswith(grant)]

    def poll_gaps_after(self, error):
        """The one poll answered with OAuth `error` (asserted: exactly one), and the seconds
        between it and each later poll."""
        polls = self.token_posts("device_code")
        hit = [i for i, r in enumerate(polls) if r["error"] == error]
        assert len(hit) == 1, polls
        after = polls[hit[0]:]
        return after[0], [b["time"] - a["time"] for a, b in zip(after, after[1:])]

    def wait_for_error(self, error, timeout=20):
        """Wait until some request was answered with OAuth `error`; True if it was in time."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(r.get("error") == error for r in self.requests()):
                return True
            time.sleep(0.1)
        return False

    def stats(self):
        """{"connections", "tls_handshakes", "tls_failures", "requests"} since start/reset."""
        return self._control("GET", "/_stub/stats")[1]

    def stats_once(self, key, at_least, timeout=5):
        """stats() as soon as stats()[key] >= at_least (or at the timeout): the server counts a
        connection in its own thread, which may still be at it when the client has given up."""
        deadline = time.time() + timeout
        stats = self.stats()
        while stats[key] < at_least and time.time() < deadline:
            time.sleep(0.05)
            stats = self.stats()
        return stats

    def reset(self):
        """Forget codes, grants, the log and the stats; settings go back to the startup ones."""
        self._control("POST", "/_stub/reset")

    def reset_grants(self):
        """Revoke every grant so far: their refresh tokens now answer 403 invalid_grant (access
        tokens stay valid until they expire, as on Auth0). Returns how many grants were live."""
        return self._control("POST", "/_stub/revoke_grants")[1]["revoked"]

    def approve(self, user_code):
        """The user confirms the code; raises if it is not pending (unknown, expired, decided)."""
        self._decide(user_code, True)

    def deny(self, user_code):
        self._decide(user_code, False)

    def _decide(self, user_code, approve):
        status, _ = self._control("POST", "/_stub/decide", {"user_code": user_code, "approve": approve})
        if status != 200:
            raise RuntimeError("stub: user code is not pending")

    # ---- lifetime ------------------------------------------------------------------------------

    def stop(self):
        procs.end(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _json(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _tail(path, n=2000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def start_stub(tmpdir, tls=True, leaf="server", **settings):
    """Start tools/stub_server.py with state in `tmpdir` (certs in tmpdir/certs); wait until ready."""
    tmpdir = str(tmpdir)
    os.makedirs(tmpdir, exist_ok=True)
    cmd = [_python(), SERVER, "--state-dir", tmpdir, "--config", json.dumps(settings)]
    if tls:
        cmd += ["--tls", "--leaf", leaf]
    log_path = os.path.join(tmpdir, "stub-stderr.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log,
                                stdin=subprocess.DEVNULL)
    line = b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise RuntimeError("stub server not ready after %d s" % READY_TIMEOUT)
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                raise RuntimeError("stub server exited (%s)" % proc.wait(5))
            line += chunk
        words = dict(w.split("=", 1) for w in line.decode().split()[2:])
        if not line.startswith(b"STUB READY ") or "url" not in words or "control" not in words:
            raise RuntimeError("stub server said %r" % line)
    except Exception as e:
        proc.kill()
        proc.wait(5)
        raise RuntimeError("%s; its stderr:\n%s" % (e, _tail(log_path))) from None
    finally:
        sel.close()
    ca = words.get("ca")
    try:
        return Stub(proc, words["url"], None if ca in (None, "none") else ca, words["control"],
                    log_path)
    except Exception:
        proc.kill()
        proc.wait(5)
        raise
