# Where the provider's endpoints and signing keys come from: the provider
# profile, endpoints set in the config (they win), and discovery for whatever the
# config does not give: the OpenID document, else RFC 8414 authorization server
# metadata. The parsed document and the JWKS are cached in flash, tagged under the
# device key like the tokens, and bound to the issuer and client_id they were
# fetched for: a cache from another tenant or client is discarded and fetched
# again (`event=state_discarded`). On an unknown `kid` the app asks for one re-fetch.
#
# Import by phase (deviceflow/phase.py): the profile and discovery code is needed only until
# the endpoints are known, so resolve() keeps what the rest of the run needs as plain data and
# drops both modules; the caches are opened when used. The signing keys are firmware/keys.py's.
from deviceflow.errors import ReplyError, StoreError, TransportError
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
        # What resolve() worked out, for this exact config: a wake needs neither the profiles'
        # nor discovery's code (tagged like the other caches; any config change ignores it).
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
        from deviceflow import discovery

        if kind == "discovery":
            return discovery.DiscoveryCache(self._sibling(self.discovery_path), self._bound)
        return discovery.BoundCache(self._sibling(self.jwks_path), self._bound)

    def overrides(self):
        from deviceflow.discovery import ENDPOINT_KEYS

        return dict((k, self.cfg[k]) for k in ENDPOINT_KEYS if self.cfg.get(k))

    def _config_digest(self):
        import hashlib
        import json
        from binascii import hexlify

        items = [[k, self.cfg[k]] for k in sorted(self.cfg)]
        return hexlify(hashlib.sha256(json.dumps(items).encode()).digest()[:16]).decode()

    def _resolved_record(self):
        """What an earlier boot resolved for this same config, or None (read once)."""
        if self._resolved is None:
            self._resolved = False
            if self._sibling is not None:
                rec = self._sibling(self.resolved_path).load()
                if isinstance(rec, dict) and rec.get("key") == self._config_digest():
                    self._resolved = rec
        return self._resolved or None

    def resolve(self, now):
        """Fill self.urls; at most two network exchanges (the OpenID document, then RFC 8414's),
        none when the cache or the config gives what is needed."""
        if self.urls is not None:
            return
        rec = self._resolved_record()
        if rec is not None:
            self._resolved = None
            self.urls = rec["urls"]
            self.profile_name, self.scope = rec["profile"], rec["scope"]
            self._device_params, self._poll_params = rec["device_params"], rec["poll_params"]
            self._binding = rec["binding"]
            if rec["discovered"]:
                self.source = "cache"
                self.log.event("discovery", source="cache")
            self.log.event("profile", name=self.profile_name)
            return
        from deviceflow import discovery, providers

        profile = providers.profile_for(self.cfg["provider"], self.cfg["issuer"])
        fixed = profile.endpoints(self.issuer)
        base = dict(fixed)
        base.update(self.overrides())
        cache = None
        if discovery.needs_discovery(profile, base, profile.scope(self.cfg)):
            cache = self._cache("discovery")
            doc = self._cached(cache, "discovery")
            self.source = "cache"
            if doc is None:
                doc = self._fetch_discovery(discovery, cache)
                self.source = "network"
            base = discovery.merge_endpoints(doc, base)
            self.log.event("discovery", source=self.source)
        for key in ("device_authorization_endpoint", "token_endpoint"):
            if not base.get(key):
                raise ReplyError("bad_discovery", "no %s: set it in the config" % key)
        self.urls = base
        self.profile_name = profile.name
        self.scope = profile.scope(self.cfg)
        self._device_params = profile.device_params(self.cfg)
        self._poll_params = profile.poll_params(self.cfg)
        self.log.event("profile", name=profile.name)
        bound = self.binding()  # while the profiles' code is still loaded
        discovered = cache is not None
        del discovery, providers, profile, cache
        drop("deviceflow.providers", "deviceflow.discovery")
        if self._sibling is not None:
            self._keep(self._sibling(self.resolved_path), {
                "key": self._config_digest(), "urls": self.urls, "profile": self.profile_name,
                "scope": self.scope, "device_params": self._device_params, "poll_params": self._poll_params,
                "binding": bound, "discovered": discovered})

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

    def _fetch_discovery(self, discovery, cache):
        statuses = []
        for url in discovery.metadata_urls(self.issuer):
            resp = self.http.request("GET", url, {"Accept": "application/json"})
            if resp.status == 200:
                doc = discovery.parse_discovery(resp.body, self.issuer)
                self._keep(cache, doc)
                return doc
            statuses.append("%d" % resp.status)
            if resp.status >= 500 or resp.status == 429:
                break  # the server is in trouble, not missing a document: retried later
        raise TransportError("discovery_status", "discovery answered HTTP " + "/".join(statuses))

    def forget_discovery(self):
        """An endpoint from the cached document failed: drop the cache (once), so the next boot
        fetches the document again instead of trusting a stale one forever."""
        if self.source == "cache" and self._sibling is not None and not self._forgotten:
            self._forgotten = True
            self._cache("discovery").invalidate()
            drop("deviceflow.discovery")
            try:
                self._sibling(self.resolved_path).clear()
            except StoreError:
                pass
            self.log.event("discovery_forgotten")

    def binding(self):
        """Whose tokens these are (session.binding), worked out once: it needs the provider
        profile's code, which resolve() drops."""
        if self._binding is None and self._resolved_record() is not None:
            self._binding = self._resolved_record()["binding"]
        if self._binding is None:
            from session import binding

            self._binding = binding(self.cfg)
            drop("deviceflow.providers")
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
