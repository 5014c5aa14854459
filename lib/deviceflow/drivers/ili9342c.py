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
from deviceflow.drivers.tft import DcsTft


class ILI9342C(DcsTft):
    def __init__(self, spi, dc, width=320, height=240, cs=None, rst=None, backlight=None,
                 madctl=0x08, invert=False, rst_active_high=False, vendor_init=None):
        self.madctl = madctl
        self.invert = invert
        DcsTft.__init__(self, spi, dc, width, height, cs=cs, rst=rst, backlight=backlight,
                        rst_active_high=rst_active_high, vendor_init=vendor_init)

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
        # MIPI DCS commands (tft.py), each with its parameters and the wait after it in ms.
        return ((0x01, None, 120),) + vendor + (  # SWRESET, then the vendor's settings
            (0x11, None, 120),  # SLPOUT: sleep out
            (0x3A, bytes((0x55,)), 0),  # COLMOD: 16-bit RGB565 pixels
            (0x36, bytes((self.madctl,)), 0),  # MADCTL
            (0x21 if self.invert else 0x20, None, 0),  # INVON / INVOFF
            (0x29, None, 20),  # DISPON
        )
