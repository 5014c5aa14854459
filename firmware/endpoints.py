# Where the provider's endpoints and signing keys come from: the provider
# profile, endpoints set in the config (they win), and discovery for whatever the
# config does not give: the OpenID document, else RFC 8414 authorization server
# metadata. The parsed document and the JWKS are cached in flash, tagged under the
# device key like the tokens, and bound to the issuer and client_id they were
# fetched for: a cache from another tenant or client is discarded and fetched
# again (`event=state_discarded`). On an unknown `kid` the app asks for one re-fetch.
from deviceflow import discovery, providers
from deviceflow.errors import ReplyError, StoreError, TransportError
from deviceflow.jwt import JWKS

_JWK_KEEP = ("kty", "kid", "use", "alg", "n", "e")  # what the check needs; x5c and the rest dropped


class Endpoints:
    def __init__(self, cfg, transport, log, store=None):
        """`store`: the TokenStore; its sibling() stores hold the caches under the same key.
        Without one (a simulation's store in RAM), nothing is cached in flash."""
        self.cfg = cfg
        self.http = transport
        self.log = log
        self.profile = providers.profile_for(cfg["provider"], cfg["issuer"])
        self.issuer = cfg["issuer"]
        self.urls = None
        self.source = None  # where the discovered endpoints came from: 'cache', 'network', None
        self._jwks = None
        self._forgotten = False
        sibling = getattr(store, "sibling", None)
        bound = {"issuer": cfg["issuer"], "client_id": cfg["client_id"]}
        state = cfg["state_dir"]
        self.cache = discovery.DiscoveryCache(sibling(state + "/discovery.json"), bound) if sibling else None
        self.jwks_cache = discovery.BoundCache(sibling(state + "/jwks.json"), bound) if sibling else None

    def overrides(self):
        return dict((k, self.cfg[k]) for k in discovery.ENDPOINT_KEYS if self.cfg.get(k))

    def resolve(self, now):
        """Fill self.urls; at most two network exchanges (the OpenID document, then RFC 8414's),
        none when the cache or the config gives what is needed."""
        if self.urls is not None:
            return
        fixed = self.profile.endpoints(self.issuer)
        base = dict(fixed)
        base.update(self.overrides())
        if discovery.needs_discovery(self.profile, base, self.profile.scope(self.cfg)):
            doc = self._cached(self.cache, "discovery")
            self.source = "cache"
            if doc is None:
                doc = self._fetch_discovery()
                self.source = "network"
            base = discovery.merge_endpoints(doc, base)
            self.log.event("discovery", source=self.source)
        for key in ("device_authorization_endpoint", "token_endpoint"):
            if not base.get(key):
                raise ReplyError("bad_discovery", "no %s: set it in the config" % key)
        self.urls = base
        self.log.event("profile", name=self.profile.name)

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

    def _fetch_discovery(self):
        statuses = []
        for url in discovery.metadata_urls(self.issuer):
            resp = self.http.request("GET", url, {"Accept": "application/json"})
            if resp.status == 200:
                doc = discovery.parse_discovery(resp.body, self.issuer)
                self._keep(self.cache, doc)
                return doc
            statuses.append("%d" % resp.status)
            if resp.status >= 500 or resp.status == 429:
                break  # the server is in trouble, not missing a document: retried later
        raise TransportError("discovery_status", "discovery answered HTTP " + "/".join(statuses))

    def forget_discovery(self):
        """An endpoint from the cached document failed: drop the cache (once), so the next boot
        fetches the document again instead of trusting a stale one forever."""
        if self.source == "cache" and self.cache is not None and not self._forgotten:
            self._forgotten = True
            self.cache.invalidate()
            self.log.event("discovery_forgotten")

    def binding(self):
        from session import binding

        return binding(self.cfg)

    def get(self, key):
        return self.urls.get(key) if self.urls else None

    def device_params(self):
        return self.profile.device_params(self.cfg)

    def poll_params(self):
        return self.profile.poll_params(self.cfg)

    def jwks(self, now, refetch=False):
        if self._jwks is not None and not refetch:
            return self._jwks
        if not refetch:
            data = self._cached(self.jwks_cache, "jwks")
            if data is not None:
                try:
                    self._jwks = JWKS.parse(data)
                    return self._jwks
                except ReplyError:
                    self.log.event("state_discarded", what="jwks", reason="corrupt")
        url = self.get("jwks_uri")
        if not url:
            raise ReplyError("no_jwks_uri", "the provider publishes no jwks_uri; set it in the config")
        resp = self.http.request("GET", url, {"Accept": "application/json"})
        if resp.status != 200:
            raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
        import json

        try:
            doc = json.loads(resp.body)
        except MemoryError:
            raise
        except Exception:
            raise ReplyError("bad_reply", "JWKS is not JSON")
        self._jwks = JWKS.parse(doc)
        keep = [dict((k, jwk[k]) for k in _JWK_KEEP if k in jwk) for jwk in doc["keys"]
                if isinstance(jwk, dict) and jwk.get("kty") == "RSA"]
        doc = None
        self._keep(self.jwks_cache, {"keys": keep})
        self.log.event("jwks_fetched", keys=len(self._jwks.kids))
        return self._jwks
