# Any ESP32 dev board + a 128x64 SH1106 I2C OLED module (1.3", address 0x3C).
# SH1106 modules look like SSD1306 ones but need their own driver (ours).
#
# Wiring (change the constants below if yours differs):
#   OLED VCC -> 3V3, GND -> GND, SDA -> GPIO 21, SCL -> GPIO 22
#   "new code" button: the dev board's BOOT button (GPIO 0), nothing to wire
#   "sign out" button (optional): a push button from GPIO 14 to GND
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.sh1106 import SH1106

NAME = "ESP32 + SH1106 OLED (I2C)"
DISPLAY_CLASS = "oled_128x64"
SDA, SCL = 21, 22
I2C_ADDR = 0x3C
BUTTON_NEW_CODE = 0
BUTTON_SIGN_OUT = 14
NEEDS = ()
PSRAM = False
HEAP_KIB = 109  # GC heap after its one planned growth (111,936 B); the rest of RAM is Wi-Fi's and TLS's


def build(machine):
    i2c = pins.i2c(machine, 0, sda=SDA, scl=SCL)
    display = SH1106(i2c, addr=I2C_ADDR)
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_NEW_CODE),
                          "sign_out": pins.button(machine, BUTTON_SIGN_OUT)})
