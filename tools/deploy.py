#!/usr/bin/env python3
"""Put the app on a board over USB (`make deploy`).

    python tools/deploy.py --board heltec_wifi_kit_32 --port /dev/ttyUSB0 [--config config.json] [--dry-run]

Builds the .mpy files (tools/build_mpy.py), then with mpremote: stops the running
app by writing the safe-boot marker /safeboot and resetting the board (the app's
watchdog cannot be stopped, and survives Ctrl-C and soft reset; a hard reset clears
it, and with the marker present main.py starts neither the app nor the watchdog:
firmware/safeboot.py); makes /lib, copies the config to /config.json, the CA bundle
named by the config's ca_file, the board file (and the base board file a variant
imports), the compiled library and app, /main.py; installs the micropython-lib
packages the board needs (hmac always, ssd1306 for SSD1306 boards) with `mpremote mip
install` (the host needs internet for that); deletes the marker and resets the board into the app.
--dry-run prints the exact commands, one per line, and runs none.

Before copying, it warns when the .mpy install will not fit the board's heap: the
board file's HEAP_KIB against the measured sign-in footprint in docs/footprint.json.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_mpy  # noqa: E402

OUT = "build/mpy"
MPREMOTE = ".venv/bin/mpremote"
PYTHON = ".venv/bin/python"
MKDIR_LIB = 'import os; "lib" in os.listdir("/") or os.mkdir("/lib")'
SAFE_BOOT_ON = 'open("/safeboot", "w").close()'
SAFE_BOOT_OFF = 'import os; os.remove("/safeboot")'
BOOT_WAIT_S = "3"  # the board restarts (USB may re-enumerate) and boots into safe boot
FOOTPRINT = "docs/footprint.json"


class DeployError(Exception):
    pass


def repo_path(p, root=ROOT):
    """p relative to the repository when it is inside it (commands run there), else absolute."""
    a = os.path.abspath(p)
    return os.path.relpath(a, root) if a.startswith(root + os.sep) else a


def boards(root=ROOT):
    return sorted(n[:-3] for n in os.listdir(os.path.join(root, "boards"))
                  if n.endswith(".py") and n != "unix.py")


def board_files(board, root=ROOT):
    """The board's module and the board modules it builds on (a variant board file imports its
    base board's), bases first: a deploy copies them all."""
    names = boards(root)
    files = []
    with open(os.path.join(root, "boards", board + ".py")) as f:
        for line in f:
            words = line.split()
            if len(words) > 1 and words[0] in ("import", "from") and words[1] in names:
                files += [b for b in board_files(words[1], root) if b not in files]
    return files + [board]


def board_needs(board, root=ROOT):
    """micropython-lib packages the board file declares in NEEDS (read without importing it)."""
    path = os.path.join(root, "boards", board + ".py")
    with open(path) as f:
        for line in f:
            if line.startswith("NEEDS"):
                value = line.split("=", 1)[1].split("#", 1)[0].strip()
                return [n for n in value.strip("()[] ").replace('"', "").replace("'", "").split(",") if n.strip()]
    return []


def board_facts(board, root=ROOT):
    """HEAP_KIB, PSRAM and DISPLAY_CLASS as the board file states them (read as text, without
    importing it); a fact the file does not state is missing."""
    facts = {}
    with open(os.path.join(root, "boards", board + ".py")) as f:
        for line in f:
            name, _, value = line.partition("=")
            name, value = name.strip(), value.split("#", 1)[0].strip()
            if name == "HEAP_KIB":
                facts[name] = int(value)
            elif name == "PSRAM":
                facts[name] = value == "True"
            elif name == "DISPLAY_CLASS":
                facts[name] = value.strip("\"'")
    return facts


def sign_in_need_kib(need, display_class):
    """The .mpy sign-in's heap on a board with this display (docs/footprint.json): the display's
    own figure when it keeps a larger frame (e-paper), else the 128x64 OLED's."""
    return (need.get("mpy_sign_in_kib_by_display") or {}).get(display_class) or need.get("mpy_sign_in_kib")


# The footprint is measured in one contiguous heap (tools/heap_budget.py); a plain ESP32's
# 109 KiB come in two areas (56 KiB at boot, the rest after its one growth), and no block can
# span them. So an install "fits" only with this much to spare: 96 KiB of 109.
FRAGMENTATION_MARGIN_KIB = 13


def fits(need_kib, heap_kib):
    """True when a footprint of need_kib (one-area measurement) fits a heap of heap_kib."""
    return need_kib is not None and heap_kib is not None and need_kib + FRAGMENTATION_MARGIN_KIB <= heap_kib


def fit_warning(board, root=ROOT):
    """A warning (text) when the .mpy sign-in needs more heap than the board has, else None."""
    facts = board_facts(board, root)
    heap, psram = facts.get("HEAP_KIB"), facts.get("PSRAM")
    try:
        with open(os.path.join(root, FOOTPRINT)) as f:
            need = json.load(f)
    except (OSError, ValueError):
        return None
    mpy, frozen = sign_in_need_kib(need, facts.get("DISPLAY_CLASS")), need.get("frozen_sign_in_kib")
    if heap is None or mpy is None or fits(mpy, heap):
        return None
    text = ("the .mpy install needs about %d KiB of heap for a sign-in (and %d KiB to spare for "
            "fragmentation), but %s has %d KiB%s: it will run out of memory. "
            % (mpy, FRAGMENTATION_MARGIN_KIB, board, heap, "" if psram else " (no PSRAM)"))
    if fits(frozen, heap):
        text += ("Freeze the firmware instead (needs about %d KiB): build MicroPython with "
                 "FROZEN_MANIFEST=%s/manifest.py and copy only config.json, the CA file and main.py "
                 "(see docs/BOARDS.md)." % (frozen, root))
    return text


def read_config(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise DeployError("config file not found: %s (give one with CONFIG=path)" % path)
    except ValueError as e:
        raise DeployError("config file %s is not valid JSON: %s" % (path, e))


def ca_paths(cfg, config_path, root=ROOT):
    """(host path, device path) of the CA bundle the config names, or None."""
    ca = cfg.get("ca_file")
    if not ca:
        if str(cfg.get("issuer", "")).startswith("https://"):
            raise DeployError("the config has no ca_file: the board could not verify the provider's "
                              "certificate; add the provider's root CA (PEM or DER) and name it in ca_file")
        return None
    device = ca if ca.startswith("/") else "/" + ca
    for base in (os.path.dirname(os.path.abspath(config_path)), root):
        host = os.path.join(base, ca.lstrip("/"))
        if os.path.isfile(host):
            return repo_path(host, root), device
    raise DeployError("the CA file named by ca_file (%s) was not found next to %s" % (ca, config_path))


def _parents(folder):
    parts = folder.strip("/").split("/")
    return ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


def commands(board, port, config_path, arch="xtensawin", root=ROOT):
    """The exact commands a deploy runs, as argument lists, in order."""
    names = boards(root)
    if board not in names:
        raise DeployError("unknown board %r; boards: %s" % (board, ", ".join(names)))
    cfg = read_config(config_path)
    if cfg.get("board") != board:
        raise DeployError('%s says "board": %s but BOARD=%s: set "board": "%s" in the config '
                          "(the app imports the board file it names)"
                          % (config_path, json.dumps(cfg.get("board")), board, board))
    ca = ca_paths(cfg, config_path, root)
    mp = [MPREMOTE, "connect", port]
    app_modules = [OUT + "/" + dev[:-3] + ".mpy" for src, dev in build_mpy.device_modules(root)
                   if src.startswith("firmware/") and dev != "main.py"]
    cmds = [[PYTHON, "tools/build_mpy.py", "--arch", arch, "--out", OUT]]
    # Stop the app: a hard reset clears its watchdog, and the marker keeps both off at boot.
    cmds.append(mp + ["exec", SAFE_BOOT_ON])
    cmds.append(mp + ["reset"])
    cmds.append([MPREMOTE, "sleep", BOOT_WAIT_S] + mp[1:] + ["exec", MKDIR_LIB])
    cmds.append(mp + ["fs", "cp", repo_path(config_path, root), ":/config.json"])
    if ca:
        folder = ca[1].rsplit("/", 1)[0]
        if folder:  # a CA in a sub-folder: make the folders first
            cmds.append(mp + ["exec", 'import os; [os.mkdir(d) for d in %s if d.rsplit("/", 1)[1] '
                              'not in os.listdir(d.rsplit("/", 1)[0] or "/")]' % json.dumps(_parents(folder))])
        cmds.append(mp + ["fs", "cp", ca[0], ":" + ca[1]])
    for name in board_files(board, root):
        cmds.append(mp + ["fs", "cp", "%s/lib/%s.mpy" % (OUT, name), ":/lib/%s.mpy" % name])
    cmds.append(mp + ["fs", "cp", "-r", OUT + "/lib/deviceflow", ":/lib"])
    cmds.append(mp + ["fs", "cp"] + app_modules + [":/lib/"])
    cmds.append(mp + ["fs", "cp", OUT + "/main.py", ":/main.py"])
    cmds.append(mp + ["mip", "install", "hmac"] + board_needs(board, root))
    cmds.append(mp + ["exec", SAFE_BOOT_OFF])
    cmds.append(mp + ["reset"])
    return cmds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", required=True, help="one of: " + ", ".join(boards()))
    ap.add_argument("--port", default="", help="serial port, e.g. /dev/ttyUSB0 (mpremote devs lists them)")
    ap.add_argument("--config", default="config.json")
    ap.add_argument("--arch", default="xtensawin")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    try:
        if not args.port and not args.dry_run:
            raise DeployError("no serial port: make deploy BOARD=%s PORT=/dev/ttyUSB0 "
                              "(list ports with: .venv/bin/mpremote devs)" % args.board)
        cmds = commands(args.board, args.port or "PORT", args.config, args.arch)
    except DeployError as e:
        print("deploy: " + str(e), file=sys.stderr)
        return 2
    warning = fit_warning(args.board)
    if warning:
        print("deploy: warning: " + warning, file=sys.stderr, flush=True)
    for cmd in cmds:
        print(shlex.join(cmd), flush=True)
        if args.dry_run:
            continue
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            print("deploy: failed: " + shlex.join(cmd), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
