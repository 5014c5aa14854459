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

import time

import framebuf

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

_BUSY_TIMEOUT_MS = const(10000)
_INIT = (
    (_PSR, b"\xdf\x0e"),
    (0x4D, b"\x55"), (0xAA, b"\x0f"), (0xE9, b"\x02"), (0xB6, b"\x11"), (0xF3, b"\x0a"),
    (_TRES, b"\xc8\x00\xc8"),
    (_TCON, b"\x00"),
    (_CDI, b"\xd7"),
    (0xE3, b"\x00"),
    (_PON, None),
)


class JD79653A(framebuf.FrameBuffer):
    depth = 1
    light = 1  # white paper
    dark = 0  # black ink
    slow_refresh = True  # a refresh takes seconds: redraw rarely

    def __init__(self, spi, dc, cs, rst, busy, width=200, height=200):
        self.spi = spi
        self.dc = dc
        self.cs = cs
        self.rst = rst
        self.busy = busy
        self.width = width
        self.height = height
        self.buffer = bytearray((width + 7) // 8 * height)
        for i in range(len(self.buffer)):
            self.buffer[i] = 0xFF  # white
        super().__init__(self.buffer, width, height, framebuf.MONO_HLSB)
        self.busy_timeout_ms = _BUSY_TIMEOUT_MS
        self._one = bytearray(1)
        cs.value(1)
        rst.value(0)
        time.sleep_ms(10)
        rst.value(1)
        time.sleep_ms(10)
        for cmd, data in _INIT:
            self.command(cmd, data)
        self.command(_DTM1, self.buffer)  # the glass is taken as white to begin with

    def is_busy(self):
        return self.busy.value() == 0  # BUSY is low while the controller works

    def wait_ready(self, timeout_ms=None):
        if timeout_ms is None:
            timeout_ms = self.busy_timeout_ms
        start = time.ticks_ms()
        while self.is_busy():
            if time.ticks_diff(time.ticks_ms(), start) > timeout_ms:
                raise OSError(110, "e-paper busy")
            time.sleep_ms(10)

    def command(self, cmd, data=None):
        self.wait_ready()
        self.cs.value(0)
        self.dc.value(0)
        self._one[0] = cmd
        self.spi.write(self._one)
        if data:
            self.dc.value(1)
            self.spi.write(data)
        self.cs.value(1)

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
