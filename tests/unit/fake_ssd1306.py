# Test double for micropython-lib's `ssd1306` module, which is installed on a
# board by `mip install ssd1306` and is not available on this machine. Tests
# register it as sys.modules["ssd1306"] so board files import it through the
# same `import ssd1306`. It mimics the real driver's surface (a MONO_VLSB
# framebuf with width/height/show) and its show() traffic (column and page
# range, then the whole buffer after control byte 0x40). The real driver is
# exercised only on hardware.
import framebuf


class SSD1306_I2C(framebuf.FrameBuffer):
    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False):
        self.width = width
        self.height = height
        self.i2c = i2c
        self.addr = addr
        self.pages = height // 8
        self.buffer = bytearray(self.pages * width)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self._cmd = bytearray(2)
        self._cmd[0] = 0x80
        self.write_cmd(0xAF)

    def write_cmd(self, c):
        self._cmd[1] = c
        self.i2c.writeto(self.addr, self._cmd)

    def show(self):
        for c in (0x21, 0, self.width - 1, 0x22, 0, self.pages - 1):
            self.write_cmd(c)
        self.i2c.writevto(self.addr, (b"\x40", self.buffer))
