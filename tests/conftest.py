"""Every end-to-end test is also a secrets test.

After each test that used a stub server (tests/stubctl.py) and ran the firmware (tests/device.py),
everything the device printed in every run (log, screen frames, exceptions) and everything the
stub saw (request URLs, its stderr log) is scanned for the device codes and tokens the stub
issued (tests/secrets_scan.py). A leak fails the test at teardown.

How: Stub and Device are instrumented here, not in their modules. A stub is snapshotted (its
secrets and request log) just before it stops, since the test's own fixture usually stops it
before this teardown runs; each device run is snapshotted when it ends.
"""
import pytest

import device as _device
import secrets_scan
import stubctl as _stubctl

_current = None        # {"stubs": [...], "devices": [...]} while a test runs
_outside_tests = []    # stubs started by module/session fixtures (outside any test)


def _snapshot_stub(stub):
    if getattr(stub, "_scan_snapshot", None) is None and stub.proc.poll() is None:
        try:
            stub._scan_snapshot = (secrets_scan.issued(stub), stub.requests())
        except Exception:
            pass


def _snapshot_run(dev):
    runs = dev.__dict__.setdefault("_scan_runs", [])
    texts = secrets_scan.device_texts(dev)
    if texts not in runs:
        runs.append(texts)


_stub_init, _stub_stop = _stubctl.Stub.__init__, _stubctl.Stub.stop
_dev_start, _dev_wait = _device.Device.start, _device.Device.wait


def _patched_stub_init(self, *a, **k):
    _stub_init(self, *a, **k)
    self._scan_snapshot = None
    (_current["stubs"] if _current is not None else _outside_tests).append(self)


def _patched_stub_stop(self):
    _snapshot_stub(self)
    return _stub_stop(self)


def _patched_dev_start(self, *a, **k):
    if getattr(self, "proc", None) is not None:   # a second run: keep the first one's output
        _snapshot_run(self)
    if _current is not None and self not in _current["devices"]:
        _current["devices"].append(self)
    return _dev_start(self, *a, **k)


def _patched_dev_wait(self, *a, **k):
    try:
        return _dev_wait(self, *a, **k)
    finally:
        _snapshot_run(self)


_stubctl.Stub.__init__ = _patched_stub_init
_stubctl.Stub.stop = _patched_stub_stop
_device.Device.start = _patched_dev_start
_device.Device.wait = _patched_dev_wait


@pytest.fixture(autouse=True)
def no_secrets_anywhere():
    global _current
    _current = used = {"stubs": [], "devices": []}
    try:
        yield
    finally:
        _current = None
    _outside_tests[:] = [s for s in _outside_tests if s.proc.poll() is None]
    stubs = used["stubs"] + _outside_tests
    if not (stubs and used["devices"]):
        return
    secrets, texts = {}, []
    for stub in stubs:
        _snapshot_stub(stub)
        if stub._scan_snapshot is None:
            continue   # it died before anyone could ask: what it issued cannot be known
        issued, requests = stub._scan_snapshot
        if stub.proc.poll() is None:
            stub._scan_snapshot = None   # still serving later tests: fresh snapshot next time
        for kind, values in issued.items():
            secrets.setdefault(kind, []).extend(values)
        texts += secrets_scan.stub_texts(stub, requests)
    for dev in used["devices"]:
        if dev.proc is not None and dev.proc.poll() is None:
            dev.stop()
        _snapshot_run(dev)
        for run in dev._scan_runs:
            texts += run
    leaks = secrets_scan.find_leaks(secrets, texts)
    assert not leaks, "secret values leaked: %s" % leaks


@pytest.fixture(scope="module")
def module_stub(tmp_path_factory):
    """One stub server (1 s poll interval) shared by a test module's tests."""
    with _stubctl.start_stub(tmp_path_factory.mktemp("stub"), interval=1) as s:
        yield s


@pytest.fixture
def stub(module_stub):
    """The module's stub, reset before each test. A module with its own `stub` fixture wins."""
    module_stub.reset()
    return module_stub
