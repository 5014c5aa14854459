# Display drivers against the recording bus: init sequences, address windows,
# pixel bytes, SH1106 page addressing, the e-paper update sequence. The drivers
# need MicroPython's framebuf; on CPython this module defines only the tests that
# do not (the Board record).
from epaper_checks import draw_and_show, show_while_busy
from recording_bus import RecordingMachine, dcs_transactions, i2c_oled_stream

from deviceflow.board import Board, Button, Led

try:
    import framebuf
except ImportError:
    framebuf = None


def test_button_wraps_active_low_pin():
    m = RecordingMachine()
    pin = m.Pin(0, m.Pin.IN, m.Pin.PULL_UP)
    b = Button(pin)
    assert b.value() == 0  # pulled up, not pressed
    m.set_input(0, 0)
    assert b.value() == 1
    board = Board("x", None, {"new_code": b})
    assert board.pressed("new_code")
    assert not board.pressed("sign_out")  # a button the board lacks is never pressed


def test_active_high_button_and_active_low_led():
    m = RecordingMachine()
    b = Button(m.Pin(35, m.Pin.IN), active_low=False)
    m.set_input(35, 1)
    assert b.value() == 1
    led = Led(m.Pin(19, m.Pin.OUT), active_low=True)
    assert m.levels[19] == 1  # starts off
    led.on()
    assert m.levels[19] == 0


if framebuf is not None:
    from deviceflow.drivers.ili9342c import ILI9342C
    from deviceflow.drivers.sh1106 import SH1106
    from deviceflow.drivers.ssd1680 import SSD1680
    from deviceflow.drivers.st7789 import ST7789

    RED = 0xF800
    BLUE = 0x001F

    def _st7789(m, **kw):
        spi = m.SPI(1, baudrate=40000000, sck=m.Pin(18), mosi=m.Pin(19))
        return ST7789(spi, m.Pin(16, m.Pin.OUT), cs=m.Pin(5, m.Pin.OUT), rst=m.Pin(23, m.Pin.OUT),
                      backlight=m.Pin(4, m.Pin.OUT), **kw)

    def _ili(m, **kw):
        spi = m.SPI(2, baudrate=40000000, sck=m.Pin(18), mosi=m.Pin(23))
        return ILI9342C(spi, m.Pin(27, m.Pin.OUT), cs=m.Pin(14, m.Pin.OUT), rst=m.Pin(33, m.Pin.OUT),
                        backlight=m.Pin(32, m.Pin.OUT), **kw)

    def _be16(a, b):
        return bytes((a >> 8, a & 0xFF, b >> 8, b & 0xFF))

    class PanelModel:
        """Replays DCS traffic into a pixel map, the way the controller's RAM would."""

        def __init__(self, width, height, x_offset=0, y_offset=0):
            self.w, self.h, self.xo, self.yo = width, height, x_offset, y_offset
            self.pixels = {}
            self.col = self.row = None
            self.transactions = 0

        def replay(self, txs):
            for cmd, data in txs:
                if cmd == 0x2A:
                    self.col = ((data[0] << 8 | data[1]) - self.xo, (data[2] << 8 | data[3]) - self.xo)
                elif cmd == 0x2B:
                    self.row = ((data[0] << 8 | data[1]) - self.yo, (data[2] << 8 | data[3]) - self.yo)
                elif cmd == 0x2C:
                    self.transactions += 1
                    x0, x1 = self.col
                    y0, y1 = self.row
                    assert 0 <= x0 <= x1 < self.w and 0 <= y0 <= y1 < self.h, (self.col, self.row)
                    n = (x1 - x0 + 1) * (y1 - y0 + 1)
                    assert len(data) == 2 * n, (len(data), n)
                    for i in range(n):
                        x = x0 + i % (x1 - x0 + 1)
                        y = y0 + i // (x1 - x0 + 1)
                        self.pixels[(x, y)] = data[2 * i] << 8 | data[2 * i + 1]

    def _reference(width, height, ops):
        """The same drawing on a framebuf RGB565 in RAM (framebuf stores little-endian)."""
        buf = bytearray(width * height * 2)
        fb = framebuf.FrameBuffer(buf, width, height, framebuf.RGB565)
        for op in ops:
            getattr(fb, op[0])(*op[1:])
        out = {}
        for y in range(height):
            for x in range(width):
                c = fb.pixel(x, y)
                if c:
                    out[(x, y)] = c
        return out

    def test_st7789_init_sequence():
        m = RecordingMachine()
        _st7789(m)
        cmds = [(c, d) for c, d in dcs_transactions(m.log, 16)]
        assert cmds == [(0x01, b""), (0x11, b""), (0x3A, b"\x55"), (0x36, b"\x00"),
                        (0x21, b""), (0x13, b""), (0x29, b"")]
        rst = [e[2] for e in m.entries("pin") if e[1] == 23]
        assert rst[-2:] == [0, 1]  # hardware reset pulse before any command
        first_spi = [i for i, e in enumerate(m.log) if e[0] == "spi"][0]
        assert [i for i, e in enumerate(m.log) if e[0] == "pin" and e[1] == 23][-1] < first_spi
        assert m.levels[4] == 1  # backlight on at the end

    def test_st7789_window_uses_tdisplay_offsets_and_streams_colour():
        m = RecordingMachine()
        d = _st7789(m)
        m.clear()
        d.fill_rect(2, 3, 4, 5, RED)
        txs = dcs_transactions(m.log, 16)
        assert txs == [(0x2A, _be16(54, 57)), (0x2B, _be16(43, 47)), (0x2C, b"\xf8\x00" * 20)]

    def test_commands_are_framed_by_chip_select():
        m = RecordingMachine()
        d = _st7789(m)
        m.clear()
        d.fill_rect(0, 0, 1, 1, BLUE)
        cs = 1
        for e in m.log:
            if e[0] == "pin" and e[1] == 5:
                cs = e[2]
            elif e[0] == "spi":
                assert cs == 0, "SPI write with CS high"
        assert m.levels[5] == 1

    def test_fill_rect_is_clipped_to_the_panel():
        m = RecordingMachine()
        d = _st7789(m)
        m.clear()
        d.fill_rect(130, 235, 20, 20, RED)
        d.fill_rect(-5, -1, 7, 2, BLUE)
        d.fill_rect(200, 0, 5, 5, RED)  # wholly outside: nothing sent
        txs = dcs_transactions(m.log, 16)
        assert txs == [(0x2A, _be16(182, 186)), (0x2B, _be16(275, 279)), (0x2C, b"\xf8\x00" * 25),
                       (0x2A, _be16(52, 53)), (0x2B, _be16(40, 40)), (0x2C, b"\x00\x1f" * 2)]

    def test_full_screen_fill_streams_in_small_chunks():
        m = RecordingMachine()
        d = _st7789(m)
        m.clear()
        d.fill_rect(0, 0, 135, 240, 0xFFFF)
        writes = [len(e[2]) for e in m.entries("spi")]
        assert sum(writes) == 1 + 4 + 1 + 4 + 1 + 135 * 240 * 2
        assert max(writes) <= 256  # never a frame-sized buffer

    def test_tft_drawing_matches_framebuf_pixel_for_pixel():
        m = RecordingMachine()
        d = _st7789(m)
        m.clear()
        ops = [("fill_rect", 0, 0, 40, 30, BLUE), ("text", "Ag-9", 1, 2, 0xFFFF),
               ("fill_rect", 10, 12, 3, 4, RED), ("text", "WDJB", 20, 20, RED), ("text", "xy", -3, 22, 0x07E0)]
        for op in ops:
            getattr(d, op[0])(*op[1:])
        panel = PanelModel(135, 240, 52, 40)
        panel.replay(dcs_transactions(m.log, 16))
        ref = _reference(135, 240, ops)
        got = dict((k, v) for k, v in panel.pixels.items() if v)
        assert got == ref

    def test_text_with_background_sends_one_window_per_glyph():
        m = RecordingMachine()
        d = _ili(m)
        m.clear()
        d.text("OK", 8, 8, 0x0000, bg=0xFFFF)
        panel = PanelModel(320, 240)
        panel.replay(dcs_transactions(m.log, 27))
        assert panel.transactions == 2
        ref = _reference(320, 240, [("fill_rect", 8, 8, 16, 8, 0xFFFF), ("text", "OK", 8, 8, 0x0000)])
        got = dict((k, v) for k, v in panel.pixels.items() if v)
        assert got == ref
        assert len(panel.pixels) == 128  # the whole of both cells painted

    def test_ili9342c_init_sequence_and_window():
        m = RecordingMachine()
        d = _ili(m, madctl=0xC8, invert=True)
        assert (d.width, d.height, d.depth) == (320, 240, 16)
        txs = dcs_transactions(m.log, 27)
        assert txs == [(0x01, b""), (0x11, b""), (0x3A, b"\x55"), (0x36, b"\xc8"), (0x21, b""), (0x29, b"")]
        m.clear()
        d.fill_rect(300, 200, 2, 1, 0x1234)
        assert dcs_transactions(m.log, 27) == [(0x2A, _be16(300, 301)), (0x2B, _be16(200, 200)),
                                               (0x2C, b"\x12\x34\x12\x34")]

    def test_ili9342c_active_high_reset_ends_released_and_vendor_runs_follow_swreset():
        m = RecordingMachine()
        vendor = b"\xc8\x03\xff\x93\x42\xc5\x01\xd0"
        d = _ili(m, madctl=0xC8, rst_active_high=True, vendor_init=vendor)
        rst = [e[2] for e in m.entries("pin") if e[1] == 33]
        assert rst[-3:] == [0, 1, 0]  # released, reset (high), released: never left in reset
        txs = dcs_transactions(m.log, 27)
        assert txs == [(0x01, b""), (0xC8, b"\xff\x93\x42"), (0xC5, b"\xd0"), (0x11, b""),
                       (0x3A, b"\x55"), (0x36, b"\xc8"), (0x20, b""), (0x29, b"")]
        first_spi = [i for i, e in enumerate(m.log) if e[0] == "spi"][0]
        assert [i for i, e in enumerate(m.log) if e[0] == "pin" and e[1] == 33][-1] < first_spi
        assert d.width == 320

    def _sh1106(m):
        i2c = m.I2C(0, scl=m.Pin(22), sda=m.Pin(21))
        return SH1106(i2c)

    def test_sh1106_init_then_blank_frame():
        m = RecordingMachine()
        _sh1106(m)
        stream = i2c_oled_stream(m.log)
        cmds = [v for k, v in stream[:23] if k == "cmd"]
        assert cmds[0] == 0xAE and cmds[-1] == 0xAF  # off first, on last
        assert 0xAD in cmds and cmds[cmds.index(0xAD) + 1] == 0x8B  # charge pump on
        data = [v for k, v in stream if k == "data"]
        assert len(data) == 8 and all(d == bytes(128) for d in data)

    def test_sh1106_show_addresses_each_page_at_column_two():
        m = RecordingMachine()
        d = _sh1106(m)
        d.pixel(0, 0, 1)
        d.pixel(127, 63, 1)
        d.pixel(5, 9, 1)
        m.clear()
        d.show()
        stream = i2c_oled_stream(m.log)
        assert len(stream) == 8 * 4
        for page in range(8):
            cmd_page, cmd_lo, cmd_hi, data = stream[4 * page:4 * page + 4]
            assert (cmd_page, cmd_lo, cmd_hi) == (("cmd", 0xB0 | page), ("cmd", 0x02), ("cmd", 0x10))
            assert data[0] == "data" and len(data[1]) == 128
        assert stream[3][1][0] == 0x01  # (0,0): page 0, column 0, bit 0
        assert stream[7][1][5] == 0x02  # (5,9): page 1, column 5, bit 1
        assert stream[31][1][127] == 0x80  # (127,63): page 7, column 127, bit 7
        assert (d.light, d.dark, d.depth) == (1, 0, 1)

    def _epaper(m):
        spi = m.SPI(2, baudrate=4000000, sck=m.Pin(18), mosi=m.Pin(23))
        return SSD1680(spi, m.Pin(17, m.Pin.OUT), m.Pin(5, m.Pin.OUT), m.Pin(16, m.Pin.OUT),
                       m.Pin(4, m.Pin.IN))

    def test_ssd1680_init_sequence():
        m = RecordingMachine()
        d = _epaper(m)
        assert (d.width, d.height, len(d.buffer)) == (250, 122, 4000)
        assert dcs_transactions(m.log, 17) == [
            (0x12, b""), (0x01, b"\xf9\x00\x00"), (0x11, b"\x07"), (0x44, b"\x00\x0f"),
            (0x45, b"\x00\x00\xf9\x00"), (0x3C, b"\x05"), (0x21, b"\x00\x80"), (0x18, b"\x80")]

    def test_ssd1680_update_sequence_and_bit_order():
        m = RecordingMachine()
        d = _epaper(m)
        txs = draw_and_show(m, d, 17, [(0, 0), (249, 121), (3, 10)])
        assert [c for c, _ in txs] == [0x4E, 0x4F, 0x24, 0x22, 0x20]
        assert txs[0][1] == b"\x00" and txs[1][1] == b"\x00\x00" and txs[3][1] == b"\xf7"
        ram = txs[2][1]
        assert len(ram) == 4000
        assert ram[0] == 0x7F  # source 0 (MSB) black at gate 0
        assert ram[250 + 3] == 0xDF  # y=10: x-byte 1, source bit 2 from the MSB
        assert ram[15 * 250 + 249] == 0xBF  # y=121: x-byte 15, second bit
        assert sum(1 for b in ram if b != 0xFF) == 3  # everything else white

    def test_ssd1680_show_returns_during_refresh_and_next_command_waits():
        m = RecordingMachine()
        d = _epaper(m)
        d.show()
        assert show_while_busy(m, d, 4, 1, 17)[-1] == 0x20  # BUSY high: panel refreshing
