# The signed-in session: the token record, the store that keeps it on flash (load, write,
# forget), and the timing decisions made from it (is the access token still good, when to
# refresh). The clock, randomness and store come in as arguments. DeviceClient's (and so the
# firmware app's, which is built on it).
#
# Expiry is kept two ways: `expires_at` in wall-clock seconds (survives a
# reboot once NTP has set the clock) and a tick deadline in RAM (right even
# when the wall clock was never set). With neither, a token is not trusted.
# Spans of any length (a 30-day token, a year unplugged) go through clock.Deadline, so no
# tick sum overflows the 2^30 counter of an ESP32, and a moment already past is "expired".
from deviceflow.clock import Deadline, span

RECORD_VERSION = 1


def binding(cfg, scope=None):
    """Whose tokens are: the tenant (issuer), the client, and what shapes the grant (audience,
    resource, scope). A stored record bound otherwise is discarded, never sent anywhere.
    scope: the scope asked for; by default the provider profile's for this config."""
    if scope is None:
        from deviceflow.providers import profile_for

        scope = profile_for(cfg.get("provider") or "auto", cfg["issuer"]).scope(cfg)
    return {"issuer": cfg["issuer"], "client_id": cfg["client_id"], "audience": cfg.get("audience"),
            "resource": cfg.get("resource"), "scope": scope}


def foreign(record, bound):
    """None when `record` belongs to `bound` (see binding), else the first key that differs
    ('unbound' for a record written before records were bound)."""
    from deviceflow.store import bound_mismatch

    mine = record.get("bound")
    if not isinstance(mine, dict):
        return "unbound"
    if record.get("v") != RECORD_VERSION:
        return "version"
    return bound_mismatch(mine, bound)


def make_record(tokens, now_wall, claims=None, previous=None, bound=None):
    """The record written to flash for a TokensReady result; `bound` is binding(cfg). The
    id_token is not kept: it is checked once, and its claims (sub, name) are what stays."""
    rec = {"v": RECORD_VERSION, "bound": bound or (previous or {}).get("bound")}
    for key in ("access_token", "token_type", "refresh_token", "scope", "expires_in"):
        rec[key] = tokens.get(key)
    if not rec["refresh_token"] and previous:
        rec["refresh_token"] = previous.get("refresh_token")
    exp_in = tokens.get("expires_in")
    rec["obtained_at"] = now_wall
    rec["expires_at"] = now_wall + exp_in if (now_wall is not None and exp_in) else None
    claims = claims or {}
    name = claims.get("name") or claims.get("nickname") or claims.get("email")
    if not name and previous:
        name = previous.get("name")
    rec["name"] = name
    rec["sub"] = claims.get("sub") or (previous or {}).get("sub")
    return rec


class Session:
    """Holds the current record plus the RAM-only tick deadline of its access token; `store`
    (deviceflow.store.TokenStore or one like it: load, save, clear, last_error) keeps it."""

    def __init__(self, clock, rand=None, margin_s=60, window_s=600, spread_s=0, store=None):
        self.clock = clock
        self.store = store
        self.rand = rand or _no_jitter  # callable -> float in [0, 1)
        self.margin_ms = margin_s * 1000
        self.window_ms = window_s * 1000
        self.spread_ms = spread_s * 1000  # a refresh due at boot lands at a random point this wide
        self.record = None
        self._expiry = None  # Deadline of the access token, if known this boot
        self._refresh = None  # Deadline of the next refresh

    def load(self, now, bound):
        """Adopt the stored record. Returns None, or why nothing usable was there and what the
        store holds was wiped: ("store", reason) unreadable, ("foreign", reason) another
        tenant's, client's or grant's record (never sent anywhere, not even to its provider)."""
        record = self.store.load()
        why = None
        if record is None and self.store.last_error:
            why = ("store", self.store.last_error)
        elif record is not None:
            reason = foreign(record, bound)
            if reason:
                why, record = ("foreign", reason), None
        if why:
            self.store.clear()
        self.adopt(record, False, now)
        return why

    def write(self, record):
        """Put `record` on flash (raises StoreError, the old record intact)."""
        self.store.save(record)

    def forget(self, now):
        """Wipe the record, on flash and here."""
        self.store.clear()
        self.adopt(None, False, now)

    def expire(self, now):
        """The API refused the access token (401): it counts as expired, a refresh is due now."""
        self._expiry = Deadline(self.clock, now, 0)
        if self.refresh_token():
            self._refresh = Deadline(self.clock, now, 0)

    @property
    def deadline(self):
        """Ticks of the access token's expiry (or of the next check on the way to it)."""
        return self._expiry.at if self._expiry else None

    @property
    def refresh_at(self):
        """Ticks to wake at for the refresh (its time, or a check on the way to it)."""
        return self._refresh.at if self._refresh else None

    def adopt(self, record, fresh, now):
        """Use `record`; `fresh` is True when it was just issued (expires_in is relative to now)."""
        self.record = record
        self._expiry = None
        self._refresh = None
        if record is None:
            return
        left_ms = self._left_ms(record, fresh)
        if left_ms is not None:
            self._expiry = Deadline(self.clock, now, left_ms)
        delay = self._refresh_delay(left_ms, fresh)
        if delay is not None:
            self._refresh = Deadline(self.clock, now, delay)

    def _left_ms(self, record, fresh):
        exp_in = record.get("expires_in")
        if fresh and exp_in:
            return exp_in * 1000
        wall = self.clock.time()
        if record.get("expires_at") is not None and wall is not None:
            return (record["expires_at"] - wall) * 1000
        return None  # unknown: the wall clock is not set, or the provider sent no expires_in

    def _refresh_delay(self, left_ms, fresh):
        if not self.record.get("refresh_token"):
            return None
        if left_ms is None:
            # Expiry unknowable (no clock / no expires_in): refresh rather than guess.
            if not self.record.get("expires_in"):
                return None
            delay = 0
        else:
            # A random point in [left - margin - window, left - margin], so a fleet that
            # booted together does not refresh together.
            # Never sooner than half the remaining lifetime: a provider issuing tokens shorter
            # than the margin must not get a refresh storm.
            window = min(self.window_ms, max(0, left_ms // 5))
            offset = left_ms - self.margin_ms - int(self.rand() * window)
            delay = max(left_ms // 2, offset)
        if delay <= 0 and not fresh:
            # Due at boot (the token expired while the power was off, or its expiry is
            # unknowable): a random point in the boot spread window, so a fleet that powers up
            # together after a power cut does not hit the token endpoint in the same second.
            delay = int(self.rand() * span(self.spread_ms))
        return max(0, delay)

    def access_token(self):
        return self.record.get("access_token") if self.record else None

    def refresh_token(self):
        return self.record.get("refresh_token") if self.record else None

    def access_valid(self, now):
        """True only when we know the access token has not expired (with the margin)."""
        if not self.access_token():
            return False
        if self._expiry is None:
            # No known expiry: trust only a token the provider gave without expires_in.
            return not self.record.get("expires_in")
        return not self._expiry.passed(now)

    def refresh_due(self, now):
        return self._refresh is not None and self._refresh.passed(now)

    def usable(self, now):
        """The access token may be sent: not expired, and no refresh due yet."""
        return self.access_valid(now) and not self.refresh_due(now)


def _no_jitter():
    return 0.0
