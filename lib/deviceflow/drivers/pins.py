# Small helpers board files use to declare GPIOs the same way everywhere.
# `machine` is passed in (the real module on a board, a recording fake in tests).
from deviceflow.board import Button, Led


def output(machine, n, value=0):
    return machine.Pin(n, machine.Pin.OUT, value=value)


def button(machine, n, pull_up=True):
    """A button to ground. ESP32 GPIO 34-39 are input-only and have no internal
    pull resistors: boards that use them fit external pull-ups (pull_up=False)."""
    if pull_up:
        pin = machine.Pin(n, machine.Pin.IN, machine.Pin.PULL_UP)
    else:
        pin = machine.Pin(n, machine.Pin.IN)
    return Button(pin, active_low=True)


def led(machine, n, active_low=False):
    return Led(machine.Pin(n, machine.Pin.OUT), active_low=active_low)


def spi(machine, bus, sck, mosi, baudrate, miso=None):
    if miso is None:
        return machine.SPI(bus, baudrate=baudrate, polarity=0, phase=0,
                           sck=machine.Pin(sck), mosi=machine.Pin(mosi))
    return machine.SPI(bus, baudrate=baudrate, polarity=0, phase=0,
                       sck=machine.Pin(sck), mosi=machine.Pin(mosi), miso=machine.Pin(miso))


def i2c(machine, bus, sda, scl, freq=400000):
    return machine.I2C(bus, scl=machine.Pin(scl), sda=machine.Pin(sda), freq=freq)


def pulse_reset(pin, low_ms=10, high_ms=10):
    """Drive an active-low reset line: low, then high, waiting after each edge."""
    import time

    pin.value(0)
    time.sleep_ms(low_ms)
    pin.value(1)
    time.sleep_ms(high_ms)


def mono_oled(display):
    """Mark a micropython-lib SSD1306 as a mono surface: lit = light, unlit = dark."""
    display.depth = 1
    display.light = 1
    display.dark = 0
    return display
