# Espressif ESP32-S3-Box (the original, 2021): ESP32-S3, 2.4" ST7789 320x240 landscape.
# Pins per Espressif's esp-bsp `esp-box` (include/bsp/esp-box.h): SPI MOSI 6, SCLK 7,
# CS 5, DC 4, RST 48 (active low), backlight 45; BOOT button GPIO 0. The panel is
# BGR and mounted mirrored in both axes (MADCTL MX|MY|BGR), with no inversion.
# The ESP32-S3-Box-3 is a different panel: use esp32_s3_box_3.
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.st7789 import ST7789

NAME = "ESP32-S3-Box"
DISPLAY_CLASS = "tft_320x240"
MOSI, SCLK, CS, DC, RST, BL = 6, 7, 5, 4, 48, 45
BUTTON_BOOT = 0
NEEDS = ()
PSRAM = True  # ESP32-S3-WROOM-1 N16R8: 8 MB octal PSRAM
HEAP_KIB = 2048  # GC heap grows into PSRAM: far more than any install path needs


def build(machine):
    spi = pins.spi(machine, 2, sck=SCLK, mosi=MOSI, baudrate=40000000)
    display = ST7789(spi, pins.output(machine, DC), width=320, height=240,
                     cs=pins.output(machine, CS, 1), rst=pins.output(machine, RST, 1),
                     backlight=pins.output(machine, BL), x_offset=0, y_offset=0,
                     madctl=0xC8, invert=False)
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_BOOT)})
