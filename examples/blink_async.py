# An asyncio app that keeps blinking while the device signs in, then calls the API every N
# seconds: the sign-in and the refreshes await between their steps, so other tasks keep running.
#
#   micropython examples/blink_async.py config.json [every_s=60] [calls=0: forever]
import asyncio
import json
import sys

from deviceflow.client import DeviceClient


def sleep_ms(ms):  # MicroPython's asyncio has sleep_ms; CPython's only sleep
    return asyncio.sleep_ms(ms) if hasattr(asyncio, "sleep_ms") else asyncio.sleep(ms / 1000)


async def blink():
    n = 0
    while True:
        n += 1
        print("blink", n)  # on a board: led.value(n & 1)
        await sleep_ms(100)


async def call_api(auth, url, every_s, calls):
    n = 0
    while not calls or n < calls:
        resp = await auth.request_async("GET", url, {"Accept": "application/json"})
        n += 1
        print("api", n, resp.status, resp.body.decode())
        await sleep_ms(every_s * 1000)


def on_event(event, **fields):
    print("event", event, " ".join("%s=%s" % kv for kv in sorted(fields.items())))


async def main(cfg, every_s, calls):
    auth = DeviceClient(cfg, on_event=on_event)  # no show=: the code is printed
    blinker = asyncio.create_task(blink())
    try:
        await call_api(auth, cfg["api_url"], every_s, calls)
    finally:
        blinker.cancel()
        auth.close()


with open(sys.argv[1] if len(sys.argv) > 1 else "config.json") as f:
    config = json.load(f)
asyncio.run(main(config, int(sys.argv[2]) if len(sys.argv) > 2 else 60,
                 int(sys.argv[3]) if len(sys.argv) > 3 else 0))
