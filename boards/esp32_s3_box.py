# Espressif ESP32-S3-Box: ESP32-S3, 2.4" ILI9342C 320x240 landscape.
# Pins per Espressif's ESP32-S3-Box hardware reference: SPI MOSI 6, SCLK 7, CS 5,
# DC 4, RST 48, backlight 45 (ESP32-S3-Box-3: backlight 47, set BL = 47);
# BOOT button GPIO 0. The panel is mounted mirrored in both axes (MADCTL MX|MY).
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.ili9342c import ILI9342C

NAME = "ESP32-S3-Box"
DISPLAY_CLASS = "tft_320x240"
MOSI, SCLK, CS, DC, RST, BL = 6, 7, 5, 4, 48, 45
BUTTON_BOOT = 0
NEEDS = ()


def build(machine):
    spi = pins.spi(machine, 2, sck=SCLK, mosi=MOSI, baudrate=40000000)
    display = ILI9342C(spi, pins.output(machine, DC), cs=pins.output(machine, CS, 1),
                       rst=pins.output(machine, RST, 1), backlight=pins.output(machine, BL),
                       madctl=0xC8, invert=False)
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_BOOT)})
