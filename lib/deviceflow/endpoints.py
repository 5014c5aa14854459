# Where the provider's endpoints and signing keys come from: the provider
# profile, endpoints set in the config (they win), and discovery for whatever the
# config does not give: the OpenID document, else RFC 8414 authorization server
# metadata. The parsed document and the JWKS are cached in flash, tagged under the
# device key like the tokens, and bound to the issuer and client_id they were
# fetched for: a cache from another tenant or client is discarded and fetched
# again (`event=state_discarded`). On an unknown `kid` the app asks for one re-fetch.
#
# Import by phase (deviceflow/phase.py): working the endpoints out (deviceflow/resolver.py, with
# the profile and discovery code) happens at boot only; this keeps the result as plain data.
# The caches are opened when used. The signing keys are deviceflow/keys.py's.
from deviceflow.errors import StoreError
from deviceflow.phase import drop


class Endpoints:
    def __init__(self, cfg, transport, log, store=None):
        """`store`: the TokenStore; its sibling() stores hold the caches under the same key.
        Without one (a simulation's store in RAM), nothing is cached in flash."""
        self.cfg = cfg
        self.http = transport
        self.log = log
        self.profile_name = None
        self.scope = None  # the scope asked for, once resolved
        self.issuer = cfg["issuer"]
        self.urls = None
        self.source = None  # where the discovered endpoints came from: 'cache', 'network', None
        self._jwks = None
        self._forgotten = False
        self._sibling = getattr(store, "sibling", None)
        self._bound = {"issuer": cfg["issuer"], "client_id": cfg["client_id"]}
        state = cfg["state_dir"]
        self.discovery_path = state + "/discovery.json"
        # What resolver.resolve() worked out, for this exact config: a wake needs neither the
        # profiles' nor discovery's code (tagged like the other caches; any config change ignores it).
        self.resolved_path = state + "/endpoints.json"
        self._resolved = None  # the record read from it, once
        self.jwks_path = state + "/jwks.json"
        _remove(self.jwks_path + ".new")  # a JWKS fetched by an earlier run is never trusted (keys.py)
        self._device_params = self._poll_params = None
        self._binding = None

    def _cache(self, kind):
        """The tagged, bound cache of the discovery document or of the JWKS, or None."""
        if self._sibling is None:
            return None
        if kind == "discovery":
            from deviceflow.discovery import DiscoveryCache

            return DiscoveryCache(self._sibling(self.discovery_path), self._bound)
        from deviceflow.boundcache import BoundCache  # the keys' cache: no discovery code

        return BoundCache(self._sibling(self.jwks_path), self._bound)

    def _cached(self, cache, what):
        """The cache's content, or None; a cache that cannot be used is discarded and logged."""
        if cache is None:
            return None
        data = cache.load(self.issuer) if what == "discovery" else cache.load()
        if data is None and cache.why:
            self.log.event("state_discarded", what=what, reason=cache.why)
            cache.invalidate()
        return data

    def _keep(self, cache, data):
        if cache is None:
            return
        try:
            cache.save(data)
        except StoreError as e:
            self.log.error("cache_write", detail=e.detail)  # works on; fetched again next boot

    def forget_discovery(self):
        """An endpoint from the cached document failed: drop the cache (once), so the next boot
        fetches the document again instead of trusting a stale one forever."""
        if self.source == "cache" and self._sibling is not None and not self._forgotten:
            self._forgotten = True
            self._cache("discovery").invalidate()
            drop("deviceflow.discovery", "deviceflow.boundcache")
            try:
                self._sibling(self.resolved_path).clear()
            except StoreError:
                pass
            self.log.event("discovery_forgotten")

    def binding(self):
        """Whose tokens these are (session.binding), worked out once (deviceflow/resolver.py)."""
        if self._binding is None:
            from deviceflow.resolver import binding

            self._binding = binding(self)
        return self._binding

    def get(self, key):
        return self.urls.get(key) if self.urls else None

    def device_params(self):
        return self._device_params

    def poll_params(self):
        return self._poll_params


def _exists(path):
    import os

    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    import os

    try:
        os.remove(path)
    except OSError:
        pass
