# `make mpy` (tools/build_mpy.py) and the packaging files: every module compiles
# for the board, the build fails on code MicroPython rejects, the compiled tree
# is importable from the device layout, and package.json / manifest.py list
# exactly the modules a board needs.
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build_mpy  # noqa: E402

PY = os.path.join(ROOT, ".venv", "bin", "python")
MP = os.path.join(ROOT, ".venv", "bin", "micropython")


def _build(tmp_path, *extra):
    out = tmp_path / "mpy"
    p = subprocess.run([PY, "tools/build_mpy.py", "--out", str(out)] + list(extra), cwd=ROOT,
                       capture_output=True, text=True)
    return p, out


def test_every_module_compiles_for_esp32_with_a_size_report(tmp_path):
    p, out = _build(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.splitlines()
    for src, dev in build_mpy.sources():
        target = dev if dev == "main.py" else dev[:-3] + ".mpy"
        assert (out / target).is_file(), target
        assert any(line.split()[0] == target for line in lines[1:-1]), target
        if dev != "main.py":
            head = (out / target).read_bytes()[:4]
            assert head[0:2] == b"M\x06"  # .mpy format 6 (MicroPython >= 1.22)
    total = lines[-1].split()
    assert total[0] == "total" and int(total[-1]) == sum(int(line.split()[-1]) for line in lines[1:-1])


def test_main_is_copied_as_source_because_boot_runs_main_py(tmp_path):
    p, out = _build(tmp_path)
    assert p.returncode == 0
    assert (out / "main.py").read_bytes() == open(os.path.join(ROOT, "firmware", "main.py"), "rb").read()


def test_a_module_micropython_rejects_fails_the_build(tmp_path):
    root = tmp_path / "tree"
    for d in ("lib/deviceflow", "firmware", "boards"):
        (root / d).mkdir(parents=True)
    (root / "lib/deviceflow/good.py").write_text("X = 1\n")
    # Valid CPython 3.8+, but MicroPython has no positional-only parameters.
    (root / "lib/deviceflow/posonly.py").write_text("def f(a, /, b):\n    return a\n")
    rows, failures = build_mpy.build(str(tmp_path / "out"), root=str(root), report=lambda *a: None)
    assert [s for s, _ in failures] == ["lib/deviceflow/posonly.py"]
    assert "SyntaxError" in failures[0][1]
    assert [r[0] for r in rows] == ["lib/deviceflow/good.mpy"]


def test_cli_exits_non_zero_on_a_rejected_module(tmp_path):
    root = tmp_path / "tree"
    for d in ("lib/deviceflow", "firmware", "boards"):
        (root / d).mkdir(parents=True)
    (root / "boards/probe.py").write_text("def f(a, /):\n    pass\n")
    p, _ = _build(tmp_path, "--root", str(root))
    assert p.returncode == 1
    assert "boards/probe.py" in p.stdout + p.stderr


def test_compiled_tree_imports_from_the_device_layout(tmp_path):
    p, out = _build(tmp_path)
    assert p.returncode == 0
    code = ("import deviceflow.flow, deviceflow.http, deviceflow.screen, deviceflow.store\n"
            "import deviceflow.drivers.st7789, deviceflow.drivers.ssd1680\n"
            "import app, config, display, lilygo_t_display, heltec_wifi_kit_32\n"
            "print(deviceflow.flow.__file__)\n")
    env = dict(os.environ, MICROPYPATH=str(out / "lib"))
    r = subprocess.run([MP, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("lib/deviceflow/flow.mpy")


def test_package_json_lists_every_board_module_and_the_deps():
    with open(os.path.join(ROOT, "package.json")) as f:
        text = f.read()
    assert text == build_mpy.render_package_json(), "run: python tools/build_mpy.py --write-package-json"
    pj = json.loads(text)
    assert pj["deps"] == [["hmac", "latest"], ["ssd1306", "latest"]]
    targets = dict(pj["urls"])
    for src, dev in build_mpy.device_modules():
        if dev != "main.py":
            assert targets[dev[len("lib/"):]] == src
    for target, src in pj["urls"]:
        assert os.path.isfile(os.path.join(ROOT, src)), src
        assert not src.startswith(("firmware/main.py", "firmware/platform_unix", "boards/unix"))


def test_mip_layout_from_package_json_is_importable(tmp_path):
    """What `mip install` would write below /lib, read from package.json, imports."""
    with open(os.path.join(ROOT, "package.json")) as f:
        pj = json.load(f)
    lib = tmp_path / "lib"
    for target, src in pj["urls"]:
        dest = lib / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(ROOT, src), dest)
    code = ("import app, booting, signedin, config, display, buttons, log, rng, deviceflow.session\n"
            "import deviceflow.qr, deviceflow.jwt, deviceflow.drivers.sh1106, deviceflow.accepting\n"
            "import generic_sh1106, m5stack_core, lilygo_t5_213, esp32_s3_box, heltec_wifi_kit_32_v3\n"
            "print('ok')\n")
    env = dict(os.environ, MICROPYPATH=str(lib))
    r = subprocess.run([MP, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


def test_manifest_freezes_every_board_module():
    calls = []
    env = {
        "include": lambda p, **kw: calls.append(("include", p)),
        "require": lambda n, **kw: calls.append(("require", n)),
        "package": lambda n, base_path=".", **kw: calls.append(("package", base_path + "/" + n)),
        "module": lambda n, base_path=".", **kw: calls.append(("module", base_path + "/" + n)),
    }
    with open(os.path.join(ROOT, "manifest.py")) as f:
        exec(f.read(), env)
    assert ("include", "$(PORT_DIR)/boards/manifest.py") in calls
    assert ("require", "hmac") in calls and ("require", "ssd1306") in calls
    assert ("package", "lib/deviceflow") in calls
    modules = sorted(p for k, p in calls if k == "module")
    want = sorted(src for src, dev in build_mpy.device_modules()
                  if not src.startswith("lib/") and dev != "main.py")
    assert modules == want


def test_library_package_json_lists_exactly_the_library_modules():
    """lib/package.json (`mip install github:OWNER/REPO/lib`): every module below lib/, no app,
    board or host module, URLs relative to lib/ (mip resolves them from the package.json)."""
    with open(os.path.join(ROOT, "lib", "package.json")) as f:
        text = f.read()
    assert text == build_mpy.render_package_json(pj=build_mpy.library_package_json()), \
        "run: python tools/build_mpy.py --write-package-json"
    pj = json.loads(text)
    assert pj["deps"] == [["hmac", "latest"]]
    on_disk = []
    for base, _dirs, files in os.walk(os.path.join(ROOT, "lib")):
        on_disk += [os.path.relpath(os.path.join(base, f), os.path.join(ROOT, "lib")).replace(os.sep, "/")
                    for f in files if f.endswith(".py")]
    assert sorted(t for t, _ in pj["urls"]) == sorted(on_disk)
    for target, src in pj["urls"]:
        assert target == src and target.startswith("deviceflow/")
        assert os.path.isfile(os.path.join(ROOT, "lib", src)), src
    assert "deviceflow/client.py" in dict(pj["urls"])


def test_mip_layout_from_library_package_json_has_the_api_and_no_app(tmp_path):
    with open(os.path.join(ROOT, "lib", "package.json")) as f:
        pj = json.load(f)
    lib = tmp_path / "lib"
    for target, src in pj["urls"]:
        dest = lib / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(ROOT, "lib", src), dest)
    code = ("from deviceflow.client import DeviceClient\n"
            "c = DeviceClient(issuer='https://t.example.com/', client_id='c', scope='offline_access',\n"
            "                 device_authorization_endpoint='https://t.example.com/device',\n"
            "                 token_endpoint='https://t.example.com/token', state_dir='.')\n"
            "print(c.signed_in)\n"
            "try:\n    import app\nexcept ImportError:\n    print('no app')\n")
    env = dict(os.environ, MICROPYPATH=str(lib) + ":.frozen")
    r = subprocess.run([MP, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split() == ["False", "no", "app"], r.stdout + r.stderr
