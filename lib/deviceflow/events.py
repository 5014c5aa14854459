# A DeviceClient's on_event(event, **fields) callback in the shape its phases call, event() and
# error(): a log. The firmware passes its own log (firmware/log.py) and never loads this.


class Events:
    """on_event(name, **fields) in the shape the phases call: event() and error()."""

    def __init__(self, on_event):
        self.on_event = on_event

    def event(self, event_name, **fields):  # not `name`: some events have a name field
        if self.on_event is not None:
            self.on_event(event_name, **fields)

    def error(self, reason, detail=None, **fields):
        self.event("error", reason=reason, detail=detail, **fields)
