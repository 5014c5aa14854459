# The library's documented error types. Nothing else may escape a library call
# on bad input: every failure the device can meet maps to one of these, with a
# short machine `reason` (for the log: `event=error reason=...`) and a human
# `detail` (for the screen). Neither ever contains a token or device code.


class DeviceFlowError(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self):
        return self.reason + (": " + self.detail if self.detail else "")


class ConfigError(DeviceFlowError):
    """A missing or bad config key; reason is the key's name."""


class TransportError(DeviceFlowError):
    """The network failed: refused, timeout, reset, dns, too_large, bad_response, insecure_url, bad_url."""


class TLSError(TransportError):
    """The server's certificate or host name was not accepted; never retried insecurely."""


class ReplyError(DeviceFlowError):
    """The server answered something that is not a valid OAuth reply."""


class TokenError(DeviceFlowError):
    """A token failed validation (signature, iss, aud, exp, alg, token_type)."""


class StoreError(DeviceFlowError):
    """The token store could not be read or written."""
