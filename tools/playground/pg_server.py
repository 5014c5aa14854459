"""The playground's server side: the stub's log as lines for the page, the faults it can inject
(through the stub's control port) and the proxy to its activation page, for the user's frame."""
import http.client
import json
import threading
import time

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def describe_request(r, since_last_poll=None):
    """One line of the stub's request log (tools/stub/server.py: _dispatch), no secrets in it.
    A device-code poll says how long after the previous one it came (slow_down makes it wait)."""
    grant = (r.get("grant_type") or "").rsplit(":", 1)[-1]
    status = r.get("status")
    line = "%s %s%s -> %s" % (r.get("method"), r.get("path"), " grant=" + grant if grant else "",
                              status if status is not None else "dropped")
    if r.get("error"):
        line += " " + str(r["error"])
    if r.get("forced"):
        line += " (forced: %s)" % r.get("fault")
    if since_last_poll is not None:
        line += "  [%.1f s after the last poll]" % since_last_poll
    return line


def describe_log_entry(e):
    """A line of the stub's tenant log (/_stub/logs), whatever its entries hold."""
    if isinstance(e, str):
        return e
    if isinstance(e, dict):
        if "method" in e and "path" in e:
            return describe_request(e)
        return " ".join("%s=%s" % (k, e[k]) for k in sorted(e) if k not in ("time", "date"))
    return json.dumps(e)


class StubSide:
    FAULTS = ("slow_down", "outage", "expire_code", "revoke", "impostor", "clear")

    def __init__(self, hub, stub):
        self.hub = hub
        self.stub = stub
        self.lock = threading.Lock()
        self.timer = None
        self.stop_flag = threading.Event()
        self.ssl = stub.ssl_context()

    def start_log(self):
        threading.Thread(target=self._poll_log, daemon=True).start()

    def _poll_log(self):
        """Stream the stub's request log (every request, polls with their spacing) and, where the
        stub keeps one, its Auth0-style tenant log (fdeaz, fdeac, fdecc, fede, sede) beside it."""
        tenant = None   # whether the stub has a tenant log (asked once)
        shown = {"requests": 0, "logs": 0}
        last_poll = None
        while not self.stop_flag.wait(0.5):
            try:
                if tenant is None:
                    status, data = self.stub._control("GET", "/_stub/logs")
                    tenant = status == 200 and isinstance(data, list)
                    self.hub.update(server_log="request log + tenant log" if tenant else "request log")
                requests = self.stub._control("GET", "/_stub/requests")[1]
                logs = self.stub._control("GET", "/_stub/logs")[1] if tenant else []
            except (OSError, RuntimeError):   # no tenant log (404), or the stub is busy
                if tenant is None:
                    tenant = False
                    self.hub.update(server_log="request log")
                continue
            for kind, entries in (("requests", requests), ("logs", logs)):
                if not isinstance(entries, list):
                    continue
                if len(entries) < shown[kind]:
                    shown[kind] = 0   # the stub was reset, or trimmed its log
                for e in entries[shown[kind]:]:
                    if kind == "logs":
                        self.hub.log("server", "tenant log: " + describe_log_entry(e))
                        continue
                    gap = None
                    if isinstance(e, dict) and e.get("grant_type") == DEVICE_GRANT:
                        if last_poll is not None and isinstance(e.get("time"), (int, float)):
                            gap = e["time"] - last_poll
                        last_poll = e.get("time")
                    self.hub.log("server", describe_request(e, gap))
                shown[kind] = len(entries)

    def inject(self, kind, seconds=10):
        """One fault; returns a sentence for the log. Network faults end by themselves."""
        with self.lock:
            if kind == "slow_down":
                self.stub.configure(force={"status": 429, "content_type": "application/json",
                                           "body": '{"error":"slow_down","error_description":'
                                                   '"You are polling faster than allowed."}',
                                           "count": 1, "paths": ["/oauth/token"]})
                return "the next token request is answered slow_down (429)"
            if kind == "expire_code":
                n = self.stub._control("POST", "/_stub/expire_codes")[1]["expired"]
                return "%d pending code(s) expired now" % n
            if kind == "revoke":
                n = self.stub.reset_grants()
                # Revoking does not end access tokens already issued (as on Auth0); the next API
                # call is refused as if the access token had expired, so the device refreshes now.
                self.stub.configure(force={"status": 401, "content_type": "application/json",
                                           "body": '{"error":"invalid_token"}', "count": 1,
                                           "paths": ["/api/"],
                                           "headers": {"WWW-Authenticate": 'Bearer error="invalid_token"'}})
                return "%d grant(s) revoked; the next API call gets 401" % n
            if kind in ("outage", "impostor"):
                seconds = max(1, min(600, int(seconds)))
                self._cancel_timer()
                self._listen(False)
                if kind == "impostor":
                    self._listen(True, "untrusted")
                self.timer = threading.Timer(seconds, self._restore)
                self.timer.daemon = True
                self.timer.start()
                self.hub.update(fault=kind, fault_until=time.time() + seconds)
                if kind == "outage":
                    return "server down for %d s (connections refused)" % seconds
                return "an impostor's certificate on the server's address for %d s" % seconds
            if kind == "clear":
                self._cancel_timer()
                self._restore_locked()
                self.stub.configure(force=None)
                return "faults cleared"
        raise ValueError("unknown fault " + kind)

    def _listen(self, up, leaf=None):
        body = {"up": up}
        if leaf:
            body["leaf"] = leaf
        self.stub._control("POST", "/_stub/listen", body)

    def _cancel_timer(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _restore(self):
        with self.lock:
            self.timer = None
            self._restore_locked()
        self.hub.log("playground", "fault over: the real server is back")

    def _restore_locked(self):
        if self.hub.get("fault"):
            self._listen(False)
            self._listen(True)
        self.hub.update(fault=None, fault_until=None)

    def proxy(self, method, path, body, content_type):
        """The user's browser to the stub's activation page (the stub's TLS verified with its CA)."""
        conn = http.client.HTTPSConnection(self.stub.host, self.stub.port, timeout=15,
                                           context=self.ssl) if self.stub.tls else \
            http.client.HTTPConnection(self.stub.host, self.stub.port, timeout=15)
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type") or "text/html", r.read()
        finally:
            conn.close()

    def stop(self):
        self.stop_flag.set()
        self._cancel_timer()
