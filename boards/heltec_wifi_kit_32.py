# Heltec WiFi Kit 32 (V2): ESP32 with a 0.96" SSD1306 128x64 OLED on I2C.
# Pins per Heltec's pin map: OLED SDA 4, SCL 15, RST 16; LED 25; PRG button 0.
# The SSD1306 driver is micropython-lib's (`mpremote mip install ssd1306`).
# heltec_wifi_kit_32_v3.py builds on this file with the V3's pins.
from deviceflow.board import Board
from deviceflow.drivers import pins

NAME = "Heltec WiFi Kit 32 (V2)"
DISPLAY_CLASS = "oled_128x64"
SDA, SCL, OLED_RST = 4, 15, 16
LED = 25
BUTTON_PRG = 0
NEEDS = ("ssd1306",)  # micropython-lib packages this board needs
PSRAM = False
HEAP_KIB = 109  # GC heap after its one planned growth (111,936 B); the rest of RAM is Wi-Fi's and TLS's


def build(machine, name=NAME, sda=SDA, scl=SCL, oled_rst=OLED_RST, led=LED):
    import ssd1306

    pins.pulse_reset(pins.output(machine, oled_rst, 1))
    i2c = pins.i2c(machine, 0, sda=sda, scl=scl)
    display = pins.mono_oled(ssd1306.SSD1306_I2C(128, 64, i2c))
    return Board(name=name, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_PRG)},
                 led=pins.led(machine, led))
