# M5Stack Core (Basic / Gray): ESP32, 2" ILI9342C 320x240 landscape.
# Pins per M5Stack's docs: SPI MOSI 23, SCLK 18 (MISO 19 shared with the SD
# card), CS 14, DC 27, RST 33, backlight 32; buttons A 39, B 38, C 37 (input-only
# GPIOs with external pull-ups, active low).
# INVERT: later Core units (Basic v2.6 and on) carry an IPS panel that needs
# display inversion; set INVERT = False for an older TN panel whose colours
# (white background) come out negative.
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.ili9342c import ILI9342C

NAME = "M5Stack Core"
DISPLAY_CLASS = "tft_320x240"
MOSI, SCLK, CS, DC, RST, BL = 23, 18, 14, 27, 33, 32
BUTTON_A, BUTTON_B, BUTTON_C = 39, 38, 37
INVERT = True
NEEDS = ()
PSRAM = False  # Basic/Gray; the Fire has PSRAM
HEAP_KIB = 109  # GC heap after its one planned growth (111,936 B); the rest of RAM is Wi-Fi's and TLS's


def build(machine):
    spi = pins.spi(machine, 2, sck=SCLK, mosi=MOSI, baudrate=40000000)
    display = ILI9342C(spi, pins.output(machine, DC), cs=pins.output(machine, CS, 1),
                       rst=pins.output(machine, RST, 1), backlight=pins.output(machine, BL),
                       madctl=0x08, invert=INVERT)
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_A, pull_up=False),
                          "sign_out": pins.button(machine, BUTTON_C, pull_up=False)})
