# SSD1680 black/white e-paper over SPI (LilyGo T5 2.13", 250x122), as a
# framebuf surface holding the 1-bit frame (250 x 16 pages = 4000 bytes).
#
# The panel is 122 sources (RAM x, 8 pixels per byte, MSB first) by 250 gates
# (RAM y). The surface is landscape 250x122, so the frame is MONO_VLSB: byte
# [page * 250 + x] holds pixels y = 8*page .. 8*page+7 of column x, LSB on top.
# With data entry mode 0x07 (Y address first, X and Y incrementing) the RAM takes
# exactly that byte order: page p is RAM x-byte p, column x is gate x. Only the
# bit order differs (RAM is MSB first), so show() bit-reverses each page row
# through a 250-byte buffer. RAM bit 1 is white, 0 is black.
#
# show() starts a full refresh (about 2-3 s) and returns at once; the next bus
# command waits for BUSY to drop, so the app keeps ticking during a refresh.
from micropython import const

import framebuf

from deviceflow.drivers.epaper import SpiEpaper

_DRIVER_OUTPUT = const(0x01)
_SLEEP_MODE = const(0x10)
_DATA_ENTRY = const(0x11)
_SW_RESET = const(0x12)
_TEMP_SENSOR = const(0x18)
_MASTER_ACTIVATE = const(0x20)
_UPDATE_CTRL1 = const(0x21)
_UPDATE_CTRL2 = const(0x22)
_WRITE_BW_RAM = const(0x24)
_BORDER = const(0x3C)
_RAM_X_RANGE = const(0x44)
_RAM_Y_RANGE = const(0x45)
_RAM_X_COUNTER = const(0x4E)
_RAM_Y_COUNTER = const(0x4F)

_FULL_REFRESH = const(0xF7)  # clock on, analog on, load temperature + LUT, display, off


def _reversed_bits():
    t = bytearray(256)
    for i in range(256):
        r = 0
        for b in range(8):
            if i & (1 << b):
                r |= 0x80 >> b
        t[i] = r
    return t


class SSD1680(SpiEpaper):
    def __init__(self, spi, dc, cs, rst, busy, width=250, height=122):
        self.pages = (height + 7) // 8
        super().__init__(spi, dc, cs, rst, busy, width, height, width * self.pages, framebuf.MONO_VLSB)
        self._row = bytearray(width)
        self._rev = _reversed_bits()
        self.command(_SW_RESET)
        last = width - 1
        self.command(_DRIVER_OUTPUT, bytes((last & 0xFF, last >> 8, 0x00)))
        self.command(_DATA_ENTRY, b"\x07")
        self.command(_RAM_X_RANGE, bytes((0, self.pages - 1)))
        self.command(_RAM_Y_RANGE, bytes((0, 0, last & 0xFF, last >> 8)))
        self.command(_BORDER, b"\x05")
        self.command(_UPDATE_CTRL1, b"\x00\x80")
        self.command(_TEMP_SENSOR, b"\x80")

    def show(self):
        """Send the frame and start a full refresh; returns without waiting for it."""
        self.command(_RAM_X_COUNTER, b"\x00")
        self.command(_RAM_Y_COUNTER, b"\x00\x00")
        self.command(_WRITE_BW_RAM)
        w = self.width
        row = self._row
        rev = self._rev
        buf = self.buffer
        self.cs.value(0)
        self.dc.value(1)
        for page in range(self.pages):
            base = page * w
            for i in range(w):
                row[i] = rev[buf[base + i]]
            self.spi.write(row)
        self.cs.value(1)
        self.command(_UPDATE_CTRL2, bytes((_FULL_REFRESH,)))
        self.command(_MASTER_ACTIVATE)

    def sleep(self):
        """Deep sleep (keeps the image; a reset, i.e. a new driver, wakes it)."""
        self.command(_SLEEP_MODE, b"\x01")
