# A stand-in for MicroPython's `machine` module (Pin, I2C, SoftI2C, SPI) that
# records every transaction, in order, in one log. Board files and drivers get
# it instead of the real module: `board_module.build(RecordingMachine())`.
#
# Log entries (tuples):
#   ("pin", id, level)                  an output pin was driven
#   ("spi", bus_id, bytes)              SPI.write
#   ("i2c", addr, bytes)                I2C.writeto / writevto (vector joined)
#   ("spi_new", bus_id, settings dict)  an SPI bus was created (sck, mosi, baudrate, ...)
#   ("i2c_new", bus_id, settings dict)  an I2C bus was created (scl, sda, freq)
#   ("pin_new", id, mode, pull)


def _pin_id(p):
    return p.id if isinstance(p, _Pin) else p


class _Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 2
    IRQ_RISING = 1
    machine = None

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        m = self.machine
        m.log.append(("pin_new", id, mode, pull))
        if mode != -1:
            m.modes[id] = mode
        if pull == self.PULL_UP and id not in m.levels:
            m.levels[id] = 1
        if value is not None:
            self.value(value)

    def value(self, v=None):
        m = self.machine
        if v is None:
            return m.levels.get(self.id, 0)
        v = 1 if v else 0
        m.levels[self.id] = v
        if m.record:
            m.log.append(("pin", self.id, v))
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            self.value(value)

    def irq(self, handler=None, trigger=3):
        self.machine.irqs[self.id] = handler


class _SPI:
    machine = None

    def __init__(self, id, baudrate=1000000, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        self.id = id
        settings = {"baudrate": baudrate, "polarity": polarity, "phase": phase,
                    "sck": _pin_id(sck), "mosi": _pin_id(mosi), "miso": _pin_id(miso)}
        self.machine.log.append(("spi_new", id, settings))

    def init(self, *args, **kwargs):
        pass

    def write(self, buf):
        if self.machine.record:
            self.machine.log.append(("spi", self.id, bytes(buf)))

    def deinit(self):
        pass


class _I2C:
    machine = None

    def __init__(self, id=-1, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id
        settings = {"scl": _pin_id(scl), "sda": _pin_id(sda), "freq": freq}
        self.machine.log.append(("i2c_new", id, settings))

    def scan(self):
        return list(self.machine.i2c_devices)

    def writeto(self, addr, buf, stop=True):
        if self.machine.record:
            self.machine.log.append(("i2c", addr, bytes(buf)))
        return len(buf)

    def writevto(self, addr, vector, stop=True):
        if not self.machine.record:
            return sum(len(v) for v in vector)
        joined = b"".join(bytes(v) for v in vector)
        self.machine.log.append(("i2c", addr, joined))
        return len(joined)


class RecordingMachine:
    """A fresh fake `machine` module with its own log and pin levels."""

    def __init__(self, i2c_devices=(0x3C,), record=True):
        self.record = record  # False: a bus that only sinks bytes (for memory budgets)
        self.log = []
        self.levels = {}  # pin id -> level (outputs as driven; inputs as set by the test)
        self.modes = {}
        self.irqs = {}
        self.i2c_devices = i2c_devices

        class Pin(_Pin):
            pass

        class SPI(_SPI):
            pass

        class I2C(_I2C):
            pass

        class SoftI2C(_I2C):
            pass

        for cls in (Pin, SPI, I2C, SoftI2C):
            cls.machine = self
        self.Pin = Pin
        self.SPI = SPI
        self.I2C = I2C
        self.SoftI2C = SoftI2C

    def set_input(self, pin_id, level):
        """What the outside world drives on an input pin (a button, BUSY)."""
        self.levels[pin_id] = 1 if level else 0

    def clear(self):
        del self.log[:]

    def entries(self, kind):
        return [e for e in self.log if e[0] == kind]


def dcs_transactions(log, dc_pin):
    """Decode a 4-wire SPI display's traffic into [(command, data bytes), ...] by
    following the D/C pin: bytes sent with D/C low are commands, high are data."""
    out = []
    dc = 0
    for e in log:
        if e[0] == "pin" and e[1] == dc_pin:
            dc = e[2]
        elif e[0] == "spi":
            if dc == 0:
                for b in e[2]:
                    out.append([b, bytearray()])
            elif out:
                out[-1][1].extend(e[2])
            else:
                raise AssertionError("pixel data before any command")
    return [(c, bytes(d)) for c, d in out]


def i2c_oled_stream(log, addr=0x3C):
    """Decode SSD1306/SH1106 I2C traffic into [("cmd", byte) | ("data", bytes)]."""
    out = []
    for e in log:
        if e[0] != "i2c" or e[1] != addr:
            continue
        payload = e[2]
        ctrl = payload[0]
        if ctrl == 0x40:
            out.append(("data", payload[1:]))
        elif ctrl in (0x80, 0x00):
            for b in payload[1:]:
                out.append(("cmd", b))
        else:
            raise AssertionError("unknown control byte 0x%02x" % ctrl)
    return out

