# The record a board file's build(machine) returns: what the app needs to know
# about one piece of hardware, and nothing else. Board files (boards/*.py) pick
# and wire drivers; the app only ever sees this.
#
#   board.name     human name, e.g. "LilyGo T-Display"
#   board.display  a surface: width, height, fill_rect, text, show, depth, light, dark
#   board.buttons  dict name -> object whose value() is 1 while pressed
#                  (names the app knows: 'new_code', 'sign_out')
#   board.led      object with on()/off(), or None


class Board:
    def __init__(self, name, display, buttons=None, led=None, display_class=None):
        self.name = name
        self.display = display
        self.buttons = buttons if buttons is not None else {}
        self.led = led
        self.display_class = display_class

    def pressed(self, name):
        """True while the named button is held; False for a button this board lacks."""
        b = self.buttons.get(name)
        return bool(b is not None and b.value())

    def __repr__(self):
        return "<Board %s>" % self.name


class Button:
    """A push button on a GPIO. Most boards wire buttons to ground (active low):
    value() hides that and returns 1 while the button is pressed."""

    def __init__(self, pin, active_low=True):
        self.pin = pin
        self.active_low = active_low

    def value(self):
        v = 1 if self.pin.value() else 0
        return v ^ 1 if self.active_low else v


class Led:
    """An LED on a GPIO, with on()/off() whatever level lights it."""

    def __init__(self, pin, active_low=False):
        self.pin = pin
        self.active_low = active_low
        self.off()

    def on(self):
        self.pin.value(0 if self.active_low else 1)

    def off(self):
        self.pin.value(1 if self.active_low else 0)
