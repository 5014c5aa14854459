"""Kill the MicroPython store writer at many points; the store must always hold the last
acknowledged record or the next one: never a mix, never corrupt, never older."""
import json
import os
import random
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
ENV = dict(os.environ, MICROPYPATH="lib:firmware:boards")
sys.path.insert(0, os.path.join(ROOT, "lib"))

from deviceflow.store import TokenStore  # noqa: E402

LOAD_SCRIPT = """
import sys, json
from deviceflow.store import TokenStore, load_or_create_key
s = TokenStore(sys.argv[1], load_or_create_key(sys.argv[2]))
r = s.load()
print(json.dumps({"record": r, "error": s.last_error}))
"""


def expected(seq):
    # the same record tests/store_writer.py writes for seq
    return {"seq": seq, "refresh_token": "rt-%d" % seq, "access_token": "at-%d." % seq + "x" * (seq % 7 * 300),
            "expires_at": 1800000000 + seq, "check": seq * 7}


def load_with_micropython(store, key):
    out = subprocess.run([MP, "-c", LOAD_SCRIPT, store, key], cwd=ROOT, env=ENV, capture_output=True, timeout=20)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    return got["record"], got["error"]


def load_with_cpython(store, key):
    with open(key, "rb") as f:
        s = TokenStore(store, f.read())
    r = s.load()
    return r, s.last_error


def acknowledged(stdout):
    """(start seq, last acknowledged seq or None) from the complete lines the writer printed."""
    start = last = None
    for line in stdout.split(b"\n")[:-1]:  # the text after the last newline may be cut
        word, _, num = line.partition(b" ")
        if word == b"start":
            start = int(num)
        elif word == b"saved":
            last = int(num)
        else:
            raise AssertionError("unexpected writer output %r" % line)
    return start, last


def test_store_survives_sigkill_at_any_point(tmp_path):
    store, key = str(tmp_path / "tokens.json"), str(tmp_path / "store.key")
    rng = random.Random(8628)
    durable = 0  # the seq the store is known to hold
    kills = mid_save = ahead = 0
    deadline = time.monotonic() + 35
    while kills < 80 and time.monotonic() < deadline:
        p = subprocess.Popen([MP, "tests/store_writer.py", store, key], cwd=ROOT, env=ENV,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # early kills land in start-up and the first saves; later ones deep in the loop
        time.sleep(rng.choice((0.0, 0.002, 0.005, 0.01)) if kills % 4 == 0 else rng.uniform(0.01, 0.25))
        p.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=20)
        assert p.returncode == -signal.SIGKILL, (p.returncode, err)
        kills += 1
        start, last = acknowledged(out)
        if start is not None:
            assert start == durable  # a restarted writer finds what the last run left
        acked = durable if last is None else last
        if os.path.exists(store + ".tmp"):
            mid_save += 1
        record, error = (load_with_micropython if kills % 2 else load_with_cpython)(store, key)
        assert error is None, (kills, error)
        if record is None:
            assert acked == 0, (kills, acked)
            continue
        assert record["seq"] in (acked, acked + 1), (kills, acked, record["seq"])
        assert record == expected(record["seq"])  # never a mix of two records
        ahead += record["seq"] == acked + 1
        assert not os.path.exists(store + ".tmp")  # the load cleared the stale temp file
        durable = record["seq"]
    print("kills=%d mid_save=%d ahead_of_ack=%d final_seq=%d" % (kills, mid_save, ahead, durable))
    assert kills >= 50
    assert durable > 0
    assert mid_save >= 1  # some kills really landed between writing the temp file and the rename
