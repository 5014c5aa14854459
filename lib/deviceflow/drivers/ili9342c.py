# ILI9342C colour TFT over SPI, 320x240 landscape native (M5Stack Core,
# ESP32-S3-Box), drawn directly. A minimal MIPI DCS bring-up: software reset,
# sleep out, 16-bit pixels, memory access control, inversion, display on; the
# power and gamma registers keep the controller's power-on defaults.
#
# MADCTL bits: 0x80 MY (rows bottom-up), 0x40 MX (columns right-left),
# 0x20 MV (swap rows/columns), 0x08 BGR subpixel order. M5Stack Core uses BGR
# (0x08); the S3-Box panel is mounted mirrored in both axes (0xC8).
from deviceflow.drivers.tft import DcsTft

SWRESET = 0x01
SLPOUT = 0x11
INVOFF = 0x20
INVON = 0x21
DISPON = 0x29
MADCTL = 0x36
COLMOD = 0x3A
COLMOD_RGB565 = 0x55


class ILI9342C(DcsTft):
    def __init__(self, spi, dc, width=320, height=240, cs=None, rst=None, backlight=None,
                 madctl=0x08, invert=False):
        self.madctl = madctl
        self.invert = invert
        DcsTft.__init__(self, spi, dc, width, height, cs=cs, rst=rst, backlight=backlight)

    def init_sequence(self):
        return (
            (SWRESET, None, 120),
            (SLPOUT, None, 120),
            (COLMOD, bytes((COLMOD_RGB565,)), 0),
            (MADCTL, bytes((self.madctl,)), 0),
            (INVON if self.invert else INVOFF, None, 0),
            (DISPON, None, 20),
        )
