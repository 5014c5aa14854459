"""Memory and size, the ESP32 way: the smallest GC heap for the whole sign-in and for a refresh
wake on the 32-bit Unix port (tools/heap_budget.py), for each install path (.mpy files as
`make deploy` copies them, and frozen into the firmware), against their targets; the TLS
connection's own heap on the 64-bit port (on an ESP32 it comes from the IDF heap); RS256 time; the
.mpy size of the library and the app.

    .venv/bin/python tools/bench_mem.py

Also writes docs/footprint.json (the figures `make deploy` checks a board's heap against).
run() returns rows for tools/bench.py.
"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import build_mpy  # noqa: E402
import heap_budget  # noqa: E402
from device import MICROPYTHON  # noqa: E402
from stubctl import start_stub  # noqa: E402

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


def heaps(tmp):
    """{install: heap_budget.measure(...)} on the 32-bit port, plain HTTP; and the TLS heap."""
    out = {}
    for install in ("mpy", "frozen"):
        out[install] = heap_budget.measure(install, os.path.join(tmp, install), report=lambda *a: None,
                                           displays=heap_budget.FRAME_DISPLAYS if install == "mpy" else ())
    tree = heap_budget.build_tree(os.path.join(tmp, "mpy64"), with_lib=False)
    with start_stub(os.path.join(tmp, "stub-tls"), tls=True, interval=1, approve_after=0) as stub:
        tls = tls_heap(tmp, stub, tree)
    return out, tls


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
    smallest = heap_budget.bisect(fits, 4, 400, report=lambda *a: None)
    return smallest - code / 1024.0


def write_footprint(figures, path=os.path.join(ROOT, "docs", "footprint.json")):
    """The measured figures make deploy compares with a board's heap."""
    import json

    data = {"measured_on": "32-bit MicroPython Unix port, plain HTTP, oled_128x64 (tools/heap_budget.py)"}
    for install, r in figures.items():
        data[install + "_sign_in_kib"] = r["sign_in_kib"]
        data[install + "_refresh_kib"] = r["refresh_kib"]
        data[install + "_code_kib"] = round(r["code_bytes"] / 1024.0, 1)
        if r.get("by_display"):
            data[install + "_sign_in_kib_by_display"] = r["by_display"]
    with open(path, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


def run():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        figures, tls = heaps(tmp)
        lib, app, boards, arch = sizes(tmp)
    write_footprint(figures)
    r = rs256()
    labels = {"mpy": ".mpy files (make deploy)", "frozen": "frozen (manifest.py)"}
    for install in ("mpy", "frozen"):
        f = figures[install]
        target = heap_budget.TARGETS_KIB[install]
        note = "moonshot <= %d KiB" % heap_budget.MOONSHOT_KIB if install == "mpy" else ""
        rows.append({"bench": "smallest 32-bit heap, whole sign-in, %s" % labels[install],
                     "ours": "%s KiB" % f["sign_in_kib"], "peer": "-", "target": "<= %d KiB" % target,
                     "met": f["sign_in_kib"] is not None and f["sign_in_kib"] <= target, "note": note})
        for cls, kib in sorted((f.get("by_display") or {}).items()):  # e-paper: its frame in the heap
            rows.append({"bench": "  whole sign-in on %s (its frame in the heap)" % cls,
                         "ours": "%s KiB" % kib, "peer": "-", "target": "<= %d KiB" % target,
                         "met": kib is not None and kib <= target})
        rows.append({"bench": "  refresh-and-API wake, %s" % labels[install],
                     "ours": "%s KiB" % f["refresh_kib"], "peer": "-", "target": "<= %d KiB" % target,
                     "met": f["refresh_kib"] is not None and f["refresh_kib"] <= target})
        rows.append({"bench": "  all modules imported at once would hold (%s)" % labels[install],
                     "ours": "%.1f KiB" % (f["code_bytes"] / 1024.0), "peer": "-", "target": "-", "met": None})
    rows.append({"bench": "one verified TLS connection (64-bit port; IDF heap on ESP32)",
                 "ours": "%.1f KiB" % tls if tls else "-", "peer": "-", "target": "-", "met": None})
    rows.append({"bench": ".mpy size, library + app (%s; boards %d B more)" % (arch, boards),
                 "ours": "%d B" % (lib + app), "peer": "-",
                 "target": "lib %d + app %d" % (lib, app), "met": None})
    rows.append({"bench": "RS256 id_token check, %d-bit key: median (verify alone)" % r["bits"],
                 "ours": "%.2f ms (%.2f)" % (r["validate_us"] / 1000.0, r["verify_us"] / 1000.0),
                 "peer": "%.3f ms" % (r["cpython_us"] / 1000.0),
                 "target": "peer: PyJWT+OpenSSL, CPython", "met": None})
    return rows, {"figures": figures, "tls_kib": tls, "lib": lib, "app": app, "boards": boards, "rs256": r}


if __name__ == "__main__":
    from bench_rows import standalone

    standalone(run)
