# A display surface for the MicroPython Unix port: a framebuf.FrameBuffer at the
# display's native resolution whose show() paints the picture in the terminal
# with Unicode half blocks (two pixel rows per text line, one column per pixel).
#
# The picture is always drawn black on white with explicit ANSI colours, whatever
# the terminal's own theme, so a phone can scan the QR code straight off a dark
# terminal. On a tty the cursor goes home before each frame (live refresh in
# place); on a pipe or file every frame is written plainly, one after the other.
#
# Light pixels are the surface's `light` colour (1 on mono, white on RGB565),
# exactly what deviceflow.screen paints the background and the QR quiet zone with.
#
# With `frames` (a path: a FIFO or a file) every shown frame's raw framebuffer also
# goes there, after an 8-byte header b"DF" + width, height (16-bit little-endian),
# depth (1: MONO_HLSB rows, light = 1; 16: RGB565, native byte order) + a zero byte.
# tools/playground.py draws these pixels in a browser.
import os
import sys

import framebuf

_FRAME_START = b"\x1b[30;107m"  # black ink on bright white paper
_FRAME_END = b"\x1b[0m\n"
_HOME = b"\x1b[H"
_CLEAR = b"\x1b[2J\x1b[H"
# upper half block, lower half block, full block (UTF-8)
_UPPER = b"\xe2\x96\x80"
_LOWER = b"\xe2\x96\x84"
_FULL = b"\xe2\x96\x88"


def _is_tty(stream):
    isatty = getattr(stream, "isatty", None)
    if isatty is not None:
        try:
            return bool(isatty())
        except Exception:
            return False
    try:
        fd = stream.fileno()
        mode = os.stat("/proc/self/fd/%d" % fd)[0]
    except Exception:
        return False
    return (mode & 0o170000) == 0o020000  # a character device: a terminal


class TerminalDisplay(framebuf.FrameBuffer):
    """Surface (width, height, fill_rect, text, depth, light, dark) shown in a terminal."""

    def __init__(self, width, height, stream=None, depth=1, live=None, frames=None):
        self.width = width
        self.height = height
        self.depth = 16 if depth == 16 else 1
        if self.depth == 16:
            self.buffer = bytearray(width * height * 2)
            fmt = framebuf.RGB565
            self.light = 0xFFFF
            self.dark = 0x0000
        else:
            self.buffer = bytearray(((width + 7) >> 3) * height)
            fmt = framebuf.MONO_HLSB
            self.light = 1
            self.dark = 0
        super().__init__(self.buffer, width, height, fmt)
        self.stream = stream if stream is not None else sys.stdout
        self.live = _is_tty(self.stream) if live is None else live
        self.frames = 0
        self.frames_path = frames
        self._frames_out = None
        # one terminal line: at most 3 bytes per pixel column plus the colour codes
        self._line = bytearray(width * 3 + len(_FRAME_START) + len(_FRAME_END))

    def is_light(self, x, y):
        """True when pixel (x, y) shows as paper (white) in the terminal."""
        if y >= self.height:
            return True
        p = self.pixel(x, y)
        if self.depth == 1:
            return p == self.light
        r = (p >> 11) & 0x1F
        g = (p >> 5) & 0x3F
        b = p & 0x1F
        # luminance of the RGB565 colour, on a 0..1000*255 scale
        return (r * 299 * 255 // 31 + g * 587 * 255 // 63 + b * 114 * 255 // 31) >= 128 * 1000

    def show(self):
        write = self._writer()
        if self.live:
            write(_HOME if self.frames else _CLEAR)
        line = self._line
        head = len(_FRAME_START)
        line[0:head] = _FRAME_START
        w = self.width
        for y in range(0, self.height, 2):
            n = head
            for x in range(w):
                top = self.is_light(x, y)
                bottom = self.is_light(x, y + 1)
                if top and bottom:
                    line[n] = 0x20
                    n += 1
                    continue
                if top:
                    cell = _LOWER
                elif bottom:
                    cell = _UPPER
                else:
                    cell = _FULL
                line[n:n + 3] = cell
                n += 3
            line[n:n + len(_FRAME_END)] = _FRAME_END
            n += len(_FRAME_END)
            write(memoryview(line)[:n])
        self.frames += 1
        flush = getattr(self.stream, "flush", None)
        if flush:
            flush()
        if self.frames_path:
            self._export()

    def _export(self):
        w, h = self.width, self.height
        try:
            if self._frames_out is None:
                self._frames_out = open(self.frames_path, "wb")
            out = self._frames_out
            out.write(bytes((0x44, 0x46, w & 0xFF, w >> 8, h & 0xFF, h >> 8, self.depth, 0)))
            out.write(self.buffer)
        except OSError:
            self.frames_path = None  # the reader went away: keep running without it
            return
        try:
            out.flush()  # MicroPython writes at once; its flush (an fsync) fails on a FIFO
        except OSError:
            pass

    def _writer(self):
        buf = getattr(self.stream, "buffer", None)
        if buf is not None:
            return buf.write
        return self.stream.write
