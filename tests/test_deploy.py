# `make deploy` (tools/deploy.py): the exact commands a deploy runs (dry run),
# and the clear errors for a bad BOARD, a missing PORT, and configs a board
# could not run with.
import json
import os
import shlex
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PY = os.path.join(ROOT, ".venv", "bin", "python")
BOARDS = ["esp32_s3_box", "esp32_s3_box_3", "generic_sh1106", "generic_ssd1306", "heltec_wifi_kit_32",
          "heltec_wifi_kit_32_v3", "lilygo_t5_213", "lilygo_t_display", "m5stack_core"]
APP = ("app", "booting", "buttons", "config", "display", "log", "platform_esp32", "rng", "safeboot",
       "signedin", "start", "startup")


def _config(tmp_path, board, **extra):
    cfg = {"issuer": "https://example-tenant.us.auth0.com/", "client_id": "abc",
           "api_url": "https://api.example.com/v1/reading", "ca_file": "roots.pem", "board": board}
    cfg.update(extra)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    (tmp_path / "roots.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


def deploy(*args):
    return subprocess.run([PY, "tools/deploy.py"] + list(args), cwd=ROOT, capture_output=True, text=True)


def _expected(board, port, config, ca, deps):
    mp = ".venv/bin/mpremote connect " + port
    return [
        ".venv/bin/python tools/build_mpy.py --arch xtensawin --out build/mpy",
        # stop the running app: marker, then a hard reset (clears the watchdog) into safe boot
        mp + " exec 'open(\"/safeboot\", \"w\").close()'",
        mp + " reset",
        ".venv/bin/mpremote sleep 3 connect " + port + " exec 'import os; \"lib\" in os.listdir(\"/\") or os.mkdir(\"/lib\")'",
        mp + " fs cp " + config + " :/config.json",
        mp + " fs cp " + ca + " :/roots.pem",
        mp + " fs cp build/mpy/lib/%s.mpy :/lib/%s.mpy" % (board, board),
        mp + " fs cp -r build/mpy/lib/deviceflow :/lib",
        mp + " fs cp " + " ".join("build/mpy/lib/%s.mpy" % m for m in APP) + " :/lib/",
        mp + " fs cp build/mpy/main.py :/main.py",
        mp + " mip install " + deps,
        mp + " exec 'import os; os.remove(\"/safeboot\")'",  # then start the app
        mp + " reset",
    ]


# an SSD1306 board also installs micropython-lib's ssd1306; boards with our own drivers only hmac
@pytest.mark.parametrize("board,port,deps", [("heltec_wifi_kit_32", "/dev/ttyUSB0", "hmac ssd1306"),
                                             ("lilygo_t_display", "/dev/ttyACM0", "hmac")])
def test_dry_run_prints_the_exact_commands(tmp_path, board, port, deps):
    cfg = _config(tmp_path, board)
    p = deploy("--board", board, "--port", port, "--config", cfg, "--dry-run")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == _expected(board, port, cfg, str(tmp_path / "roots.pem"), deps)


def test_make_deploy_dry_run_goes_through_the_makefile(tmp_path):
    cfg = _config(tmp_path, "m5stack_core")
    p = subprocess.run(["make", "-s", "deploy", "BOARD=m5stack_core", "PORT=/dev/ttyUSB1", "CONFIG=" + cfg,
                        "DRY_RUN=1"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.splitlines()[-13:] == _expected("m5stack_core", "/dev/ttyUSB1", cfg,
                                                    str(tmp_path / "roots.pem"), "hmac")


def test_a_variant_board_file_gets_the_board_file_it_builds_on(tmp_path):
    # A variant board file imports its base board's: the deploy copies the base first, and the
    # board modules it copies are exactly those the variant loads when the app imports it.
    for board, base in (("generic_ssd1306_128x32", "generic_ssd1306"), ("heltec_wifi_kit_32_v3", "heltec_wifi_kit_32")):
        cfg = _config(tmp_path, board)
        p = deploy("--board", board, "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
        assert p.returncode == 0, p.stderr
        want = _expected(board, "/dev/ttyUSB0", cfg, str(tmp_path / "roots.pem"), "hmac ssd1306")
        want.insert(6, ".venv/bin/mpremote connect /dev/ttyUSB0 fs cp build/mpy/lib/%s.mpy :/lib/%s.mpy" % (base, base))
        assert p.stdout.splitlines() == want
        copied = [c[-1][len(":/lib/"):-len(".mpy")] for c in map(shlex.split, p.stdout.splitlines())
                  if c[3:5] == ["fs", "cp"] and len(c) == 7 and c[-1].startswith(":/lib/") and c[-1].endswith(".mpy")]
        code = "import sys\nimport %s\nprint(' '.join(sorted(k for k in sys.modules if k in %r)))" % (board, BOARDS + [
            "generic_ssd1306_128x32"])
        r = subprocess.run([os.path.join(ROOT, ".venv", "bin", "micropython"), "-c", code], cwd=ROOT,
                           env=dict(os.environ, MICROPYPATH="lib:firmware:boards"), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert sorted(copied) == r.stdout.split() == sorted([base, board])


def test_every_local_file_the_commands_copy_exists_after_the_build(tmp_path):
    cfg = _config(tmp_path, "lilygo_t5_213")
    p = deploy("--board", "lilygo_t5_213", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    cmds = [shlex.split(line) for line in p.stdout.splitlines()]
    assert subprocess.run(cmds[0], cwd=ROOT, capture_output=True).returncode == 0  # the build step
    for cmd in cmds:
        if cmd[3:5] == ["fs", "cp"]:
            for src in cmd[5:-1]:
                if src != "-r":
                    assert os.path.exists(os.path.join(ROOT, src)), src


def test_unknown_board_lists_the_boards(tmp_path):
    p = deploy("--board", "esp32_devkit", "--port", "/dev/ttyUSB0", "--config", _config(tmp_path, "x"))
    assert p.returncode == 2 and p.stdout == ""
    assert "unknown board 'esp32_devkit'" in p.stderr
    for b in BOARDS:
        assert b in p.stderr
    assert "unix" not in p.stderr.split("boards:")[1]  # the host's board is not deployable


def test_missing_port_is_a_clear_error_and_nothing_runs(tmp_path):
    cfg = _config(tmp_path, "generic_sh1106")
    p = deploy("--board", "generic_sh1106", "--port", "", "--config", cfg)
    assert p.returncode == 2 and p.stdout == ""
    assert "no serial port" in p.stderr and "PORT=" in p.stderr


def test_config_for_another_board_is_refused(tmp_path):
    cfg = _config(tmp_path, "heltec_wifi_kit_32")
    p = deploy("--board", "m5stack_core", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    assert p.returncode == 2 and p.stdout == ""
    assert '"board": "m5stack_core"' in p.stderr


def test_https_issuer_without_a_ca_file_is_refused(tmp_path):
    cfg = _config(tmp_path, "m5stack_core", ca_file=None)
    p = deploy("--board", "m5stack_core", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    assert p.returncode == 2 and "ca_file" in p.stderr


def test_missing_ca_file_and_missing_config_are_named(tmp_path):
    cfg = _config(tmp_path, "m5stack_core", ca_file="certs/missing.der")
    p = deploy("--board", "m5stack_core", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    assert p.returncode == 2 and "certs/missing.der" in p.stderr
    p = deploy("--board", "m5stack_core", "--port", "/dev/ttyUSB0", "--config", str(tmp_path / "nope.json"))
    assert p.returncode == 2 and "config file not found" in p.stderr


def test_secrets_in_the_config_are_never_printed(tmp_path):
    cfg = _config(tmp_path, "m5stack_core", wifi={"ssid": "home", "password": "hunter2-wifi"},
                  client_secret="s3cr3t-value")
    p = deploy("--board", "m5stack_core", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    assert p.returncode == 0
    assert "hunter2-wifi" not in p.stdout + p.stderr and "s3cr3t-value" not in p.stdout + p.stderr


def test_ca_in_a_sub_folder_gets_its_folders_made_first(tmp_path):
    cfg = _config(tmp_path, "m5stack_core", ca_file="certs/auth0/roots.der")
    (tmp_path / "certs" / "auth0").mkdir(parents=True)
    (tmp_path / "certs" / "auth0" / "roots.der").write_bytes(b"\x30\x82")
    p = deploy("--board", "m5stack_core", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    mp = ".venv/bin/mpremote connect /dev/ttyUSB0 "
    assert lines[5] == mp + ("exec 'import os; [os.mkdir(d) for d in [\"/certs\", \"/certs/auth0\"] "
                             "if d.rsplit(\"/\", 1)[1] not in os.listdir(d.rsplit(\"/\", 1)[0] or \"/\")]'")
    assert lines[6] == mp + "fs cp %s :/certs/auth0/roots.der" % (tmp_path / "certs" / "auth0" / "roots.der")


def test_the_app_is_stopped_before_any_copy_and_started_only_after(tmp_path):
    cfg = _config(tmp_path, "m5stack_core")
    p = deploy("--board", "m5stack_core", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    lines = p.stdout.splitlines()
    marker_on = [i for i, l in enumerate(lines) if "open(\"/safeboot\", \"w\")" in l]
    resets = [i for i, l in enumerate(lines) if l.endswith(" reset")]
    copies = [i for i, l in enumerate(lines) if " fs cp " in l or " mip install " in l]
    marker_off = [i for i, l in enumerate(lines) if "os.remove(\"/safeboot\")" in l]
    assert len(marker_on) == 1 and len(marker_off) == 1 and len(resets) == 2
    assert marker_on[0] < resets[0] < min(copies)  # marker, hard reset, then the copies
    assert max(copies) < marker_off[0] < resets[1] == len(lines) - 1


def test_deploy_warns_before_copying_when_the_mpy_install_cannot_fit(tmp_path):
    with open(os.path.join(ROOT, "docs", "footprint.json")) as f:
        need = json.load(f)
    cfg = _config(tmp_path, "heltec_wifi_kit_32")
    p = deploy("--board", "heltec_wifi_kit_32", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    assert p.returncode == 0
    warning = [l for l in p.stderr.splitlines() if l.startswith("deploy: warning:")]
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import deploy as tool

    if not tool.fits(need["mpy_sign_in_kib"], 109):  # the board file's HEAP_KIB: no PSRAM
        assert len(warning) == 1, p.stderr
        assert "%d KiB" % need["mpy_sign_in_kib"] in warning[0] and "109 KiB" in warning[0]
        assert "FROZEN_MANIFEST" in warning[0] and "manifest.py" in warning[0]  # the path that fits
    else:
        assert warning == []
    cfg = _config(tmp_path, "esp32_s3_box_3")  # PSRAM: the heap grows into it, no warning
    p = deploy("--board", "esp32_s3_box_3", "--port", "/dev/ttyUSB0", "--config", cfg, "--dry-run")
    assert p.returncode == 0 and "warning" not in p.stderr


def test_fit_warning_follows_the_measured_figures(tmp_path):
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import deploy as tool

    (tmp_path / "boards").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "boards" / "small.py").write_text("NEEDS = ()\nPSRAM = False\nHEAP_KIB = 109  # heap\n")
    fp = tmp_path / "docs" / "footprint.json"
    fp.write_text(json.dumps({"mpy_sign_in_kib": 147, "frozen_sign_in_kib": 58}))
    text = tool.fit_warning("small", str(tmp_path))
    assert "147 KiB" in text and "58 KiB" in text and "FROZEN_MANIFEST" in text
    fp.write_text(json.dumps({"mpy_sign_in_kib": 96, "frozen_sign_in_kib": 40}))
    assert tool.fit_warning("small", str(tmp_path)) is None  # the .mpy install fits: nothing to say
    fp.write_text(json.dumps({"mpy_sign_in_kib": 101, "frozen_sign_in_kib": 37}))
    text = tool.fit_warning("small", str(tmp_path))  # fits one 109 KiB area, not two split ones
    assert "101 KiB" in text and "FROZEN_MANIFEST" in text
    fp.write_text(json.dumps({"mpy_sign_in_kib": 150, "frozen_sign_in_kib": 120}))
    text = tool.fit_warning("small", str(tmp_path))
    assert "run out of memory" in text and "FROZEN_MANIFEST" not in text  # frozen would not fit either


def test_an_e_paper_board_is_judged_by_the_figure_of_its_own_display(tmp_path):
    # An e-paper driver keeps its whole frame in the heap (4-5 KB): make deploy must weigh that
    # board by its display's own sign-in figure, the others by the 128x64 OLED's.
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import deploy as tool

    (tmp_path / "boards").mkdir()
    (tmp_path / "docs").mkdir()
    for name, cls in (("ink", "epaper_200x200"), ("oled", "oled_128x64"), ("tft", "tft_320x240")):
        (tmp_path / "boards" / (name + ".py")).write_text(
            'DISPLAY_CLASS = "%s"\nNEEDS = ()\nPSRAM = False\nHEAP_KIB = 109  # heap\n' % cls)
    (tmp_path / "docs" / "footprint.json").write_text(json.dumps(
        {"mpy_sign_in_kib": 92, "frozen_sign_in_kib": 33, "mpy_sign_in_kib_by_display": {"epaper_200x200": 98}}))
    text = tool.fit_warning("ink", str(tmp_path))
    assert "98 KiB" in text and "FROZEN_MANIFEST" in text
    assert tool.fit_warning("oled", str(tmp_path)) is None
    assert tool.fit_warning("tft", str(tmp_path)) is None  # a TFT driver keeps no frame
    assert tool.board_facts("m5stack_coreink")["DISPLAY_CLASS"] == "epaper_200x200"  # the real file


def test_readme_names_for_each_board_the_install_path_its_heap_fits():
    # The README's board table must follow the measured figures and the board files: a board
    # whose HEAP_KIB holds the .mpy sign-in says `make deploy`, the others say frozen.
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import deploy as tool

    with open(os.path.join(ROOT, "docs", "footprint.json")) as f:
        need = json.load(f)
    with open(os.path.join(ROOT, "README.md")) as f:
        rows = [line for line in f if line.startswith("| ") and line.count("|") == 6]
    seen = {}
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        name = cells[1].strip("`")
        if name in BOARDS:
            seen[name] = cells[4]
    assert sorted(seen) == BOARDS
    for name, path in seen.items():
        facts = tool.board_facts(name)
        want = "`make deploy`" if tool.fits(tool.sign_in_need_kib(need, facts["DISPLAY_CLASS"]), facts["HEAP_KIB"]) else "frozen"
        assert path == want, (name, path, want)
    assert "%d KiB" % need["mpy_sign_in_kib"] in open(os.path.join(ROOT, "README.md")).read()
    assert "%d KiB" % need["frozen_sign_in_kib"] in open(os.path.join(ROOT, "README.md")).read()
