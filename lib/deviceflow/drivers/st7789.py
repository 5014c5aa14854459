# ST7789 colour TFT over SPI (LilyGo T-Display 1.14", 135x240), drawn directly.
#
# The controller's RAM is 240x320; a 135x240 panel shows a window of it. In
# portrait (MADCTL 0x00) that window starts at column 52, row 40: (240 - 135) / 2
# rounded down and (320 - 240) / 2. These are the CGRAM offsets TFT_eSPI's
# ST7789_Rotation.h uses for 135x240 panels (rotation 0: colstart 52, rowstart 40),
# the setup LilyGo ships for the T-Display. The T-Display's IPS panel needs
# display inversion on (INVON), or white shows as black.
from deviceflow.drivers.tft import DcsTft

SWRESET = 0x01
SLPOUT = 0x11
NORON = 0x13
INVOFF = 0x20
INVON = 0x21
DISPON = 0x29
MADCTL = 0x36
COLMOD = 0x3A
COLMOD_RGB565 = 0x55


class ST7789(DcsTft):
    def __init__(self, spi, dc, width=135, height=240, cs=None, rst=None, backlight=None,
                 x_offset=52, y_offset=40, madctl=0x00, invert=True):
        self.madctl = madctl
        self.invert = invert
        DcsTft.__init__(self, spi, dc, width, height, cs=cs, rst=rst, backlight=backlight,
                        x_offset=x_offset, y_offset=y_offset)

    def init_sequence(self):
        return (
            (SWRESET, None, 150),
            (SLPOUT, None, 10),
            (COLMOD, bytes((COLMOD_RGB565,)), 10),
            (MADCTL, bytes((self.madctl,)), 0),
            (INVON if self.invert else INVOFF, None, 0),
            (NORON, None, 10),
            (DISPON, None, 10),
        )
