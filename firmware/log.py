# One line per state change on stdout, in a stable `event=NAME key=value ...` form.
# Troubleshooting on the board and the end-to-end tests read it. Values are
# quoted when they hold spaces. Keys that could carry a secret are refused
# outright, so a careless call site cannot leak a token into the log.
import sys

_SECRET_KEYS = ("token", "device_code", "secret", "password", "code_verifier")
_ALLOWED_TOKENISH = ("tokens_stored",)


def _is_secret_key(key):
    if key in _ALLOWED_TOKENISH or key == "user_code":
        return False
    for s in _SECRET_KEYS:
        if s in key:
            return True
    return False


def _fmt(value):
    s = str(value)
    if not s or " " in s or '"' in s or "=" in s:
        s = '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    return s


class Log:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.lines = 0

    def event(self, event_name, **fields):
        parts = ["event=" + event_name]
        for key in sorted(fields):
            if _is_secret_key(key):
                raise ValueError("refusing to log secret field " + key)
            value = fields[key]
            if value is None:
                continue
            parts.append(key + "=" + _fmt(value))
        self.stream.write(" ".join(parts) + "\n")
        if hasattr(self.stream, "flush"):
            self.stream.flush()
        self.lines += 1

    def error(self, reason, detail=None, **fields):
        self.event("error", reason=reason, detail=detail, **fields)
