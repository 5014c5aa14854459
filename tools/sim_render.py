# MicroPython side of the screen simulator: draws one screen with the real
# deviceflow.screen code on a framebuf surface (TerminalDisplay) at the display's
# native resolution, then either writes the raw pixels to a file or shows the
# half-block terminal rendering.
#
#   MICROPYPATH=lib:boards micropython tools/sim_render.py DISPLAY SCREEN OUT
#   MICROPYPATH=lib:boards micropython tools/sim_render.py DISPLAY SCREEN --terminal
#   MICROPYPATH=lib:boards micropython tools/sim_render.py --list
#
# The code screens can have pages shown in turn (deviceflow.codescreen.CodeScreen):
# SCREEN "code@2" is the second page of "code". --list prints the display
# classes, the screen names, then "DISPLAY SCREEN PAGES" for every code screen.
#
# OUT gets one header line "width height depth\n", then width*height bytes, one
# per pixel in row order: 1 = light (paper), 0 = dark (ink).
import sys

from deviceflow import codescreen, screen, textfit
from deviceflow.term_display import TerminalDisplay

from unix import SIZES as DISPLAYS  # the display classes, as the Unix board knows them

USER_CODE = "WDJB-MJHT"
URI = "https://example-tenant.us.auth0.com/activate"
URI_COMPLETE = "https://example-tenant.us.auth0.com/activate?user_code=WDJB-MJHT"
# a tenant with a long host name (the QR and the text no longer fit side by side on 128x64)
LONG_URI = "https://my-company-production-tenant-name.eu.auth0.com/activate"
CODES = {"code": (USER_CODE, URI, URI_COMPLETE),
         "code_long": (USER_CODE, LONG_URI, LONG_URI + "?user_code=" + USER_CODE)}

MESSAGES = (
    ("starting", None),
    ("connecting", None),
    ("waiting", None),
    ("success", "Jane Doe"),
    ("signed_out", None),
    ("denied", None),
    ("expired", None),
    ("network", "timeout"),
    ("tls", "certificate verify failed"),
    ("provider", "Unauthorized: the grant type is not allowed for this client."),
    ("config", "client_id"),
    ("error", "Unexpected reply from the server (HTTP 502)."),
)

SCREENS = ("code", "code_long") + tuple(m[0] for m in MESSAGES)


def code_screen(display, name):
    w, h, _ = DISPLAYS[display]
    code, uri, complete = CODES[name]
    return codescreen.CodeScreen(w, h, code, uri, complete)


def render(display, name, stream=None):
    w, h, depth = DISPLAYS[display]
    surface = TerminalDisplay(w, h, stream=stream, depth=depth, live=False)
    name, _, page = name.partition("@")
    if name in CODES:
        rect = code_screen(display, name).draw(surface, 872, int(page or 1) - 1)
        textfit.draw_poll_indicator(surface, rect, 1)
    else:
        detail = None
        for kind, d in MESSAGES:
            if kind == name:
                detail = d
                break
        else:
            raise ValueError("unknown screen " + name)
        screen.draw_message(surface, name, detail)
    return surface


def write_pixels(surface, path):
    w = surface.width
    row = bytearray(w)
    with open(path, "wb") as f:
        f.write(b"%d %d %d\n" % (w, surface.height, surface.depth))
        for y in range(surface.height):
            for x in range(w):
                row[x] = 1 if surface.is_light(x, y) else 0
            f.write(row)


def main(argv):
    if argv and argv[0] == "--list":
        print(" ".join(sorted(DISPLAYS)))
        print(" ".join(SCREENS))
        for d in sorted(DISPLAYS):
            for name in CODES:
                print(d, name, len(code_screen(d, name).pages))
        return
    if len(argv) != 3:
        print("usage: sim_render.py DISPLAY SCREEN (OUT | --terminal)")
        sys.exit(2)
    display, name, out = argv
    if out == "--terminal":
        render(display, name).show()
    else:
        write_pixels(render(display, name), out)


main(sys.argv[1:])
