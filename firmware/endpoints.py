# Where the provider's endpoints and signing keys come from: the provider
# profile, endpoints set in the config (they win), and OIDC discovery cached in
# flash (fetched once, re-fetched when it fails). The JWKS is cached the same
# way; on an unknown `kid` the app asks for one re-fetch.
#
# The profile and discovery code is needed only until the endpoints are known: resolve() keeps
# what the rest of the run needs as plain data and drops both modules (deviceflow/phase.py).
from deviceflow.errors import ReplyError, TransportError
from deviceflow.phase import drop


class Endpoints:
    def __init__(self, cfg, transport, log):
        self.cfg = cfg
        self.http = transport
        self.log = log
        self.profile_name = None
        self.scope = None  # the scope asked for, once resolved
        self.issuer = cfg["issuer"]
        self.urls = None
        self._jwks = None
        state = cfg["state_dir"]
        self.discovery_path = state + "/discovery.json"
        self.jwks_path = state + "/jwks.json"
        self._device_params = self._poll_params = None

    def overrides(self):
        from deviceflow.discovery import ENDPOINT_KEYS

        return dict((k, self.cfg[k]) for k in ENDPOINT_KEYS if self.cfg.get(k))

    def resolve(self, now):
        """Fill self.urls; at most one network exchange (discovery, when not cached)."""
        if self.urls is not None:
            return
        from deviceflow import discovery, providers

        profile = providers.profile_for(self.cfg["provider"], self.cfg["issuer"])
        fixed = profile.endpoints(self.issuer)
        base = dict(fixed)
        base.update(self.overrides())
        if discovery.needs_discovery(profile, base):
            doc = discovery.DiscoveryCache().load(self.discovery_path)
            source = "cache"
            if doc is None:
                doc = self._fetch_discovery(discovery)
                source = "network"
            base = discovery.merge_endpoints(doc, base)
            self.log.event("discovery", source=source)
        for key in ("device_authorization_endpoint", "token_endpoint"):
            if not base.get(key):
                raise ReplyError("bad_discovery", "no %s: set it in the config" % key)
        self.urls = base
        self.profile_name = profile.name
        self.scope = profile.scope(self.cfg)
        self._device_params = profile.device_params(self.cfg)
        self._poll_params = profile.poll_params(self.cfg)
        self.log.event("profile", name=profile.name)
        del discovery, providers, profile
        drop("deviceflow.providers", "deviceflow.discovery")

    def _fetch_discovery(self, discovery):
        resp = self.http.request("GET", discovery.discovery_url(self.issuer), {"Accept": "application/json"})
        if resp.status != 200:
            raise TransportError("discovery_status", "discovery answered HTTP %d" % resp.status)
        doc = discovery.parse_discovery(resp.body, self.issuer)
        discovery.DiscoveryCache().save(self.discovery_path, doc)
        return doc

    def forget_discovery(self):
        """Called when an endpoint from a cached document fails, so the next boot re-fetches."""
        from deviceflow.discovery import DiscoveryCache

        DiscoveryCache().invalidate(self.discovery_path)

    def get(self, key):
        return self.urls.get(key) if self.urls else None

    def device_params(self):
        return self._device_params

    def poll_params(self):
        return self._poll_params

    def release_keys(self):
        """Drop the parsed keys (they hold the JWT module's code); jwks() reads them back."""
        self._jwks = None

    def jwks(self, now, refetch=False):
        from deviceflow.jwt import JWKS

        if self._jwks is not None and not refetch:
            return self._jwks
        if not refetch:
            try:
                return self._read_jwks(JWKS)
            except (OSError, ValueError, ReplyError):
                pass
        body = self._fetch_jwks()
        if body is not None:  # no room in flash: the keys come from the reply itself
            self._jwks = JWKS.parse(body)
            return self._jwks
        return self._read_jwks(JWKS)

    def _read_jwks(self, parser):
        import json

        with open(self.jwks_path) as f:
            self._jwks = parser.parse(json.load(f))  # parsed from the stream: no 3 KB string
        return self._jwks

    def prefetch_jwks(self):
        """Fetch the signing keys into the flash cache unless they are there, without parsing
        them: the JWT code is loaded only when tokens arrive, not while the code is shown."""
        import os

        try:
            os.stat(self.jwks_path)
            return
        except OSError:
            pass
        self._fetch_jwks()

    def _fetch_jwks(self):
        """GET the JWKS straight into the cache file (no heap block as large as the body),
        check it is a JSON object with a keys list, and put it in place atomically. Returns
        None, or the body itself when the file cannot be written (flash full)."""
        import os

        url = self.get("jwks_uri")
        if not url:
            raise ReplyError("no_jwks_uri", "the provider publishes no jwks_uri; set it in the config")
        tmp = self.jwks_path + ".tmp"
        try:
            with open(tmp, "wb") as f:
                resp = self.http.request("GET", url, {"Accept": "application/json"}, sink=f)
            if resp.status != 200:
                raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
            count = _count_keys(tmp)
            if count is None:
                raise ReplyError("bad_jwks", "the JWKS has no keys")
            os.rename(tmp, self.jwks_path)
        except OSError as e:
            self.log.error("cache_write", detail=str(e))
            resp = self.http.request("GET", url, {"Accept": "application/json"})
            if resp.status != 200:
                raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
            return resp.body
        finally:
            try:
                os.remove(tmp)
            except OSError:
                pass
        self.log.event("jwks_fetched", keys=count)
        return None


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
