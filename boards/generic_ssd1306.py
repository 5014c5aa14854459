# Any ESP32 dev board + a 128x64 SSD1306 I2C OLED module (0.96", address 0x3C).
#
# Wiring (change the constants below if yours differs):
#   OLED VCC -> 3V3, GND -> GND, SDA -> GPIO 21, SCL -> GPIO 22
#   "new code" button: the dev board's BOOT button (GPIO 0), nothing to wire
#   "sign out" button (optional): a push button from GPIO 14 to GND
# The SSD1306 driver is micropython-lib's (`mpremote mip install ssd1306`).
# generic_ssd1306_128x32.py builds on this file for the 128x32 module.
from deviceflow.board import Board
from deviceflow.drivers import pins

NAME = "ESP32 + SSD1306 OLED (I2C)"
DISPLAY_CLASS = "oled_128x64"
SDA, SCL = 21, 22
I2C_ADDR = 0x3C
BUTTON_NEW_CODE = 0
BUTTON_SIGN_OUT = 14
NEEDS = ("ssd1306",)
PSRAM = False
HEAP_KIB = 109  # GC heap after its one planned growth (111,936 B); the rest of RAM is Wi-Fi's and TLS's


def build(machine, name=NAME, display_class=DISPLAY_CLASS, height=64):
    import ssd1306

    i2c = pins.i2c(machine, 0, sda=SDA, scl=SCL)
    display = pins.mono_oled(ssd1306.SSD1306_I2C(128, height, i2c, addr=I2C_ADDR))
    return Board(name=name, display=display, display_class=display_class,
                 buttons={"new_code": pins.button(machine, BUTTON_NEW_CODE),
                          "sign_out": pins.button(machine, BUTTON_SIGN_OUT)})
