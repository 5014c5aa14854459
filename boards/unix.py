# The MicroPython Unix port as a board: the screen is drawn in the terminal (on
# stderr, so stdout stays the log) and buttons are typed on stdin. Pick the
# display class with DEVICEFLOW_DISPLAY (default oled_128x64, like a Heltec).
# DEVICEFLOW_FRAMES=PATH also writes each shown frame's raw pixels there
# (lib/deviceflow/term_display.py says how; tools/playground.py reads them).
import os
import sys

from deviceflow.board import Board
from deviceflow.term_display import TerminalDisplay

NAME = "MicroPython Unix port (terminal)"
SIZES = {"oled_128x64": (128, 64, 1), "oled_128x32": (128, 32, 1), "tft_135x240": (135, 240, 16),
         "tft_240x135": (240, 135, 16), "tft_240x240": (240, 240, 16), "tft_320x240": (320, 240, 16),
         "epaper_250x122": (250, 122, 1), "epaper_200x200": (200, 200, 1),
         "epaper_296x128": (296, 128, 1)}


def build(machine=None):
    cls = os.getenv("DEVICEFLOW_DISPLAY") or "oled_128x64"
    w, h, depth = SIZES.get(cls, SIZES["oled_128x64"])
    display = TerminalDisplay(w, h, stream=sys.stderr, depth=depth,
                              frames=os.getenv("DEVICEFLOW_FRAMES") or None)
    return Board(name=NAME, display=display, buttons={}, led=None)
