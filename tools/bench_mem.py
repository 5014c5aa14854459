"""Memory and size on the MicroPython Unix port: smallest heap for the whole sign-in, smallest heap
for a refresh wake (the peak live heap of a token refresh), RS256 verification time, and the .mpy
size of the library and the app.

    .venv/bin/python tools/bench_mem.py

The firmware runs compiled to bytecode .mpy (as on a board) with `micropython -X heapsize=N`
against the stub server over verified HTTPS; N is found by bisection (1 KiB steps). The sign-in
bisection is tools/heap_budget.py's. On the Unix port mbedTLS allocates from the MicroPython heap,
so N includes the TLS connection's buffers; on an ESP32 they come from the IDF heap instead.
run() returns rows for tools/bench.py.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import build_mpy  # noqa: E402
import heap_budget  # noqa: E402
from device import Device, MICROPYTHON  # noqa: E402
from stubctl import start_stub  # noqa: E402

HEAP_TARGET_KIB = 56  # the ESP32's GC heap at boot

RS256 = r"""
import sys, time
sys.path.insert(0, "tests/unit")
import jwt_fixtures as F
from deviceflow import jwt, rsa
keys = jwt.JWKS.parse(F.JWKS_JSON)
tok = F.TOKENS["valid"]
def med(fn, n):
    fn()
    ts = []
    for i in range(n):
        t = time.ticks_us()
        fn()
        ts.append(time.ticks_diff(time.ticks_us(), t))
    ts.sort()
    return ts[len(ts) // 2]
a = med(lambda: jwt.validate_id_token(tok, keys, F.ISSUER, F.CLIENT_ID, F.NOW), 60)
b = med(lambda: rsa.verify_pkcs1_sha256(F.K1_N, F.K1_E, F.SIG_K1, F.MSG_K1), 60)
print(a, b, rsa.key_size_bytes(F.K1_N) * 8)
"""


def _cpython_rs256():
    """The same id_token checked by PyJWT + cryptography (OpenSSL) on CPython, as the peer."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))
    import jwt as pyjwt
    import jwt_fixtures as F

    jwk = pyjwt.PyJWKSet.from_json(F.JWKS_JSON)["k1"]
    tok = F.TOKENS["valid"]

    def once():
        pyjwt.decode(tok, jwk.key, algorithms=["RS256"], audience=F.CLIENT_ID, issuer=F.ISSUER,
                     options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})

    once()
    ts = []
    for _ in range(200):
        t = time.perf_counter()
        once()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2] * 1e6


def rs256():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(RS256)
    try:
        p = subprocess.run([MICROPYTHON, f.name], cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, MICROPYPATH="lib"))
    finally:
        os.unlink(f.name)
    if p.returncode:
        raise SystemExit("RS256 bench failed:\n" + p.stderr)
    full, bare, bits = (int(x) for x in p.stdout.split())
    return {"validate_us": full, "verify_us": bare, "bits": bits, "cpython_us": _cpython_rs256()}


def sizes(tmp):
    """(library .mpy bytes, app .mpy bytes incl. main.py source, boards .mpy bytes, arch)."""
    arch = "xtensawin"
    rows, failures = build_mpy.build(os.path.join(tmp, "size"), arch=arch, report=lambda *a: None)
    if failures:
        raise SystemExit("mpy-cross failed: %s" % failures)
    app = set(f[:-3] for f in os.listdir(os.path.join(ROOT, "firmware")) if f.endswith(".py"))
    lib = appb = boards = 0
    for dev, _src, out in rows:
        name = os.path.basename(dev).rsplit(".", 1)[0]
        if dev.startswith("lib/deviceflow/"):
            lib += out
        elif name in app:
            appb += out
        else:
            boards += out
    return lib, appb, boards, arch


def _fits_refresh(tmp, stub, tree, snapshot, kib):
    d = os.path.join(tmp, "refresh-%d" % kib)
    dev = Device(d, stub, refresh_margin_s=0, refresh_window_s=0, refresh_spread_s=0)
    shutil.rmtree(dev.state)
    shutil.copytree(snapshot, dev.state)
    try:
        rc = dev.run("--once", timeout=60, heapsize="%dK" % kib, mpy_tree=tree)
    except AssertionError:
        return False
    return rc == 0 and bool(dev.events("refreshed")) and bool(dev.events("api_ok"))


def _bisect(fits, lo, hi):
    if not fits(hi):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
    return hi


def heaps(tmp):
    """(smallest KiB for the whole sign-in, smallest KiB for a refresh wake, code bytes, how)."""
    tree = os.path.join(tmp, "mpy")
    rows, failures = build_mpy.build(tree, arch=None, report=lambda *a: None)
    if failures:
        raise SystemExit("mpy-cross failed: %s" % failures)
    with start_stub(os.path.join(tmp, "stub"), tls=True, interval=1, approve_after=0) as stub:
        flow = heap_budget.bisect(tmp, stub, tree, 16, 400, 1, report=lambda *a: None)
        code = heap_budget.code_footprint(tree)
        how = "tools/heap_budget.py bisection"
        # A refresh wake: tokens in flash, access token expired, rotation off so every probe
        # can use the same refresh token from the same snapshot of the flash.
        stub.reset()
        stub.configure(access_ttl=2, rotation=False)
        dev = Device(os.path.join(tmp, "refresh-first"), stub)
        if dev.run("--once", timeout=60) != 0:
            raise SystemExit("sign-in for the refresh bench failed:\n" + dev.log_text())
        time.sleep(2.5)
        refresh = _bisect(lambda k: _fits_refresh(tmp, stub, tree, dev.state, k), 8, 400)
        tls = tls_heap(tmp, stub, tree)
    return flow, refresh, code, tls, how


TLS_PROBE = """
import gc
from deviceflow.http import Transport
gc.collect()
print("import", gc.mem_alloc())
t = Transport(ca_file=%r)
r = t.request("GET", %r, {"Accept": "application/json"})
print("ok", r.status)
"""


def tls_heap(tmp, stub, tree):
    """KiB the verified TLS connection itself needs on the Unix port (smallest heap for one
    HTTPS request minus the imported code): on an ESP32 mbedTLS takes this from the IDF heap."""
    path = os.path.join(tmp, "tls_probe.py")
    with open(path, "w") as f:
        f.write(TLS_PROBE % (stub.ca_pem, stub.url + "/.well-known/openid-configuration"))
    env = dict(os.environ, MICROPYPATH=os.path.join(tree, "lib"))

    def fits(kib):
        p = subprocess.run([MICROPYTHON, "-X", "heapsize=%dK" % kib, path], env=env,
                           capture_output=True, text=True, timeout=60)
        return p.returncode == 0 and "ok 200" in p.stdout, p.stdout

    ok, out = fits(400)
    if not ok:
        return None
    code = int(out.split()[1])
    smallest = _bisect(lambda k: fits(k)[0], 4, 400)
    return smallest - code / 1024.0


def run():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        flow, refresh, code, tls, how = heaps(tmp)
        lib, app, boards, arch = sizes(tmp)
    r = rs256()
    ck = code / 1024.0

    def work(k):
        return None if k is None else k - ck

    rows.append({"bench": "smallest -X heapsize, whole sign-in (.mpy, 128x64 QR)",
                 "ours": "%s KiB" % flow, "peer": "-", "target": "- (code loaded in RAM)", "met": None,
                 "note": how})
    rows.append({"bench": "  of which code+qstrs after `import main` (frozen on a board)",
                 "ours": "%.1f KiB" % ck, "peer": "-", "target": "-", "met": None})
    rows.append({"bench": "  of which one verified TLS connection (IDF heap on ESP32)",
                 "ours": "%.1f KiB" % tls if tls else "-", "peer": "-", "target": "-", "met": None})

    def gc_heap(k):
        return None if k is None or tls is None else k - ck - tls

    for name, k in (("  GC working heap of the sign-in (minus code and TLS)", flow),
                    ("peak GC heap of a refresh wake (minus code and TLS)", refresh)):
        w = gc_heap(k)
        rows.append({"bench": name, "ours": "%.1f KiB" % w if w is not None else "-", "peer": "-",
                     "target": "<= %d KiB" % HEAP_TARGET_KIB, "met": w is not None and w <= HEAP_TARGET_KIB})
    rows.append({"bench": ".mpy size, library + app (%s; boards %d B more)" % (arch, boards),
                 "ours": "%d B" % (lib + app), "peer": "-",
                 "target": "lib %d + app %d" % (lib, app), "met": None})
    rows.append({"bench": "RS256 id_token check, %d-bit key: median (verify alone)" % r["bits"],
                 "ours": "%.2f ms (%.2f)" % (r["validate_us"] / 1000.0, r["verify_us"] / 1000.0),
                 "peer": "%.3f ms" % (r["cpython_us"] / 1000.0),
                 "target": "peer: PyJWT+OpenSSL, CPython", "met": None})
    return rows, {"flow_kib": flow, "refresh_kib": refresh, "code_bytes": code, "tls_kib": tls, "lib": lib, "app": app, "boards": boards,
                  "rs256": r}


if __name__ == "__main__":
    from bench_rows import standalone

    standalone(run)
