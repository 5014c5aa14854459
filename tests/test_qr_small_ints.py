"""The QR encoder computes only with integers in [-2^30, 2^30): MicroPython's small-int
range on a 32-bit ESP32, so an encode makes no heap big-ints there (a big-int per row
operation would mean thousands of allocations per symbol on a 56 KiB heap).

How: lib/deviceflow/qr.py and qr_tables.py are loaded from source with their syntax tree
rewritten so that the result of every arithmetic, shift, bitwise and unary operator
(including augmented assignments such as `a &= a >> 2`) passes through a check that
raises when an int falls outside the range. The instrumented encoder is then run for
versions 1-10 and 40 at every ECC level, with the automatic mask choice (all 8 masks
scored) and with forced masks, over numeric, alphanumeric and byte data (each mode at
every ECC level, rotating over the versions), and it must
give the same symbols as the module imported normally. Integer literals in the sources
are checked too. CPython only; about 5 s.
"""
import ast
import os
import random
import sys
import types

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from deviceflow import qr  # noqa: E402

LO, HI = -(1 << 30), 1 << 30
SOURCES = ("qr_tables", "qr")
URL = "https://example-tenant.us.auth0.com/activate?user_code=WDJB-MJHT"


class Checker:
    def __init__(self):
        self.checked = 0
        self.worst = 0

    def __call__(self, value):
        if type(value) is int:
            self.checked += 1
            if not LO <= value < HI:
                raise OverflowError("integer outside the 31-bit small-int range: %d bits" % value.bit_length())
            if abs(value) > abs(self.worst):
                self.worst = value
        return value


class _Instrument(ast.NodeTransformer):
    """Wraps every BinOp/UnaryOp result in _chk(...); a op= b becomes a = _chk(a op b)."""

    def _wrap(self, node):
        return ast.copy_location(ast.Call(ast.Name("_chk", ast.Load()), [node], []), node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return self._wrap(node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return node if isinstance(node.op, ast.Not) else self._wrap(node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        target = node.target
        load = ast.copy_location(type(target)(**{f: getattr(target, f) for f in target._fields if f != "ctx"},
                                              ctx=ast.Load()), target)
        value = self._wrap(ast.copy_location(ast.BinOp(load, node.op, node.value), node))
        return ast.copy_location(ast.Assign([target], value), node)


def _source(name):
    path = os.path.join(ROOT, "lib", "deviceflow", name + ".py")
    with open(path) as f:
        return path, f.read()


def _load(name, chk, modules):
    path, text = _source(name)
    tree = ast.fix_missing_locations(_Instrument().visit(ast.parse(text, path)))
    mod = types.ModuleType("deviceflow." + name)
    mod.__dict__["_chk"] = chk
    saved = {k: sys.modules.get(k) for k in modules}
    try:
        sys.modules.update(modules)
        exec(compile(tree, path, "exec"), mod.__dict__)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return mod


@pytest.fixture(scope="module")
def instrumented():
    chk = Checker()
    tables = _load("qr_tables", chk, {})
    return _load("qr", chk, {"deviceflow.qr_tables": tables}), chk


ALPHABETS = ((b"0123456789", 3.3), (b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", 1.45), (bytes(range(256)), 1.0))


def _payload(rng, version, ecc, mode):
    """Numeric (0), alphanumeric (1) or byte (2) data for which version is the smallest that fits."""
    cap = qr.data_codewords(version, ecc)
    lo = qr.data_codewords(version - 1, ecc) if version > 1 else 0
    alphabet, per_byte = ALPHABETS[mode]
    n = max(1, int((lo + (cap - lo) * 0.6) * per_byte) - 4)
    data = bytes(rng.choice(alphabet) for _ in range(n))
    while len(data) > 1 and qr.encode(data, ecc).version > version:
        data = data[:-1]
    return data


def _same(a, b):
    return (a.version, a.ecc, a.mask, a.size, bytes(a.modules)) == (b.version, b.ecc, b.mask, b.size, bytes(b.modules))


def test_no_integer_literal_outside_the_small_int_range():
    for name in SOURCES:
        path, text = _source(name)
        for node in ast.walk(ast.parse(text, path)):
            if isinstance(node, ast.Constant) and type(node.value) is int:
                assert LO <= node.value < HI, (name, node.lineno, node.value)


def test_every_integer_computed_for_versions_1_to_10_stays_below_2_30(instrumented):
    iq, chk = instrumented
    rng = random.Random(30)
    for version in range(1, 11):
        for e, ecc in enumerate("LMQH"):
            for data in (_payload(rng, version, ecc, (version + e) % 3),):  # every mode at every level
                got = iq.encode(data, ecc, min_version=version)
                assert _same(got, qr.encode(data, ecc, min_version=version)), (version, ecc, data)
                assert got.version == version, (version, ecc, len(data))
            forced = iq.encode(URL, ecc, version=version if qr.data_codewords(version, ecc) >= 66 else None,
                               mask=version % 8)
            assert forced.mask == version % 8
    assert chk.checked > 100000  # the check really saw the encoder's arithmetic


def test_version_40_and_the_device_url_stay_below_2_30(instrumented):
    iq, chk = instrumented
    rng = random.Random(40)
    data = bytes(rng.randrange(256) for _ in range(qr.data_codewords(40, "L") - 3))
    got = iq.encode(data, "L")
    assert got.version == 40 and got.size == 177
    assert _same(got, qr.encode(data, "L"))
    for ecc in "MQH":
        assert _same(iq.encode(URL, ecc, version=40), qr.encode(URL, ecc, version=40))
    assert _same(iq.encode(URL, "M"), qr.encode(URL, "M"))


def test_the_check_catches_a_big_integer(instrumented):
    chk = Checker()
    mod = types.ModuleType("probe")
    mod.__dict__["_chk"] = chk
    tree = ast.fix_missing_locations(_Instrument().visit(ast.parse("def f(n):\n    w = 1\n    w <<= n\n    return w\n")))
    exec(compile(tree, "probe", "exec"), mod.__dict__)
    assert mod.f(29) == 1 << 29
    with pytest.raises(OverflowError):
        mod.f(30)
