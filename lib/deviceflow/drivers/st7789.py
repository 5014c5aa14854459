# ST7789 colour TFT over SPI (LilyGo T-Display 1.14", 135x240; the original
# ESP32-S3-Box 2.4", 320x240), drawn directly.
#
# The controller's RAM is 240x320; a 135x240 panel shows a window of it. In
# portrait (MADCTL 0x00) that window starts at column 52, row 40: (240 - 135) / 2
# rounded down and (320 - 240) / 2. These are the CGRAM offsets TFT_eSPI's
# ST7789_Rotation.h uses for 135x240 panels (rotation 0: colstart 52, rowstart 40),
# the setup LilyGo ships for the T-Display. The T-Display's IPS panel needs
# display inversion on (INVON), or white shows as black.
from deviceflow.drivers.tft import DcsTft


class ST7789(DcsTft):
    def __init__(self, spi, dc, width=135, height=240, cs=None, rst=None, backlight=None,
                 x_offset=52, y_offset=40, madctl=0x00, invert=True, rst_active_high=False):
        self.madctl = madctl
        self.invert = invert
        DcsTft.__init__(self, spi, dc, width, height, cs=cs, rst=rst, backlight=backlight,
                        x_offset=x_offset, y_offset=y_offset, rst_active_high=rst_active_high)

    def init_sequence(self, vendor_init=None):
        # MIPI DCS commands (tft.py), each with its parameters and the wait after it in ms.
        return (
            (0x01, None, 150),  # SWRESET
            (0x11, None, 10),  # SLPOUT: sleep out
            (0x3A, bytes((0x55,)), 10),  # COLMOD: 16-bit RGB565 pixels
            (0x36, bytes((self.madctl,)), 0),  # MADCTL
            (0x21 if self.invert else 0x20, None, 0),  # INVON / INVOFF
            (0x13, None, 10),  # NORON: normal display mode
            (0x29, None, 10),  # DISPON
        )
