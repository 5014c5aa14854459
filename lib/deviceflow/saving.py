# Putting a DeviceClient's new tokens on flash: the sign-in's `store` state (deviceflow/machine.py
# STATES), after validate, apart from the ID-token check so that neither phase's code is in the
# heap while the other allocates; save() for a refresh (signed_in.py), persist() to try a failed
# write again (Machine.retry_save).
from deviceflow.clock import backoff_ms
from deviceflow.errors import StoreError


def save(c, now, tokens, claims, fresh):
    # The new record (and a rotated refresh token in it) is written to flash before the new
    # access token is used anywhere. When the write fails (flash full, I/O error), the new
    # tokens are used from RAM all the same and only the write is retried (persist): the
    # grant is spent, and the refresh token still on flash may be revoked for reuse.
    from deviceflow.session import make_record

    record = make_record(tokens, c.clock.time(), claims, c.session.record, c.endpoints.binding())
    persist(c, record, now)
    c.session.adopt(record, fresh, now)


def persist(c, record, now):
    """Write `record` to flash; on a StoreError keep it for a retry with backoff (retry_save)."""
    from deviceflow.machine import MAX_BACKOFF_MS

    try:
        c.session.write(record)
    except StoreError as e:
        if e.reason in ("too_large", "bad_record"):  # the record, not the flash: no retry helps
            c.unsaved = None
            c.log.error("store_" + e.reason, detail=e.detail)
            return
        delay = backoff_ms(2000, c.save_failures, MAX_BACKOFF_MS, c.rand)
        c.save_failures += 1
        c.unsaved = record
        c.save_at = c.clock.ticks_add(c.clock.ticks_ms(), delay)
        c.log.error("store_" + e.reason, detail=e.detail, retry_ms=delay, attempt=c.save_failures)
        return
    c.unsaved = None
    c.save_failures = 0
    c.log.event("tokens_stored", refresh=1 if record.get("refresh_token") else 0,
                expires_in=record.get("expires_in"))


def store(c, now):
    """The sign-in's checked tokens (validate left them in c.pending), on flash before use."""
    tokens, claims = c.pending
    c.pending = None
    save(c, now, tokens, claims, fresh=True)
    if claims is not None and not c.session.record.get("name") and c.endpoints.get("userinfo_endpoint"):
        c.goto("userinfo")  # the id_token names nobody (node oidc-provider): ask once
        return
    signed_in(c)


def signed_in(c):
    rec = c.session.record
    c.signins += 1
    c.log.event("signed_in", sub=rec.get("sub"))
    c.screen.message("success", rec.get("name"))
    c.goto("idle")
