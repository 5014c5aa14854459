"""`make run`: the firmware on the MicroPython Unix port, live in this terminal.

    make run                          # bundled stub server over verified HTTPS, a simulated user approves
    make run MANUAL=1                 # you approve in a browser at the URL on screen
    make run ONCE=1                   # exit 0 after the first API call, non-zero on an error
    make run CONFIG=my-tenant.json    # the same firmware against your real tenant

With the stub, the run signs in, stores the tokens, calls the API, refreshes,
calls the API again and exits 0 with a summary and the stub's Auth0 tenant log
events (fdeaz, fdeac, fdecc, fede, sede) as a short table. State (tokens, caches) lives in
var/demo/state; it is wiped first so every demo shows the whole flow.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


def run_firmware(config_path, flags):
    env = dict(os.environ, MICROPYPATH="lib:firmware:boards:.frozen")
    cmd = [MICROPYTHON, "firmware/main.py", "--config", config_path] + flags
    return subprocess.call(cmd, cwd=ROOT, env=env)


def real_tenant(config_path, once):
    with open(config_path) as f:
        cfg = json.load(f)
    cfg.setdefault("board", "unix")
    state = cfg.setdefault("state_dir", os.path.join(ROOT, "var", "tenant"))
    os.makedirs(state, exist_ok=True)
    path = os.path.join(ROOT, "var", "tenant-config.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return run_firmware(path, ["--once"] if once else [])


def demo(manual, once):
    from stubctl import start_stub

    base = os.path.join(ROOT, "var", "demo")
    shutil.rmtree(os.path.join(base, "state"), ignore_errors=True)
    os.makedirs(os.path.join(base, "state"))
    settings = {"interval": 2, "approve_after": None if manual else 5, "access_ttl": 3600}
    with start_stub(os.path.join(base, "stub"), tls=True, **settings) as stub:
        cfg = {"issuer": stub.issuer, "client_id": "demo-device-client", "provider": "auth0",
               "audience": "https://api.example.com/", "api_url": stub.url + "/api/hello",
               "ca_file": stub.ca_pem, "board": "unix", "state_dir": os.path.join(base, "state"),
               "api_spread_s": 0}
        path = os.path.join(base, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
        who = "you: open the URL on screen in a browser" if manual else "a simulated user, after 5 s"
        print("stub server %s (CA %s); approval by %s" % (stub.url, stub.ca_pem, who), file=sys.stderr)
        rc = run_firmware(path, ["--once"] if once else ["--demo"])
        reqs = stub.requests()
        logs = stub.tenant_logs()
    polls = sum(1 for r in reqs if r.get("grant_type", "").endswith("device_code"))
    print("\nsummary: exit %d, %d requests to the server, %d token polls; tokens in %s"
          % (rc, len(reqs), polls, os.path.join(base, "state")), file=sys.stderr)
    print(tenant_log_table(logs), file=sys.stderr)
    return rc


def tenant_log_table(logs, limit=12):
    """The stub's Auth0 tenant log events as a short table (the newest `limit`), as an admin
    would see them under Monitoring > Logs in the Auth0 dashboard."""
    lines = ["tenant logs (Auth0 event codes):"]
    if not logs:
        return lines[0] + " none"
    shown = logs[-limit:]
    if len(logs) > len(shown):
        lines.append("  ... %d older" % (len(logs) - len(shown)))
    for e in shown:
        lines.append("  %s  %-5s  %-20s  %s" % (e["date"][11:19], e["type"], (e["client_id"] or "-")[:20],
                                               e["description"][:60]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="your own config.json (a real tenant)")
    ap.add_argument("--manual", action="store_true", help="approve yourself in a browser")
    ap.add_argument("--once", action="store_true", help="exit after the first API call")
    a = ap.parse_args()
    if a.config:
        return real_tenant(a.config, a.once)
    return demo(a.manual, a.once)


if __name__ == "__main__":
    sys.exit(main())
