# Espressif ESP32-S3-Box-3 (2023): ESP32-S3, 2.4" ILI9342C 320x240 landscape.
# Per Espressif's esp-bsp `esp-box-3` (include/bsp/esp-box-3.h, esp-box-3.c): SPI MOSI 6,
# SCLK 7, CS 5, DC 4, backlight 47; BOOT button GPIO 0. The panel reset, GPIO 48 (shared
# with the touch controller), is ACTIVE HIGH: driven high it holds the panel in reset.
# The panel needs the vendor's power, VCOM and gamma settings below (esp-box-3.c's
# vendor_specific_init); on the controller's defaults it stays dark. BGR, mounted
# mirrored in both axes (MADCTL MX|MY|BGR).
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.ili9342c import ILI9342C

NAME = "ESP32-S3-Box-3"
DISPLAY_CLASS = "tft_320x240"
MOSI, SCLK, CS, DC, RST, BL = 6, 7, 5, 4, 48, 47
BUTTON_BOOT = 0
NEEDS = ()
PSRAM = True  # ESP32-S3-WROOM-1 N16R8: 8 MB octal PSRAM
HEAP_KIB = 2048  # GC heap grows into PSRAM: far more than any install path needs

# ILI9342C extended commands as Espressif's BSP sets them, as (register, count, parameters)
# runs in one bytes constant (kept in flash when frozen; one object, not eighteen, in RAM).
VENDOR_INIT = (
    b"\xc8\x03\xff\x93\x42"  # enable the extended command set
    b"\xc0\x02\x0e\x0e"  # power control 1
    b"\xc5\x01\xd0"  # VCOM control
    b"\xc1\x01\x02"  # power control 2
    b"\xb4\x01\x02"  # display inversion control
    b"\xe0\x0f\x00\x03\x08\x06\x13\x09\x39\x39\x48\x02\x0a\x08\x17\x17\x0f"  # positive gamma
    b"\xe1\x0f\x00\x28\x29\x01\x0d\x03\x3f\x33\x52\x04\x0f\x0e\x37\x38\x0f"  # negative gamma
    b"\xb1\x02\x00\x1b"  # frame rate
    b"\xb7\x01\x06"  # entry mode
)


def build(machine):
    spi = pins.spi(machine, 2, sck=SCLK, mosi=MOSI, baudrate=40000000)
    display = ILI9342C(spi, pins.output(machine, DC), cs=pins.output(machine, CS, 1),
                       rst=pins.output(machine, RST, 0), backlight=pins.output(machine, BL),
                       madctl=0xC8, invert=False, rst_active_high=True, vendor_init=VENDOR_INIT)
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_BOOT)})
