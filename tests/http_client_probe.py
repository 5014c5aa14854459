# The transport as on a device: tests/test_http.py runs this under the MicroPython Unix port
# (MICROPYPATH=lib) and drives it with one JSON command per stdin line, one JSON result per
# stdout line:
#   {"op": "new", "kw": {...Transport kwargs..., "cadata_file": path}}
#   {"op": "request", "method": "GET", "url": "...", "headers": {...}, "body": "text" or null}
#   {"op": "close"}
# A request answers {"status", "headers", "body"} or {"error", "reason", "detail"}, both with
# the transport's "handshakes" and "connections" counters.
import sys
import json

from deviceflow.http import Transport
from deviceflow.errors import DeviceFlowError


def run(transport, cmd):
    op = cmd["op"]
    if op == "new":
        kw = dict(cmd.get("kw") or {})
        path = kw.pop("cadata_file", None)
        if path:
            with open(path, "rb") as f:
                kw["cadata"] = f.read()
        return Transport(**kw), {"ok": True}
    if op == "close":
        transport.close()
        return transport, {"ok": True}
    body = cmd.get("body")
    out = {}
    try:
        r = transport.request(cmd["method"], cmd["url"], cmd.get("headers"),
                              None if body is None else body.encode())
        out = {"status": r.status, "headers": r.headers, "body": r.body.decode()}
    except DeviceFlowError as e:
        out = {"error": type(e).__name__, "reason": e.reason, "detail": e.detail, "str": str(e)}
    out["handshakes"] = transport.handshakes
    out["connections"] = transport.connections
    return transport, out


def main():
    transport = None
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        transport, out = run(transport, json.loads(line))
        sys.stdout.write(json.dumps(out) + "\n")
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()


if __name__ == "__main__":
    main()
