# JD79653A black/white e-paper over SPI: the GDEW0154M09 1.54" 200x200 panel of the
# M5Stack CoreInk, as a framebuf surface holding the 1-bit frame (200 x 200 / 8 = 5000
# bytes, MONO_HLSB: rows of 25 bytes, MSB leftmost), which is exactly the order the
# controller's RAM takes. Bit 1 is white paper, 0 black ink.
#
# The controller (Fitipower, UC8151-style command set) keeps two frames: "old" (DTM1,
# 0x10) and "new" (DTM2, 0x13); a refresh (DRF, 0x12) drives each pixel from old to new.
# So after every refresh the old frame must equal what the glass shows: show() sends
# the new frame, refreshes, waits for BUSY (low while busy) and then writes the same
# frame as "old". That wait (a second or two, at most once a minute in this app) is
# the price of not keeping a second 5000-byte frame in RAM.
#
# Init values are those the panel's maker and M5Stack's library use for this panel:
# panel setting 0xDF 0x0E, resolution 200x200, VCOM/data interval 0xD7, and a few
# vendor registers (0x4D, 0xAA, 0xE9, 0xB6, 0xF3, 0xE3) without public documentation.
from micropython import const

import framebuf

from deviceflow.drivers.epaper import SpiEpaper

_PSR = const(0x00)  # panel setting
_POF = const(0x02)  # power off
_PON = const(0x04)  # power on
_DSLP = const(0x07)  # deep sleep (with check code 0xA5)
_DTM1 = const(0x10)  # old frame
_DRF = const(0x12)  # display refresh
_DTM2 = const(0x13)  # new frame
_CDI = const(0x50)  # VCOM and data interval
_TCON = const(0x60)
_TRES = const(0x61)  # resolution

_INIT = (
    (_PSR, b"\xdf\x0e"),
    (0x4D, b"\x55"), (0xAA, b"\x0f"), (0xE9, b"\x02"), (0xB6, b"\x11"), (0xF3, b"\x0a"),
    (_TRES, b"\xc8\x00\xc8"),
    (_TCON, b"\x00"),
    (_CDI, b"\xd7"),
    (0xE3, b"\x00"),
    (_PON, None),
)


class JD79653A(SpiEpaper):
    BUSY_WHILE = 0  # BUSY is low while the controller works

    def __init__(self, spi, dc, cs, rst, busy, width=200, height=200):
        super().__init__(spi, dc, cs, rst, busy, width, height, (width + 7) // 8 * height, framebuf.MONO_HLSB)
        for cmd, data in _INIT:
            self.command(cmd, data)
        self.command(_DTM1, self.buffer)  # the glass is taken as white to begin with

    def show(self):
        """Send the frame, refresh, and once done keep it as the controller's old frame."""
        self.command(_DTM2, self.buffer)
        self.command(_DRF)
        self.command(_DTM1, self.buffer)  # waits for the refresh to end first

    def sleep(self):
        """Power off and deep sleep (keeps the image; a reset, i.e. a new driver, wakes it)."""
        self.command(_CDI, b"\xf7")
        self.command(_POF)
        self.command(_DSLP, b"\xa5")
