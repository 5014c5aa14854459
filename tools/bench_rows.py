"""Run one bench module on its own (`python tools/bench_flow.py`): print its rows, exit 1 on a miss."""
import sys


def standalone(run):
    rows, raw = run()
    for r in rows:
        print("%-62s %-18s %-18s %-26s %s" % (r["bench"], r["ours"], r["peer"], r["target"],
                                              {True: "met", False: "MISSED", None: ""}[r["met"]]))
    print(raw)
    sys.exit(0 if all(r["met"] is not False for r in rows) else 1)
