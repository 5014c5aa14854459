#!/usr/bin/env python3
"""Build a 32-bit MicroPython Unix port: the object layout of an ESP32 (4-byte pointers,
16-byte GC blocks), so heap figures measured with it are ESP32 figures (`make port32`).

    python tools/build_port32.py [--mpy-dir DIR] [--frozen]

Source tree: --mpy-dir (MPY_DIR=... in make), a MicroPython checkout with its
lib/micropython-lib submodule; without it, a snapshot tarball next to this repository
(../shared/micropython/micropython-src.tar.xz), unpacked under build/. With neither, it
stops and says what to pass.

Built with Debian's i686 cross compiler (installed with apt-get when missing), statically
linked (so no 32-bit loader is needed on the host), without tls/btree/ffi: on an ESP32
mbedTLS allocates from the IDF heap, not the GC heap, so a plain-HTTP run is the faithful
GC-heap measurement.

    build/port32/micropython          the port
    build/port32-frozen/micropython   --frozen: our firmware frozen in (tools/manifest_unix32.py)

Prints the path of the built binary. Also: --print-lib prints the micropython-lib folder of
the tree (the real `hmac` and `ssd1306` are taken from there by make test).
"""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(ROOT, "build")
SNAPSHOT = os.path.join(ROOT, "..", "shared", "micropython", "micropython-src.tar.xz")
UNPACKED = os.path.join(BUILD, "micropython-src")
CROSS = "i686-linux-gnu-"
PORT_FLAGS = ["MICROPY_PY_SSL=0", "MICROPY_PY_BTREE=0", "MICROPY_PY_FFI=0", "LDFLAGS_EXTRA=-static"]
FROZEN_MANIFEST = os.path.join(ROOT, "tools", "manifest_unix32.py")
# micropython-lib modules a board gets with mip; make test puts these folders on MICROPYPATH.
LIB_MODULES = ("python-stdlib/hmac", "micropython/drivers/display/ssd1306")


def fail(msg):
    sys.stderr.write("build_port32: " + msg + "\n")
    raise SystemExit(2)


def source_tree(mpy_dir=None):
    """The MicroPython tree to build: mpy_dir, else the unpacked snapshot."""
    if mpy_dir:
        tree = os.path.abspath(mpy_dir)
        if not os.path.isdir(os.path.join(tree, "ports", "unix")):
            fail("MPY_DIR=%s is not a MicroPython checkout (no ports/unix)" % mpy_dir)
        return tree
    tree = os.path.join(UNPACKED, "micropython")
    if os.path.isdir(os.path.join(tree, "ports", "unix")):
        return tree
    if not os.path.exists(SNAPSHOT):
        fail("no MicroPython source: pass MPY_DIR=/path/to/micropython (a git checkout of "
             "github.com/micropython/micropython with `git submodule update --init lib/micropython-lib`)")
    os.makedirs(UNPACKED, exist_ok=True)
    subprocess.run(["tar", "xJf", SNAPSHOT, "-C", UNPACKED], check=True)
    return tree


def ensure_cross_compiler():
    if shutil.which(CROSS + "gcc"):
        return
    print("installing Debian's gcc-i686-linux-gnu (32-bit x86 cross compiler)", flush=True)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        fail("needs %sgcc: run `sudo apt-get install gcc-i686-linux-gnu`" % CROSS)
    cmd = ["apt-get", "install", "-y", "-q", "gcc-i686-linux-gnu"]
    quiet = dict(stdout=subprocess.DEVNULL)
    if subprocess.run(cmd, **quiet).returncode:
        subprocess.run(["apt-get", "update", "-q"], check=True, **quiet)
        subprocess.run(cmd, check=True, **quiet)


def build(tree, frozen=False, jobs=2):
    ensure_cross_compiler()
    out = os.path.join(BUILD, "port32-frozen" if frozen else "port32")
    if not os.path.exists(os.path.join(tree, "mpy-cross", "build", "mpy-cross")):
        subprocess.run(["make", "-C", os.path.join(tree, "mpy-cross"), "-j%d" % jobs, "-s"], check=True,
                       stdout=subprocess.DEVNULL)
    cmd = ["make", "-C", os.path.join(tree, "ports", "unix"), "-j%d" % jobs, "-s",
           "CROSS_COMPILE=" + CROSS, "BUILD=" + out] + PORT_FLAGS
    if frozen:
        cmd.append("FROZEN_MANIFEST=" + FROZEN_MANIFEST)
        cmd.append("DEVICEFLOW_ROOT=" + ROOT)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        sys.stderr.write(p.stdout[-4000:])
        fail("the 32-bit port did not build (see above)")
    return os.path.join(out, "micropython")


def binary(frozen=False):
    return os.path.join(BUILD, "port32-frozen" if frozen else "port32", "micropython")


def ensure(frozen=False, mpy_dir=None):
    """The port's path, building it first when it is missing. The frozen port is rebuilt every
    time (make only recompiles what changed), since it holds the firmware as it is now."""
    path = binary(frozen)
    if frozen or not os.path.exists(path):
        build(source_tree(mpy_dir or os.environ.get("MPY_DIR") or None), frozen)
    return path


def main_lib_folders(mpy_dir=None):
    """Folders of the real micropython-lib modules (hmac, ssd1306) in the source tree."""
    lib = os.path.join(source_tree(mpy_dir or os.environ.get("MPY_DIR") or None), "lib", "micropython-lib")
    return [os.path.join(lib, m) for m in LIB_MODULES]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mpy-dir", default=os.environ.get("MPY_DIR") or None)
    ap.add_argument("--frozen", action="store_true", help="freeze the firmware in (tools/manifest_unix32.py)")
    ap.add_argument("--print-lib", action="store_true", help="print the micropython-lib folders make test uses")
    args = ap.parse_args(argv)
    tree = source_tree(args.mpy_dir)
    if args.print_lib:
        print(":".join(main_lib_folders(tree)))
        return 0
    print(build(tree, args.frozen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
