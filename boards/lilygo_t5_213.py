# LilyGo T5 2.13" (V2.3.x, ESP32): black/white e-paper 250x122 with an SSD1680.
# Pins from LilyGo's LilyGo-T5-Epaper-Series boards.h (LILYGO_T5_V213): EPD MOSI 23,
# SCLK 18, CS 5, DC 17, RST 16, BUSY 4; BUTTON_1 39 (external pull-up, active
# low); LED 19 (lit when LOW). Older T5 2.13" revisions carry an SSD1675B (GDEH0213B73)
# panel, which this driver does not claim to support.
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.ssd1680 import SSD1680

NAME = "LilyGo T5 2.13in e-paper"
DISPLAY_CLASS = "epaper_250x122"
MOSI, SCLK, CS, DC, RST, BUSY = 23, 18, 5, 17, 16, 4
BUTTON_1 = 39
LED = 19
NEEDS = ()
PSRAM = True  # LilyGo lists 8 MB PSRAM for the T5 V2.3.1; a unit without it: False, 109
HEAP_KIB = 2048  # the GC heap grows into PSRAM


def build(machine):
    spi = pins.spi(machine, 2, sck=SCLK, mosi=MOSI, baudrate=4000000)
    display = SSD1680(spi, pins.output(machine, DC), pins.output(machine, CS, 1),
                      pins.output(machine, RST, 1), machine.Pin(BUSY, machine.Pin.IN))
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_1, pull_up=False)},
                 led=pins.led(machine, LED, active_low=True))
