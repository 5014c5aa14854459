# What our SPI e-paper drivers (ssd1680.py, jd79653a.py) share: a 1-bit framebuf surface that
# starts white, the reset pulse, and commands that first wait for the controller's BUSY line.
import time

import framebuf


class SpiEpaper(framebuf.FrameBuffer):
    depth = 1
    light = 1  # white paper
    dark = 0  # black ink
    slow_refresh = True  # a refresh takes seconds: redraw rarely
    BUSY_WHILE = 1  # the BUSY level while the controller works
    BUSY_TIMEOUT_MS = 10000

    def __init__(self, spi, dc, cs, rst, busy, width, height, size, fmt):
        self.spi = spi
        self.dc = dc
        self.cs = cs
        self.rst = rst
        self.busy = busy
        self.width = width
        self.height = height
        self.buffer = bytearray(size)
        for i in range(size):
            self.buffer[i] = 0xFF  # white, including any off-panel bits
        super().__init__(self.buffer, width, height, fmt)
        self.busy_timeout_ms = self.BUSY_TIMEOUT_MS
        self._one = bytearray(1)
        cs.value(1)
        rst.value(0)
        time.sleep_ms(10)
        rst.value(1)
        time.sleep_ms(10)

    def is_busy(self):
        return self.busy.value() == self.BUSY_WHILE

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
