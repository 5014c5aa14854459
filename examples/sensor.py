# A sensor that wakes, gets an access token (signing in on its first wake, refreshing when the
# token is old, neither when it is fresh), POSTs one reading to the API and sleeps again.
#
#   micropython examples/sensor.py config.json
#
# config.json: issuer, client_id, audience, api_url, state_dir, ca_file (see docs/LIBRARY.md).
import json
import sys

from deviceflow.client import DeviceClient

SLEEP_S = 600


def read_sensor():
    return {"temperature_c": 21.5, "humidity_pct": 40}  # your sensor's driver here


def show(code):  # on a board: draw it on the display (or pass surface=your_display)
    print("sign in at", code.verification_uri, "with code", code.user_code)


def on_event(event, **fields):
    print("event", event, " ".join("%s=%s" % kv for kv in sorted(fields.items())))


def deep_sleep(seconds):
    try:
        import machine

        machine.deepsleep(seconds * 1000)  # the board boots into main.py again
    except (ImportError, AttributeError):
        print("sleeping", seconds, "s")  # the Unix port: the next run is the next wake


with open(sys.argv[1] if len(sys.argv) > 1 else "config.json") as f:
    cfg = json.load(f)
auth = DeviceClient(cfg, show=show, on_event=on_event)
resp = auth.request("POST", cfg["api_url"], {"Content-Type": "application/json"},
                    json.dumps(read_sensor()))
print("api", resp.status, resp.body.decode())
auth.close()
deep_sleep(SLEEP_S)
