"""An Auth0-compatible stub authorization server for the device flow (RFC 8628), for tests and demos.

    python tools/stub_server.py [--host 127.0.0.1] [--port 0] [--tls] [--leaf server]
        [--state-dir var/stub] [--approve-after S] [--deny-after S] [--interval N]
        [--expires-in N] [--access-ttl N] [--no-rotation] [--user-code-charset base20|digits]
        [--user-code-mask "****-****"] [--config JSON]

When ready it prints one line to stdout:
    STUB READY url=https://localhost:PORT ca=/abs/path/ca.pem control=http://127.0.0.1:CPORT
    STUB READY url=http://127.0.0.1:PORT ca=none control=http://127.0.0.1:CPORT   (without --tls)
The issuer is url + "/". A person activates a device at <url>/activate. Tests and demos script the
user and inject faults at runtime: GET/POST /_stub/config, GET /_stub/requests, GET /_stub/stats,
GET /_stub/logs (Auth0 tenant log events: fdeaz, fdeac, fdecc, fede, sede), POST /_stub/reset,
POST /_stub/decide, POST /_stub/expire_codes (every pending code expires now), on the main url or
on the control url (plain HTTP, not counted in the stats, works whatever --leaf is served). Control
url only: GET /_stub/secrets
(every device code and token issued, for leak scans) and POST /_stub/listen {"up": false|true}
(take the main port down: connections refused, open ones cut; then back on the same port, with
"leaf": NAME to serve another certificate there, as an impostor would).
Logs go to stderr, one line per request, with no secrets.

Faults (the `force` setting), each for the next `count` requests whose path starts with one of
`paths`: {"status", "body", "content_type", "headers"} a canned reply; "delay": S first; "drop":
close without answering; "body_size": N repeat `body` to N bytes; "cut": N send the head and only
N body bytes, then close; "reset": then abort with a TCP RST; "drip": S one byte every S seconds;
"no_length": no Content-Length, the body ends at close.
"""
import argparse
import json
import os
import ssl
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from certs import write_all  # noqa: E402
from stub.keys import SigningKeys  # noqa: E402
from stub.server import Listener, StubServer, log  # noqa: E402
from stub import usercode  # noqa: E402
from stub.state import DEFAULTS, Authority  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="Auth0-compatible device-flow stub server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with the test CA's leaf")
    p.add_argument("--leaf", default="server",
                   help="server, wronghost, expired, selfsigned or untrusted (see tools/certs.py)")
    p.add_argument("--state-dir", default=os.path.join(os.path.dirname(HERE), "var", "stub"))
    p.add_argument("--approve-after", type=float, help="the scripted user approves after S s")
    p.add_argument("--deny-after", type=float, help="the scripted user denies after S s")
    p.add_argument("--interval", type=int)
    p.add_argument("--expires-in", type=int)
    p.add_argument("--access-ttl", type=int)
    p.add_argument("--no-rotation", action="store_true", help="keep refresh tokens unrotated")
    p.add_argument("--user-code-charset", help="Auth0's User Code Character Set: base20 or digits")
    p.add_argument("--user-code-mask", help="Auth0's User Code Mask: '*' a character, '-' or ' ' between")
    p.add_argument("--config", default="{}", help="JSON object of any settings (see /_stub/config)")
    return p.parse_args(argv)


def settings_from(args):
    settings = json.loads(args.config)
    for name in ("approve_after", "deny_after", "interval", "expires_in", "access_ttl",
                 "user_code_charset", "user_code_mask"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.no_rotation:
        settings["rotation"] = False
    return settings


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    ctx = ca = context_for = None
    if args.tls:
        certs = write_all(os.path.join(state_dir, "certs"))

        def context_for(leaf):
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            c.load_cert_chain(os.path.join(certs, leaf + ".pem"), os.path.join(certs, leaf + ".key"))
            return c

        ctx = context_for(args.leaf)
        ca = os.path.join(certs, "ca.pem")
    settings = settings_from(args)
    unknown = sorted(k for k in settings if k not in DEFAULTS)
    if unknown:
        sys.exit("stub: unknown settings: " + ", ".join(unknown))
    try:
        usercode.check(settings.get("user_code_charset", DEFAULTS["user_code_charset"]),
                       settings.get("user_code_mask", DEFAULTS["user_code_mask"]))
    except ValueError as e:
        sys.exit("stub: " + str(e))
    keys = SigningKeys(state_dir)
    server = StubServer((args.host, args.port), None, ctx)
    port = server.server_address[1]
    url = "https://localhost:%d" % port if args.tls else "http://127.0.0.1:%d" % port
    server.authority = Authority(keys, url, settings)
    listener = server.authority.listener = Listener(server, context_for)
    control = StubServer(("127.0.0.1", 0), server.authority, control=True)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    control_url = "http://127.0.0.1:%d" % control.server_address[1]
    log("listening on %s (issuer %s/)" % (url, url))
    sys.stdout.write("STUB READY url=%s ca=%s control=%s\n" % (url, ca or "none", control_url))
    sys.stdout.flush()
    listener.start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        listener.down()


if __name__ == "__main__":
    main()
