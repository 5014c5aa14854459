"""Start and stop node oidc-provider (tools/oidc_provider/server.js) from tests (CPython).

    from oidcctl import start_provider, ProviderError
    with start_provider(short_ttl=6) as op:
        op.issuer                 # http://127.0.0.1:<port>
        op.client_id              # 'conformance-device' (device code TTL `ttl`, default 600 s)
        op.short_client_id        # 'conformance-device-short' (device code TTL `short_ttl`)
        op.log()                  # what the provider wrote to stdout/stderr so far

start_provider raises ProviderError (never skips) when node, the installed package
(`npm ci --prefix tools/oidc_provider`) or the READY line is missing: a conformance test that
cannot reach its provider has failed.
"""
import os
import queue
import shutil
import subprocess
import tempfile
import threading

import procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROVIDER_DIR = os.path.join(ROOT, "tools", "oidc_provider")
SERVER = os.path.join(PROVIDER_DIR, "server.js")
READY_TIMEOUT = 30
CLIENT_ID = "conformance-device"
SHORT_CLIENT_ID = "conformance-device-short"


class ProviderError(Exception):
    pass


class Provider:
    client_id = CLIENT_ID  # device codes live `ttl` seconds
    short_client_id = SHORT_CLIENT_ID  # device codes live `short_ttl` seconds

    def __init__(self, proc, issuer, log_path):
        self.proc, self.issuer, self.log_path = proc, issuer, log_path

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        procs.end(self.proc)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        try:
            os.remove(self.log_path)
        except OSError:
            pass


def start_provider(ttl=600, short_ttl=6, port=0):
    """Start server.js on 127.0.0.1 (port 0 = any free port) and wait for its READY line."""
    node = shutil.which("node")
    if node is None:
        raise ProviderError("node is not on PATH (node 18+ is needed for the conformance test)")
    if not os.path.isdir(os.path.join(PROVIDER_DIR, "node_modules", "oidc-provider")):
        raise ProviderError("oidc-provider is not installed: run `npm ci --prefix tools/oidc_provider`")
    env = dict(os.environ, DEVICE_CODE_TTL=str(ttl), SHORT_DEVICE_CODE_TTL=str(short_ttl))
    env.pop("DEBUG", None)
    fd, log_path = tempfile.mkstemp(prefix="oidc-provider-", suffix=".log")
    log = os.fdopen(fd, "w")
    proc = subprocess.Popen(
        [node, SERVER, str(port)],
        cwd=PROVIDER_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    issuer = _wait_ready(proc, log_path)
    if issuer is None:
        proc.kill()
        proc.wait(timeout=5)
        with open(log_path, errors="replace") as f:
            err = f.read()
        os.remove(log_path)
        raise ProviderError("oidc-provider did not start: " + err[-2000:])
    return Provider(proc, issuer, log_path)


def _wait_ready(proc, log_path):
    """The issuer from the READY line, or None; stdout keeps being copied to the log after it."""
    ready = queue.Queue()

    def read():
        with open(log_path, "a") as out:
            for line in proc.stdout:
                if line.startswith("READY issuer="):
                    ready.put(line.strip().split("=", 1)[1])
                out.write(line)
                out.flush()
        ready.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        return ready.get(timeout=READY_TIMEOUT)
    except queue.Empty:
        return None
