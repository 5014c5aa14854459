# How a DeviceClient shows the user code when the caller gives no screen object: a show(code)
# callback, else a framebuf-like surface the code screen is drawn on, else a line on stdout.
# It has the screen shape the client's phases call (message, code, end_code, poll_phase,
# code_shown); messages are the caller's business here (its on_event sees each one's cause), and
# there is no countdown to redraw, so code_shown stays False: the client sleeps whole waits.
from deviceflow.phase import drop


class CallbackScreen:
    def __init__(self, show=None, surface=None):
        self.show = show  # show(code): code.user_code, .verification_uri(_complete), .expires_in
        self.surface = surface
        self.code_shown = False

    def message(self, kind, detail=None):
        pass

    def end_code(self):
        pass

    def poll_phase(self):
        pass

    def tick(self, now):
        pass

    def code(self, code, now):
        if self.show is not None:
            self.show(code)
        elif self.surface is not None:
            from deviceflow.codescreen import CodeScreen

            s = self.surface
            CodeScreen(s.width, s.height, code.user_code, code.verification_uri,
                       code.verification_uri_complete).draw(s, code.expires_in)
            getattr(s, "show", lambda: None)()
            drop("deviceflow.codescreen", "deviceflow.codedraw")
        else:
            print("To sign in, visit", code.verification_uri, "and enter", code.user_code)
