# Any ESP32 dev board + a 128x32 SSD1306 I2C OLED module (0.91", address 0x3C).
#
# The same as the 128x64 module but for the panel's height: wiring, buttons and build come
# from generic_ssd1306.py (change the constants there if yours differs).
# 32 rows hold no QR code of a sign-in URL (a version 1 symbol with its quiet zone is the
# largest that fits): the code screen shows the URL and the code on pages in turn.
# The SSD1306 driver is micropython-lib's (`mpremote mip install ssd1306`).
import generic_ssd1306

NAME = "ESP32 + SSD1306 128x32 OLED (I2C)"
DISPLAY_CLASS = "oled_128x32"
NEEDS = ("ssd1306",)
PSRAM = False
HEAP_KIB = 109  # GC heap after its one planned growth (111,936 B); the rest of RAM is Wi-Fi's and TLS's


def build(machine):
    return generic_ssd1306.build(machine, NAME, DISPLAY_CLASS, height=32)
