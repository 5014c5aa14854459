# ILI9342C colour TFT over SPI, 320x240 landscape native (M5Stack Core,
# ESP32-S3-Box-3), drawn directly. A minimal MIPI DCS bring-up: software reset,
# the panel vendor's register settings when the board gives them, sleep out,
# 16-bit pixels, memory access control, inversion, display on.
#
# vendor_init: bytes of (command, parameter count, parameters) runs, sent after the
# software reset. Some panels stay dark or show wrong colours on the controller's
# power-on defaults (power control, VCOM, gamma): their board file passes the
# vendor's sequence.
#
# MADCTL bits: 0x80 MY (rows bottom-up), 0x40 MX (columns right-left),
# 0x20 MV (swap rows/columns), 0x08 BGR subpixel order. M5Stack Core uses BGR
# (0x08); the S3-Box-3 panel is mounted mirrored in both axes (0xC8).
from micropython import const

from deviceflow.drivers.tft import DcsTft

_SWRESET = const(0x01)
_SLPOUT = const(0x11)
_DISPON = const(0x29)


class ILI9342C(DcsTft):
    def __init__(self, spi, dc, width=320, height=240, cs=None, rst=None, backlight=None,
                 madctl=0x08, invert=False, rst_active_high=False, vendor_init=None):
        DcsTft.__init__(self, spi, dc, width, height, cs=cs, rst=rst, backlight=backlight, madctl=madctl,
                        invert=invert, rst_active_high=rst_active_high, vendor_init=vendor_init)

    def init_sequence(self, vendor_init=None):
        vendor = ()
        if vendor_init:
            runs = []
            i = 0
            while i + 1 < len(vendor_init):
                n = vendor_init[i + 1]
                runs.append((vendor_init[i], vendor_init[i + 2:i + 2 + n], 0))
                i += 2 + n
            vendor = tuple(runs)
        return (((_SWRESET, None, 120),) + vendor + ((_SLPOUT, None, 120),) + self._pixel_setup(0)
                + ((_DISPON, None, 20),))
