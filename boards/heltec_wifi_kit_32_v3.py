# Heltec WiFi Kit 32 V3: ESP32-S3 with a 0.96" SSD1306 128x64 OLED on I2C.
# Pins per Heltec's V3 pin map: OLED SDA 17, SCL 18, RST 21; Vext 36 powers the
# OLED when driven LOW; LED 35; PRG button 0.
# The SSD1306 driver is micropython-lib's (`mpremote mip install ssd1306`).
from deviceflow.board import Board
from deviceflow.drivers import pins

NAME = "Heltec WiFi Kit 32 (V3)"
DISPLAY_CLASS = "oled_128x64"
SDA, SCL, OLED_RST = 17, 18, 21
VEXT = 36  # active low: 0 = OLED powered
LED = 35
BUTTON_PRG = 0
NEEDS = ("ssd1306",)
PSRAM = False  # ESP32-S3FN8: flash only
HEAP_KIB = 109  # taken as a plain ESP32's 111,936 B (the S3 starts at 64 KiB; not measured here)


def build(machine):
    import ssd1306
    import time

    pins.output(machine, VEXT, 0)
    time.sleep_ms(50)  # let the OLED supply settle before reset
    pins.pulse_reset(pins.output(machine, OLED_RST, 1))
    i2c = pins.i2c(machine, 0, sda=SDA, scl=SCL)
    display = pins.mono_oled(ssd1306.SSD1306_I2C(128, 64, i2c))
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_PRG)},
                 led=pins.led(machine, LED))
