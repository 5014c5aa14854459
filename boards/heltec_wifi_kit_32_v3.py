# Heltec WiFi Kit 32 V3: ESP32-S3 with a 0.96" SSD1306 128x64 OLED on I2C.
# Pins per Heltec's V3 pin map: OLED SDA 17, SCL 18, RST 21; Vext 36 powers the
# OLED when driven LOW; LED 35; PRG button 0. Apart from the pins and Vext it is the
# V2: the build is heltec_wifi_kit_32.py's.
# The SSD1306 driver is micropython-lib's (`mpremote mip install ssd1306`).
from deviceflow.drivers import pins

import heltec_wifi_kit_32

NAME = "Heltec WiFi Kit 32 (V3)"
DISPLAY_CLASS = "oled_128x64"
SDA, SCL, OLED_RST = 17, 18, 21
VEXT = 36  # active low: 0 = OLED powered
LED = 35
NEEDS = ("ssd1306",)
PSRAM = False  # ESP32-S3FN8: flash only
HEAP_KIB = 109  # taken as a plain ESP32's 111,936 B (the S3 starts at 64 KiB; not measured here)


def build(machine):
    import time

    pins.output(machine, VEXT, 0)
    time.sleep_ms(50)  # let the OLED supply settle before reset
    return heltec_wifi_kit_32.build(machine, NAME, SDA, SCL, OLED_RST, LED)
