# Shared core of the colour SPI TFT drivers (ST7789, ILI9342C): both speak the
# MIPI DCS command set (CASET 0x2A, RASET 0x2B, RAMWR 0x2C, MADCTL 0x36, ...).
#
# These panels are drawn directly: there is no frame buffer in RAM (a 135x240
# RGB565 frame is 64.8 KB, more than one ESP32 heap area). fill_rect sets the
# window and streams the colour from a small preallocated buffer; text renders
# each 8x8 glyph into an 8-byte framebuf and sends its pixels. show() is a no-op.
from micropython import const

import time

import framebuf

_CASET = const(0x2A)
_RASET = const(0x2B)
_RAMWR = const(0x2C)

_CHUNK_PIXELS = const(128)  # colour buffer: 256 bytes, allocated once per display


class DcsTft:
    depth = 16
    light = 0xFFFF  # white: background and QR quiet zone
    dark = 0x0000  # black: QR modules and text

    def __init__(self, spi, dc, width, height, cs=None, rst=None, backlight=None,
                 x_offset=0, y_offset=0, rst_active_high=False, vendor_init=None):
        self.spi = spi
        self.dc = dc
        self.cs = cs
        self.rst = rst
        self.backlight = backlight
        self.width = width
        self.height = height
        self.x_offset = x_offset
        self.y_offset = y_offset
        self._one = bytearray(1)
        self._four = bytearray(4)
        self._fill = bytearray(2 * _CHUNK_PIXELS)
        self._fill_colour = None
        self._glyph = bytearray(8)
        self._glyph_fb = framebuf.FrameBuffer(self._glyph, 8, 8, framebuf.MONO_HLSB)
        self._cell = bytearray(128)  # one 8x8 glyph in RGB565, for text(..., bg=)
        if cs is not None:
            cs.value(1)
        dc.value(0)
        if rst is not None:
            # Most panels reset while RST is low; some boards (ESP32-S3-Box-3) invert the line
            # and reset while it is high. Either way the pulse ends released.
            idle = 0 if rst_active_high else 1
            rst.value(idle)
            time.sleep_ms(1)
            rst.value(idle ^ 1)
            time.sleep_ms(10)
            rst.value(idle)
            time.sleep_ms(120)
        for cmd, data, delay in self.init_sequence(vendor_init):
            self.command(cmd, data)
            if delay:
                time.sleep_ms(delay)
        if backlight is not None:
            backlight.value(1)

    def init_sequence(self, vendor_init=None):
        """(command, data bytes or None, delay ms) in order; each driver defines it.
        vendor_init: the panel maker's register settings, for drivers that take them."""
        raise NotImplementedError

    # --- bus --------------------------------------------------------------
    def command(self, cmd, data=None):
        cs = self.cs
        if cs is not None:
            cs.value(0)
        self._send(cmd, data)
        if cs is not None:
            cs.value(1)

    def _send(self, cmd, data=None):
        # D/C low for the command byte, high for its parameters; CS is the caller's.
        self.dc.value(0)
        self._one[0] = cmd
        self.spi.write(self._one)
        if data:
            self.dc.value(1)
            self.spi.write(data)

    def _begin_window(self, x0, y0, x1, y1):
        """Select the chip, set the address window, start RAMWR; pixel bytes follow
        until _end_pixels(). One CS frame per rectangle keeps pin toggling down."""
        if self.cs is not None:
            self.cs.value(0)
        b = self._four
        x0 += self.x_offset
        x1 += self.x_offset
        y0 += self.y_offset
        y1 += self.y_offset
        b[0] = x0 >> 8
        b[1] = x0 & 0xFF
        b[2] = x1 >> 8
        b[3] = x1 & 0xFF
        self._send(_CASET, b)
        b[0] = y0 >> 8
        b[1] = y0 & 0xFF
        b[2] = y1 >> 8
        b[3] = y1 & 0xFF
        self._send(_RASET, b)
        self._send(_RAMWR)
        self.dc.value(1)

    def _end_pixels(self):
        if self.cs is not None:
            self.cs.value(1)

    # --- surface ----------------------------------------------------------
    def fill_rect(self, x, y, w, h, c):
        if x < 0:
            w += x
            x = 0
        if y < 0:
            h += y
            y = 0
        if x + w > self.width:
            w = self.width - x
        if y + h > self.height:
            h = self.height - y
        if w <= 0 or h <= 0:
            return
        buf = self._fill
        if c != self._fill_colour:
            buf[0] = (c >> 8) & 0xFF
            buf[1] = c & 0xFF
            n = 2
            mv = memoryview(buf)
            while n < len(buf):
                m = min(n, len(buf) - n)
                mv[n:n + m] = mv[0:m]
                n += m
            self._fill_colour = c
        self._begin_window(x, y, x + w - 1, y + h - 1)
        left = 2 * w * h
        full = len(buf)
        while left >= full:
            self.spi.write(buf)
            left -= full
        if left:
            self.spi.write(memoryview(buf)[0:left])
        self._end_pixels()

    def fill(self, c):
        self.fill_rect(0, 0, self.width, self.height, c)

    def pixel(self, x, y, c):
        self.fill_rect(x, y, 1, 1, c)

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def text(self, s, x, y, c=0xFFFF, bg=None):
        """framebuf semantics: 8x8 cells, only the glyph's pixels are drawn. With bg,
        each cell is painted whole (fg and bg) in one bus transaction, which is faster."""
        g = self._glyph
        fb = self._glyph_fb
        for ch in s:
            if x >= self.width:
                break
            if x > -8 and -8 < y < self.height:
                fb.fill(0)
                fb.text(ch, 0, 0, 1)
                if bg is not None and x >= 0 and y >= 0 and x + 8 <= self.width and y + 8 <= self.height:
                    self._cell_pixels(x, y, c, bg)
                else:
                    for row in range(8):
                        bits = g[row]
                        col = 0
                        while bits:
                            if bits & 0x80:
                                run = 0
                                while bits & 0x80:
                                    run += 1
                                    bits = (bits << 1) & 0xFF
                                self.fill_rect(x + col, y + row, run, 1, c)
                                col += run
                            else:
                                bits = (bits << 1) & 0xFF
                                col += 1
            x += 8

    def _cell_pixels(self, x, y, c, bg):
        cell = self._cell
        fh, fl, bh, bl = (c >> 8) & 0xFF, c & 0xFF, (bg >> 8) & 0xFF, bg & 0xFF
        i = 0
        for row in range(8):
            bits = self._glyph[row]
            for _ in range(8):
                if bits & 0x80:
                    cell[i] = fh
                    cell[i + 1] = fl
                else:
                    cell[i] = bh
                    cell[i + 1] = bl
                bits <<= 1
                i += 2
        self._begin_window(x, y, x + 7, y + 7)
        self.spi.write(cell)
        self._end_pixels()

    def show(self):
        pass  # drawn directly: nothing to push

    def power(self, on):
        self.command(0x29 if on else 0x28)
        if self.backlight is not None:
            self.backlight.value(1 if on else 0)
