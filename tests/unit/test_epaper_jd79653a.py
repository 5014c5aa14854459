# The JD79653A e-paper driver (M5Stack CoreInk, 200x200) against the recording bus: init
# sequence, frame bytes and bit order, old/new frames around a refresh, BUSY handling.
from epaper_checks import draw_and_show, show_while_busy
from recording_bus import RecordingMachine, dcs_transactions

try:
    import framebuf
except ImportError:
    framebuf = None

DC, BUSY = 15, 4

if framebuf is not None:
    from deviceflow.drivers.jd79653a import JD79653A

    def _panel(m):
        spi = m.SPI(2, baudrate=4000000, sck=m.Pin(18), mosi=m.Pin(23))
        busy = m.Pin(BUSY, m.Pin.IN, m.Pin.PULL_UP)
        return JD79653A(spi, m.Pin(DC, m.Pin.OUT), m.Pin(9, m.Pin.OUT), m.Pin(0, m.Pin.OUT), busy)

    def test_init_sequence_sets_the_panel_up_and_starts_from_white():
        m = RecordingMachine()
        d = _panel(m)
        assert (d.width, d.height, len(d.buffer)) == (200, 200, 5000)
        assert (d.light, d.dark, d.depth, d.slow_refresh) == (1, 0, 1, True)
        txs = dcs_transactions(m.log, DC)
        assert [c for c, _ in txs] == [0x00, 0x4D, 0xAA, 0xE9, 0xB6, 0xF3, 0x61, 0x60, 0x50, 0xE3, 0x04, 0x10]
        assert txs[0][1] == b"\xdf\x0e" and txs[6][1] == b"\xc8\x00\xc8" and txs[8][1] == b"\xd7"
        assert txs[-1][1] == b"\xff" * 5000  # the old frame: white

    def test_show_sends_new_frame_refreshes_then_keeps_it_as_old():
        m = RecordingMachine()
        d = _panel(m)
        txs = draw_and_show(m, d, DC, [(0, 0), (199, 199), (9, 3)])
        assert [c for c, _ in txs] == [0x13, 0x12, 0x10]
        new = txs[0][1]
        assert len(new) == 5000 and txs[2][1] == new
        assert new[0] == 0x7F  # (0, 0): first byte, MSB
        assert new[3 * 25 + 1] == 0xBF  # (9, 3): row 3, byte 1, second bit from the MSB
        assert new[4999] == 0xFE  # (199, 199): last byte, LSB
        assert sum(1 for b in new if b != 0xFF) == 3

    def test_nothing_is_sent_while_busy_and_a_stuck_panel_times_out():
        m = RecordingMachine()
        d = _panel(m)
        # BUSY low: the controller is working
        assert show_while_busy(m, d, BUSY, 0, DC) == [0x13, 0x12, 0x10]

    def test_sleep_powers_off_then_deep_sleeps():
        m = RecordingMachine()
        d = _panel(m)
        m.clear()
        d.sleep()
        assert dcs_transactions(m.log, DC) == [(0x50, b"\xf7"), (0x02, b""), (0x07, b"\xa5")]
