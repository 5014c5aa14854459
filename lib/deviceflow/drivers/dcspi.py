# What our SPI displays (tft.py, epaper.py) share on the bus: 4-wire SPI, a command byte
# sent with D/C low, then its parameters with D/C high. Chip select is the caller's.


class DcSpi:
    """Mixed into a driver that has spi, dc and _one (a 1-byte buffer, so no command allocates)."""

    def _send(self, cmd, data=None):
        self.dc.value(0)
        self._one[0] = cmd
        self.spi.write(self._one)
        if data:
            self.dc.value(1)
            self.spi.write(data)
