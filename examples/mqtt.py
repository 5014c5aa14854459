# umqtt.simple (micropython-lib: `mpremote mip install umqtt.simple`) signing in to an MQTT
# broker with the access token as its password, as brokers with JWT authentication expect
# (EMQX's JWT authenticator, HiveMQ's Enterprise Security Extension): the broker checks the
# token's signature, issuer, audience and expiry against the provider's keys.
#
#   micropython examples/mqtt.py config.json
#
# config.json: as for sensor.py, plus mqtt_host and mqtt_port (1883; use TLS in production:
# the password is a bearer token).
import json
import sys

from umqtt.simple import MQTTClient

from deviceflow.client import DeviceClient


def show(code):
    print("sign in at", code.verification_uri, "with code", code.user_code)


with open(sys.argv[1] if len(sys.argv) > 1 else "config.json") as f:
    cfg = json.load(f)
auth = DeviceClient(cfg, show=show)
# A token that expires while connected does not drop the session; a reconnect calls token()
# again, which refreshes it first when it is due.
mqtt = MQTTClient("sensor-1", cfg["mqtt_host"], cfg.get("mqtt_port", 1883), user="sensor-1",
                  password=auth.token())
mqtt.connect()
print("connected")
mqtt.publish(b"sensors/sensor-1/reading", json.dumps({"temperature_c": 21.5}))
print("published")
mqtt.disconnect()
auth.close()
