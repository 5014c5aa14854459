# SH1106 128x64 monochrome OLED over I2C, as a framebuf surface (1 KB buffer).
#
# The SH1106 has 132 columns of RAM and shows columns 2..129 on a 128-pixel
# panel, and (unlike the SSD1306) only page addressing: show() sends, for each
# of the 8 pages, "page address, column low nibble, column high nibble", then
# the page's 128 bytes. I2C control bytes: 0x80 = one command byte follows,
# 0x40 = display data follows.
from micropython import const

import framebuf

_SET_PAGE = const(0xB0)
_SET_COL_LO = const(0x00)
_SET_COL_HI = const(0x10)

_INIT = (
    0xAE,  # display off
    0xD5, 0x80,  # clock divide / oscillator
    0xA8, 0x3F,  # multiplex ratio: 64 rows
    0xD3, 0x00,  # display offset 0
    0x40,  # start line 0
    0xAD, 0x8B,  # DC-DC converter on
    0xA1,  # segment remap: column 127 -> SEG0 (not mirrored on usual modules)
    0xC8,  # COM scan from COM63 down
    0xDA, 0x12,  # COM pins: alternative
    0x81, 0xCF,  # contrast
    0xD9, 0x22,  # pre-charge
    0xDB, 0x35,  # VCOM deselect level
    0xA4,  # show RAM contents
    0xA6,  # normal (not inverted)
    0xAF,  # display on
)


class SH1106(framebuf.FrameBuffer):
    depth = 1
    light = 1  # lit pixel: background and QR quiet zone
    dark = 0  # unlit: QR modules and text

    def __init__(self, i2c, width=128, height=64, addr=0x3C, rst=None, col_offset=2):
        self.i2c = i2c
        self.addr = addr
        self.width = width
        self.height = height
        self.pages = height // 8
        self.col_offset = col_offset
        self.buffer = bytearray(width * self.pages)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self._cmd = bytearray(2)
        self._cmd[0] = 0x80
        self._data_prefix = b"\x40"
        if rst is not None:
            import time

            rst.value(0)
            time.sleep_ms(10)
            rst.value(1)
            time.sleep_ms(10)
        for c in _INIT:
            self.command(c)
        self.fill(0)
        self.show()

    def command(self, c):
        self._cmd[1] = c
        self.i2c.writeto(self.addr, self._cmd)

    def show(self):
        mv = memoryview(self.buffer)
        w = self.width
        lo = _SET_COL_LO | (self.col_offset & 0x0F)
        hi = _SET_COL_HI | (self.col_offset >> 4)
        for page in range(self.pages):
            self.command(_SET_PAGE | page)
            self.command(lo)
            self.command(hi)
            self.i2c.writevto(self.addr, (self._data_prefix, mv[page * w:(page + 1) * w]))

    def power(self, on):
        self.command(0xAF if on else 0xAE)

    def contrast(self, level):
        self.command(0x81)
        self.command(level & 0xFF)
