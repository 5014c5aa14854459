# M5Stack CoreInk (ESP32-PICO-D4): 1.54" black/white e-paper 200x200, GDEW0154M09 panel
# with a JD79653A controller. Pins per M5Stack's CoreInk documentation and its library
# (M5Core-Ink src/utility/config.h): EPD CS 9, SCK 18, MOSI 23, DC 15, BUSY 4, RST 0;
# multi-function switch up 37, push 38, down 39 and the top button (EXT) 5, all active
# low (37-39 are input-only ESP32 pins without internal pull-ups: the board's own pull
# them up); green LED 10 (lit when LOW); POWER_HOLD 12 is driven high at once, as
# M5Stack's library does, or the board switches itself off when running on its battery.
# M5Stack recommends refreshing this panel no more often than every 15 s; the app redraws
# an e-paper at most once a minute.
from deviceflow.board import Board
from deviceflow.drivers import pins
from deviceflow.drivers.jd79653a import JD79653A

NAME = "M5Stack CoreInk"
DISPLAY_CLASS = "epaper_200x200"
CS, SCK, MOSI, DC, BUSY, RST = 9, 18, 23, 15, 4, 0
BUTTON_PUSH = 38  # pressing the multi-function switch: new code
BUTTON_EXT = 5  # the button on top: sign out
LED = 10
POWER_HOLD = 12
NEEDS = ()
PSRAM = False  # ESP32-PICO-D4: no PSRAM
HEAP_KIB = 109  # GC heap after its one planned growth (111,936 B); the rest of RAM is Wi-Fi's and TLS's


def build(machine):
    pins.output(machine, POWER_HOLD, 1)
    spi = pins.spi(machine, 2, sck=SCK, mosi=MOSI, baudrate=4000000)
    busy = machine.Pin(BUSY, machine.Pin.IN, machine.Pin.PULL_UP)
    display = JD79653A(spi, pins.output(machine, DC), pins.output(machine, CS, 1),
                       pins.output(machine, RST, 1), busy)
    return Board(name=NAME, display=display, display_class=DISPLAY_CLASS,
                 buttons={"new_code": pins.button(machine, BUTTON_PUSH, pull_up=False),
                          "sign_out": pins.button(machine, BUTTON_EXT)},
                 led=pins.led(machine, LED, active_low=True))
