# Checks the e-paper driver tests share, on a RecordingMachine (recording_bus.py). Apart from
# recording_bus, which tests/test_boards.py also compiles into a 32 KiB heap probe.
from recording_bus import dcs_transactions


def draw_and_show(m, d, dc_pin, dark_pixels):
    """Set `dark_pixels` [(x, y)] on display `d`, then show(); returns only that show's
    [(command, data)] (the log is cleared first)."""
    for x, y in dark_pixels:
        d.pixel(x, y, d.dark)
    m.clear()
    d.show()
    return dcs_transactions(m.log, dc_pin)


def show_while_busy(m, d, busy_pin, busy_level, dc_pin):
    """An e-paper panel held BUSY: show() must send nothing and time out (OSError); once BUSY
    is released it goes through. Returns the commands sent then, in order."""
    m.set_input(busy_pin, busy_level)
    assert d.is_busy()
    d.busy_timeout_ms = 30
    m.clear()
    e = None
    try:
        d.show()
    except OSError as exc:
        e = exc
    assert e is not None and m.entries("spi") == []  # nothing sent while BUSY
    m.set_input(busy_pin, 1 - busy_level)
    d.show()
    return [c for c, _ in dcs_transactions(m.log, dc_pin)]
