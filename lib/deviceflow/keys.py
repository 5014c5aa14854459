# The provider's signing keys (its JWKS) for the ID-token check, in the sign-in phase only
# (deviceflow/signing_in.py prefetches them; deviceflow/accepting.py checks with them and drops
# them): while the code is on screen the JWKS is fetched straight from the socket into a file
# (prefetch), without parsing it, so that neither the JWT code nor the parsed keys are in the
# heap until the tokens arrive; then it is parsed from the file and kept, tagged and bound, in
# the endpoints' JWKS cache.
from deviceflow.errors import ReplyError, TransportError
from deviceflow.phase import drop
from deviceflow.endpoints import _exists, _remove

_JWK_KEEP = ("kty", "kid", "use", "alg", "n", "e")  # what the check needs; x5c and the rest dropped


class SigningKeys:
    def __init__(self, endpoints, fetched=False):
        """fetched: prefetch() put the JWKS in its file earlier in this run."""
        self.ep = endpoints
        self._jwks = None
        # The JWKS as fetched while the code is shown: untagged, so trusted in this run only.
        self._fetched_path = endpoints.jwks_path + ".new"
        self.fetched = fetched

    def get(self, now, refetch=False):
        if self._jwks is not None and not refetch:
            return self._jwks
        data = fresh = None
        if not refetch:
            fresh = self._take_fetched()
            if fresh is None:
                data = self._cached()
        fetched = fresh is None and data is None
        if fetched:
            fresh = self._get_jwks()
        if fresh is not None:
            keys = fresh.get("keys") if isinstance(fresh, dict) else None
            fresh = None
            if fetched:
                self.ep.log.event("jwks_fetched", keys=len(keys) if isinstance(keys, list) else 0)
            if not isinstance(keys, list):
                raise ReplyError("bad_reply", "JWKS has no keys list")
            # Kept (tagged, bound) before the JWT code is imported and the keys parsed: the
            # store's code and the JWT code are then never in the heap together.
            data = {"keys": [dict((k, jwk[k]) for k in _JWK_KEEP if k in jwk) for jwk in keys
                             if isinstance(jwk, dict) and jwk.get("kty") == "RSA"]}
            keys = None
            self._keep(data)
        from deviceflow.jwt import JWKS

        self._jwks = JWKS.parse(data)
        return self._jwks

    def _cached(self):
        """The keys an earlier sign-in kept, or None (a corrupt cache is logged and dropped)."""
        cache = self.ep._cache("jwks")
        try:
            data = self.ep._cached(cache, "jwks")
            if data is not None and not isinstance(data.get("keys") if isinstance(data, dict) else None, list):
                self.ep.log.event("state_discarded", what="jwks", reason="corrupt")
                cache.invalidate()
                data = None
            return data
        finally:
            del cache
            drop("deviceflow.boundcache")  # the cache's code: only while keys are read or kept

    def _keep(self, data):
        cache = self.ep._cache("jwks")
        self.ep._keep(cache, data)
        del cache
        drop("deviceflow.boundcache")

    def _get_jwks(self):
        url = self.ep.get("jwks_uri")
        if not url:
            raise ReplyError("no_jwks_uri", "the provider publishes no jwks_uri; set it in the config")
        resp = self.ep.http.request("GET", url, {"Accept": "application/json"})
        if resp.status != 200:
            raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
        import json

        try:
            return json.loads(resp.body)
        except MemoryError:
            raise
        except Exception:
            raise ReplyError("bad_reply", "JWKS is not JSON")

    def _take_fetched(self):
        """The JWKS prefetch() put in a file in this run, parsed from the stream (no
        block as large as the file), or None; the file is removed either way."""
        if not self.fetched:
            return None
        self.fetched = False
        import json

        try:
            with open(self._fetched_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None
        finally:
            _remove(self._fetched_path)

    def prefetch(self):
        """While the user is on the way: fetch the signing keys unless the cache has them,
        straight into a file and without parsing them, so the JWT code and the parsed keys
        are in the heap only once the tokens arrive (and the device flow's code is gone)."""
        if self.fetched or (self.ep._sibling is not None and _exists(self.ep.jwks_path)):
            return
        url = self.ep.get("jwks_uri")
        if not url:
            raise ReplyError("no_jwks_uri", "the provider publishes no jwks_uri; set it in the config")
        path = self._fetched_path
        try:
            with open(path, "wb") as f:
                resp = self.ep.http.request("GET", url, {"Accept": "application/json"}, sink=f)
        except OSError as e:  # flash full: the keys are fetched into RAM when the tokens arrive
            _remove(path)
            self.ep.log.error("cache_write", detail=str(e))
            return
        except BaseException:
            _remove(path)
            raise
        count = _count_keys(path) if resp.status == 200 else None
        if resp.status != 200:
            _remove(path)
            raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
        if count is None:
            _remove(path)
            raise ReplyError("bad_jwks", "the JWKS has no keys")
        self.fetched = True
        self.ep.log.event("jwks_fetched", keys=count)


def _count_keys(path):
    """How many keys ("kty" members) the JWKS file holds, or None when it names no "keys":
    a scan in small reads, so no parse (and no heap block as large as the JWKS) happens
    while the code is on screen. The keys are parsed, and checked, when tokens arrive."""
    want = (b'"keys"', b'"kty"')
    seen = [0, 0]
    buf = bytearray(128)
    tail = b""
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            chunk = tail + bytes(buf[:n])
            for i in (0, 1):
                seen[i] += chunk.count(want[i])
            tail = chunk[-5:]  # a pattern cut by a read boundary is counted once, in the next chunk
            for i in (0, 1):
                seen[i] -= tail.count(want[i])
    for i in (0, 1):
        seen[i] += tail.count(want[i])
    return seen[1] if seen[0] else None
