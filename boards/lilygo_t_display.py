# LilyGo T-Display (ESP32, 1.14" ST7789 IPS 135x240, portrait).
# Pins per LilyGo's T-Display pin map: SPI MOSI 19, SCLK 18, CS 5, DC 16, RST 23,
# backlight 4 (high = on); buttons on GPIO 0 (internal pull-up) and GPIO 35
# (input-only, external pull-up), both active low.
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.st7789 import ST7789

NAME = "LilyGo T-Display"
DISPLAY_CLASS = "tft_135x240"
MOSI, SCLK, CS, DC, RST, BL = 19, 18, 5, 16, 23, 4
BUTTON_NEW_CODE = 0  # the button next to the USB socket's left side
BUTTON_SIGN_OUT = 35
NEEDS = ()
PSRAM = False
HEAP_KIB = 109  # GC heap after its one planned growth (111,936 B); the rest of RAM is Wi-Fi's and TLS's


def build(machine):
    spi = pins.spi(machine, 1, sck=SCLK, mosi=MOSI, baudrate=40000000)
    display = ST7789(spi, pins.output(machine, DC), width=135, height=240,
                     cs=pins.output(machine, CS, 1), rst=pins.output(machine, RST, 1),
                     backlight=pins.output(machine, BL), x_offset=52, y_offset=40,
                     madctl=0x00, invert=True)
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_NEW_CODE),
                          "sign_out": pins.button(machine, BUTTON_SIGN_OUT, pull_up=False)})
