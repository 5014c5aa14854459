"""Fleet simulator: N copies of the real app (firmware/app.py) against a rate-limited provider model.

    python tools/fleet.py [--devices 10000] [--hours 24] [--scenario all|valid|expired|outage]
                          [--seed 1] [--plot docs/fleet.png] [--refresh-spread S] ...

Every device is the real App state machine with the real flow engine and refresh grant, its own
ManualClock (ticks start at a random point so the 2^30 wrap happens, wall clock set), its own
seeded Rng, an in-memory token store, a no-op display surface and a Link to the in-process
provider model (tools/fleet_provider.py). Virtual time is event-driven: a heap of the devices'
next wake-up times (App.wake_at), so a simulated day of 10,000 devices takes minutes, not a day.

Scenarios (t = 0 is the moment the power comes back and every device boots):
  valid    mass reboot; every device holds tokens issued at a random time in the last day
           (Auth0's default 24 h access token: all still valid)
  expired  mass reboot after a long power cut: every stored access token has expired
  outage   as `expired`, and the provider answers 503 for the first 10 minutes; the target:
           once it is back, never more token requests per second than the limit, and every
           device back within 30 minutes of the reboot (the exit status says whether it was met)
Printed per scenario: peak token requests per second (all, and answered 200), the 429s, the
time until every device is signed in and has called the API again, and requests per device per
day (token endpoint and API).
"""
import argparse
import heapq
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in ("lib", "firmware", "tools"):
    sys.path.insert(0, os.path.join(ROOT, p))

import config as config_file  # noqa: E402
import app as app_module  # noqa: E402
from app import App  # noqa: E402
from display import Display  # noqa: E402
from rng import Rng  # noqa: E402
from deviceflow.session import binding, make_record  # noqa: E402
from deviceflow.clock import TICKS_PERIOD  # noqa: E402
from deviceflow.manualclock import ManualClock  # noqa: E402
from fleet_provider import API_URL, DEVICE_URL, ISSUER, TOKEN_URL, Link, Provider  # noqa: E402

WALL0 = 1800000000  # Unix seconds at t = 0
SCENARIOS = ("valid", "expired", "outage")


class _NoGC:
    """The app calls gc.collect() at each phase change to keep a 56 KiB heap unfragmented; on
    CPython with 10,000 apps in one process each collect walks every object, so the simulator
    replaces it (it changes no timing decision)."""

    @staticmethod
    def collect():
        pass


app_module.gc = _NoGC()


class NullSurface:
    width = 128
    height = 64

    def fill_rect(self, x, y, w, h, c):
        pass

    def text(self, s, x, y, c=1):
        pass


class NullLog:
    def __init__(self):
        self.errors = 0

    def event(self, event_name, **fields):
        pass

    def error(self, reason, detail=None, **fields):
        self.errors += 1


class MemStore:
    """The TokenStore interface, in RAM."""

    def __init__(self, record=None):
        self.record = record
        self.last_error = None
        self.saves = 0

    def load(self):
        return dict(self.record) if self.record else None

    def save(self, record):
        self.record = dict(record)
        self.saves += 1

    def clear(self):
        self.record = None


class SimPlatform:
    def network_up(self):
        return True

    def set_clock(self):
        return True

    def pressed(self):
        return []

    def feed_watchdog(self):
        pass

    def reading(self):
        return b'{"t":21.5}'

    def deep_sleep(self, seconds):
        pass

    def random_seed(self):
        return 1


class SimDevice:
    """One device: its clock follows virtual time `t` (ms since the reboot)."""

    def __init__(self, index, tick0):
        self.index = index
        self.tick0 = tick0
        self.clock = ManualClock(start=tick0, wall=WALL0)
        self.t = 0
        self.app = None

    def at(self, t):
        self.t = t
        self.clock.now = (self.tick0 + t) % TICKS_PERIOD
        self.clock.wall = WALL0 + t / 1000.0

    def advance(self, ms):
        self.at(self.t + ms)


def recommended_spread(devices, rate):
    """refresh_spread_s that puts a fleet's boot refreshes at a third of the token rate limit."""
    return max(1, int(devices * 3 / rate + 0.5))


def fleet_config(args):
    raw = {"issuer": ISSUER, "client_id": "fleet-device", "provider": "auth0", "scope": "offline_access",
           "audience": "https://api.example.com/", "api_url": API_URL, "token_endpoint": TOKEN_URL,
           "device_authorization_endpoint": DEVICE_URL, "jwks_uri": ISSUER + ".well-known/jwks.json",
           "api_interval_s": args.api_interval,
           "state_dir": "/nonexistent-fleet-state"}
    for key in ("api_spread_s", "refresh_spread_s", "refresh_window_s", "refresh_margin_s"):
        v = getattr(args, key)
        if v is not None and v >= 0:
            raw[key] = v
    return config_file.validate(raw)


def run(args, scenario, out=sys.stdout):
    """Simulate one scenario; return a dict of figures (and per-second series for the plot)."""
    t_start = time.time()
    pick = random.Random("%s-%s" % (args.seed, scenario))
    cfg = fleet_config(args)
    n = args.devices
    outages = [(0, args.outage_s)] if scenario == "outage" else []
    provider = Provider(n, burst=args.burst, rate=args.rate, access_ttl=args.access_ttl,
                        outages=outages, rng=pick.random)
    devices = []
    heap = []
    expiry_ms = []  # per device: when its stored access token expires (None: not signed in)
    for i in range(n):
        dev = SimDevice(i, pick.randrange(TICKS_PERIOD))
        record = None
        if i >= int(n * args.unsigned):
            # Tokens issued before the reboot: within the last lifetime (valid) or long ago.
            if scenario == "valid":
                ago = pick.uniform(0, args.access_ttl * 0.999)
            else:
                ago = pick.uniform(args.access_ttl + 3600, args.access_ttl + 86400)
            tokens = provider.issue(i, -ago * 1000)
            record = make_record(tokens, int(WALL0 - ago), bound=binding(cfg))
            expiry_ms.append(record["expires_at"] * 1000 - WALL0 * 1000)
        else:
            expiry_ms.append(None)
        surface = Display(NullSurface(), dev.clock)
        app = App(cfg, dev.clock, Link(provider, i, dev), MemStore(record), surface, NullLog(),
                  Rng(pick.getrandbits(32)), SimPlatform())  # like the board's hardware seed
        dev.app = app
        devices.append(dev)
        heap.append((0, i))
    heapq.heapify(heap)
    end = int(args.hours * 3600 * 1000)
    steps = 0
    next_gc = 3600 * 1000
    while heap:
        t, i = heapq.heappop(heap)
        if t >= end:
            break
        if t >= next_gc:
            provider.forget_expired(t)
            next_gc += 3600 * 1000
        dev = devices[i]
        dev.at(t)
        app = dev.app
        for _ in range(100):
            app.step()
            steps += 1
            if app.exit_code is not None:
                break
            wait = dev.clock.ticks_diff(app.wake_at, dev.clock.ticks_ms())
            if wait > 0:
                break
        else:
            raise RuntimeError("device %d keeps running without waiting (state %s)" % (i, app.state))
        if app.exit_code is None:
            heapq.heappush(heap, (dev.t + wait, i))
    days = args.hours / 24.0
    recs = provider.dev
    firsts = [r.first_api_ok for r in recs]
    recovered = [f for f in firsts if f is not None]
    tokens_total = sum(len(r.token_times) for r in recs)
    api_total = sum(r.api_ok for r in recs)
    violations = [(i, v) for i, r in enumerate(recs) for v in r.violations]
    boot_token_requests = sum(1 for r in recs for x in r.token_times if x < 600000)
    states = {}
    for d in devices:
        states[d.app.state] = states.get(d.app.state, 0) + 1
    res = {
        "scenario": scenario, "devices": n, "hours": args.hours,
        "peak_token_rps": provider.token_req.peak(), "peak_token_ok_rps": provider.token_ok.peak(),
        "peak_token_rps_up": max([c for s, c in provider.token_req.counts.items()
                                  if not provider._down(s * 1000) and not provider._down(s * 1000 + 999)] or [0]),
        "limit_rps": args.rate, "burst": args.burst,
        "n429": provider.n429, "n503": provider.n503, "refreshes": provider.refreshes,
        "polls": provider.polls, "invalid_grants": provider.invalid_grants,
        "recovered": len(recovered),
        "recovery_s": (max(recovered) / 1000.0) if len(recovered) == n else None,
        "token_per_device_day": tokens_total / float(n) / days,
        "api_per_device_day": api_total / float(n) / days,
        "token_requests_first_10min": boot_token_requests,
        "violations": violations, "states": states, "steps": steps,
        "wall_s": time.time() - t_start,
        "series_s": int(min(end, args.plot_minutes * 60000) // 1000),
        "provider": provider, "expiry_ms": expiry_ms, "refresh_spread_s": cfg["refresh_spread_s"],
    }
    return res


OUTAGE_RECOVERY_S = 30 * 60


def outage_target_met(res):
    """The outage scenario's target: at or under the limit once the provider is back, and every
    device back within 30 minutes."""
    return (res["peak_token_rps_up"] <= res["limit_rps"] and res["recovery_s"] is not None
            and res["recovery_s"] <= OUTAGE_RECOVERY_S)


def report(res, out=sys.stdout):
    w = out.write
    rec = "%.0f s (%.1f min)" % (res["recovery_s"], res["recovery_s"] / 60) if res["recovery_s"] is not None \
        else "NOT ALL: %d of %d" % (res["recovered"], res["devices"])
    w("scenario %-8s %d devices, %g h simulated in %.0f s (%d app steps)\n"
      % (res["scenario"], res["devices"], res["hours"], res["wall_s"], res["steps"]))
    w("  peak token requests/s      %d  (while the provider is up: %d; answered 200: %d; limit %g/s, burst %d)\n"
      % (res["peak_token_rps"], res["peak_token_rps_up"], res["peak_token_ok_rps"], res["limit_rps"], res["burst"]))
    w("  429 answers                %d   503 answers (outage) %d   invalid_grant %d\n"
      % (res["n429"], res["n503"], res["invalid_grants"]))
    w("  token requests, first 10 min  %d\n" % res["token_requests_first_10min"])
    w("  all signed in + API called %s\n" % rec)
    w("  per device per day         %.2f token requests, %.0f API calls\n"
      % (res["token_per_device_day"], res["api_per_device_day"]))
    w("  rule violations            %d   final states %s\n" % (len(res["violations"]), res["states"]))
    if res["scenario"] == "outage":
        w("  target (<= limit once back, all back within 30 min)  %s\n"
          % ("met" if outage_target_met(res) else "NOT MET"))
    for i, v in res["violations"][:5]:
        w("    device %d at %.1f s: %s\n" % (i, v[0] / 1000.0, v[1]))


def plot(results, path, limit):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(results), 1, figsize=(9, 2.6 * len(results)), sharex=True)
    if len(results) == 1:
        axes = [axes]
    for ax, res in zip(axes, results):
        p = res["provider"]
        end = res["series_s"]
        xs = [s / 60.0 for s in range(end)]
        ax.plot(xs, p.token_req.series(end), lw=0.7, color="tab:blue", label="token requests/s")
        ax.plot(xs, p.too_many.series(end), lw=0.7, color="tab:red", label="429 answers/s")
        if res["n503"]:
            ax.plot(xs, p.refused.series(end), lw=0.7, color="tab:gray", label="503 (outage)/s")
        ax.axhline(limit, color="black", ls="--", lw=0.8, label="limit %g/s" % limit)
        rec = res["recovery_s"]
        if rec is not None and rec / 60.0 <= xs[-1]:
            ax.axvline(rec / 60.0, color="tab:green", lw=0.8, label="all devices back (%.1f min)" % (rec / 60.0))
        ax.set_title("%s: %d devices, peak %d req/s, %d x 429" % (res["scenario"], res["devices"],
                                                                   res["peak_token_rps"], res["n429"]),
                     fontsize=9)
        ax.set_ylabel("per second", fontsize=8)
        ax.set_ylim(0, max(limit * 1.6, res["peak_token_rps"] * 1.1))
        ax.legend(fontsize=7, loc="upper right")
    axes[-1].set_xlabel("minutes after the power comes back")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=10000)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--scenario", default="all", choices=("all",) + SCENARIOS)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=30.0, help="token endpoint: requests per second")
    p.add_argument("--burst", type=int, default=30, help="token endpoint: burst")
    p.add_argument("--access-ttl", type=int, default=86400, help="access token lifetime, s")
    p.add_argument("--outage-s", type=int, default=600)
    p.add_argument("--unsigned", type=float, default=0.0,
                   help="fraction of devices with no stored sign-in (they run the device flow)")
    p.add_argument("--api-interval", type=int, default=300, help="the app's api_interval_s")
    p.add_argument("--api-spread", dest="api_spread_s", type=int, default=None)
    p.add_argument("--refresh-spread", dest="refresh_spread_s", type=int, default=-1,
                   help="the app's refresh_spread_s; default: devices x 3 / rate (the spread that "
                        "keeps a mass refresh at a third of the limit); 0 or more: that value")
    p.add_argument("--refresh-window", dest="refresh_window_s", type=int, default=None)
    p.add_argument("--refresh-margin", dest="refresh_margin_s", type=int, default=None)
    p.add_argument("--plot", default=os.path.join(ROOT, "docs", "fleet.png"), help="PNG path, or '' for none")
    p.add_argument("--plot-minutes", type=float, default=30)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.refresh_spread_s < 0:
        args.refresh_spread_s = recommended_spread(args.devices, args.rate)
    cfg = fleet_config(args)
    sys.stdout.write("fleet: %d devices, token limit burst %d + %g/s, access tokens %d s, api_interval_s %d, "
                     "api_spread_s %d, refresh_spread_s %d, refresh_window_s %d, seed %d\n"
                     % (args.devices, args.burst, args.rate, args.access_ttl, cfg["api_interval_s"],
                        cfg["api_spread_s"], cfg["refresh_spread_s"], cfg["refresh_window_s"], args.seed))
    results = []
    for sc in (SCENARIOS if args.scenario == "all" else (args.scenario,)):
        res = run(args, sc)
        report(res)
        sys.stdout.flush()
        results.append(res)
    if args.plot:
        plot(results, args.plot, args.rate)
        sys.stdout.write("plot: %s\n" % os.path.relpath(args.plot))
    bad = [r for r in results if r["violations"] or r["recovery_s"] is None
           or (r["scenario"] == "outage" and not outage_target_met(r))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
