# Runs under the MicroPython Unix port; tests/test_store_power_loss.py SIGKILLs it.
#
#   MICROPYPATH=lib micropython tests/store_writer.py STORE KEYFILE [MAX_SAVES]
#
# Loads the store (which clears any stale .tmp a kill left), prints "start <seq>",
# then saves records with seq+1, seq+2, ... printing "saved <seq>" (one write, one
# line) after each save() returns: a printed line is an acknowledged save.
import sys

from deviceflow.store import TokenStore, load_or_create_key


def record(seq):
    return {"seq": seq, "refresh_token": "rt-%d" % seq, "access_token": "at-%d." % seq + "x" * (seq % 7 * 300),
            "expires_at": 1800000000 + seq, "check": seq * 7}


def main():
    path, keypath = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000
    store = TokenStore(path, load_or_create_key(keypath))
    rec = store.load()
    if store.last_error:
        sys.stdout.write("error %s\n" % store.last_error)
        sys.exit(2)
    seq = rec["seq"] if rec else 0
    sys.stdout.write("start %d\n" % seq)
    for _ in range(limit):
        seq += 1
        store.save(record(seq))
        sys.stdout.write("saved %d\n" % seq)


main()
