"""Prove that no device code or token the stub ever issued shows up where it must not.

    from secrets_scan import assert_no_secrets
    assert_no_secrets(stub, dev)          # stub still running; any number of devices

Scanned: everything the device printed (the `event=...` log on stdout, which also carries every
screen's text as `event=screen detail=...` and the code screen as `event=show_code`), its stderr
(the terminal frames and any traceback or exception message), and the stub's view of the world:
its request log (paths and query strings, i.e. every URL the device asked for) and its stderr log.
The values come from the stub's control-port endpoint GET /_stub/secrets.

A leak is the whole value or any 16-character piece of it (a log line that cut a token short
still leaks it); for a JWT the header segment is skipped (it is the same in every token and says
nothing). tests/conftest.py calls this after every test that used both a stub and a Device.
"""
import json
import os

PIECE = 16
STEP = 8


def issued(stub):
    """{kind: [values]} of every device code, access, refresh and id token the stub issued."""
    return stub._control("GET", "/_stub/secrets")[1]


def stub_texts(stub, requests=None):
    """(where, text) pairs of what the stub saw: its request log and its stderr log."""
    if requests is None:
        requests = stub.requests()
    urls = "\n".join("%s %s?%s" % (r.get("method"), r.get("path"), r.get("query", ""))
                     for r in requests)
    out = [("stub request log (URLs)", urls), ("stub request log (all)", json.dumps(requests))]
    try:
        with open(stub.log_path, encoding="utf-8", errors="replace") as f:
            out.append(("stub stderr log", f.read()))
    except OSError:
        pass
    return out


def device_texts(dev):
    """(where, text) pairs of what a Device printed in its current (or last) run."""
    out = [("device log", "\n".join(dev.lines))]
    screen = dev.screen_text or ""
    try:   # a run that was killed, not waited for, has its stderr only in the file
        with open(os.path.join(dev.dir, "screen.txt"), encoding="utf-8", errors="replace") as f:
            text = f.read()
        if text != screen:
            screen += text
    except OSError:
        pass
    out.append(("device stderr (screen frames, exceptions)", screen))
    return out


def pieces(kind, value):
    """The substrings whose presence counts as a leak of `value`."""
    body = value
    if kind in ("access_token", "id_token") and value.count(".") == 2:
        body = value.split(".", 1)[1]   # the header segment is shared by every token
    out = {value}
    if len(body) <= PIECE:
        out.add(body)
    else:
        for i in range(0, len(body) - PIECE + 1, STEP):
            out.add(body[i:i + PIECE])
        out.add(body[-PIECE:])
    out.discard("")
    return out


def find_leaks(secrets, texts):
    """[(kind, where, context)] for every secret piece found in any text."""
    leaks = []
    for kind, values in sorted(secrets.items()):
        for value in values:
            for where, text in texts:
                if not text:
                    continue
                for piece in pieces(kind, value):
                    i = text.find(piece)
                    if i >= 0:
                        # Say where, not what: the context is cut around the piece, not printed whole.
                        leaks.append((kind, where, "at offset %d (line %d)" % (i, text.count("\n", 0, i) + 1)))
                        break
    return leaks


def assert_no_secrets(stub, *devices, texts=()):
    """Fail if any secret the (running) stub issued appears in its logs or the devices' output."""
    secrets = issued(stub)
    all_texts = list(texts) + stub_texts(stub)
    for dev in devices:
        all_texts += device_texts(dev)
    leaks = find_leaks(secrets, all_texts)
    assert not leaks, "secret values leaked: %s" % leaks
    return sum(len(v) for v in secrets.values())
