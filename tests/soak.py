# Soak loop, MicroPython side (tests/test_soak.py and `make soak` drive it):
#
#   micropython tests/soak.py <workdir> <cycles> [every]
#
# <workdir>/soak.json holds {"token_url", "api_url", "client_id", "ca_file"}; <workdir>/rt holds
# the first refresh token. Each cycle is what the app does when a token falls due: refresh with
# the real RefreshGrant over the real Transport (one kept-alive TLS connection), store the record
# atomically in the real TokenStore, load it back (the next cycle refreshes with the token that
# reached flash, so a lost rotation fails the loop), then call the API with the new access token.
# Every `every` cycles: gc.collect() and a line `mem cycle=N alloc=BYTES`. Ends with
# `done cycles=N ms=ELAPSED handshakes=H`, or `fail cycle=N reason=...` and exit status 1.
import gc
import json
import sys
import time

from deviceflow.clock import SystemClock
from deviceflow.http import Transport
from deviceflow.refresh import RefreshGrant
from deviceflow.store import TokenStore, load_or_create_key
from deviceflow.session import make_record


def tcp_fast(http):
    """Harness only: the stub answers in two TCP segments (head, then body) and the request
    goes out the same way, so Nagle plus Linux's 40 ms delayed ACK would make every exchange
    take 40-90 ms here. TCP_NODELAY and TCP_QUICKACK on the kept-alive socket remove that
    wait; they change no byte the transport sends or reads."""
    raw = getattr(http, "_raw", None)
    if raw is not None:
        try:
            raw.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
            raw.setsockopt(6, 12, 1)  # IPPROTO_TCP, TCP_QUICKACK (Linux; reset by the kernel)
        except (OSError, AttributeError):
            pass


def fail(cycle, reason):
    print("fail cycle=%d reason=%s" % (cycle, reason))
    sys.exit(1)


def refresh(clock, http, cfg, rt, cycle):
    grant = RefreshGrant(clock, cfg["client_id"], cfg["token_url"], rt)
    action = grant.start(clock.ticks_ms())
    tcp_fast(http)
    resp = http.request(action.method, action.url, action.headers, action.body)
    action = grant.on_response(clock.ticks_ms(), resp.status, resp.headers, resp.body)
    if action.kind != "tokens":
        fail(cycle, "refresh_" + action.kind + ("_" + action.reason if action.kind == "failed" else ""))
    if not action.rotated:
        fail(cycle, "not_rotated")
    return action.tokens


def main(argv):
    work = argv[1]
    cycles = int(argv[2])
    every = int(argv[3]) if len(argv) > 3 else 10
    with open(work + "/soak.json") as f:
        cfg = json.load(f)
    with open(work + "/rt") as f:
        rt = f.read().strip()
    clock = SystemClock()
    http = Transport(ca_file=cfg["ca_file"])
    store = TokenStore(work + "/tokens.json", load_or_create_key(work + "/device.key"))
    record = None
    t0 = time.ticks_ms()
    for cycle in range(1, cycles + 1):
        tokens = refresh(clock, http, cfg, rt, cycle)
        store.save(make_record(tokens, clock.time(), None, record))
        tokens = None
        record = store.load()
        if record is None:
            fail(cycle, "store_" + str(store.last_error))
        rt = record["refresh_token"]
        tcp_fast(http)
        resp = http.request("GET", cfg["api_url"], {"Authorization": "Bearer " + record["access_token"],
                                                    "Accept": "application/json"})
        if resp.status != 200:
            fail(cycle, "api_%d" % resp.status)
        resp = None
        if cycle % every == 0:
            gc.collect()
            print("mem cycle=%d alloc=%d" % (cycle, gc.mem_alloc()))
    print("done cycles=%d ms=%d handshakes=%d" % (cycles, time.ticks_diff(time.ticks_ms(), t0), http.handshakes))
    http.close()


main(sys.argv)
