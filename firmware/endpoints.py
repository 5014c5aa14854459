# Where the provider's endpoints and signing keys come from: the provider
# profile, endpoints set in the config (they win), and OIDC discovery cached in
# flash (fetched once, re-fetched when it fails). The JWKS is cached the same
# way; on an unknown `kid` the app asks for one re-fetch.
from deviceflow import discovery, providers
from deviceflow.errors import ReplyError, TransportError
from deviceflow.jwt import JWKS


class Endpoints:
    def __init__(self, cfg, transport, log):
        self.cfg = cfg
        self.http = transport
        self.log = log
        self.profile = providers.profile_for(cfg["provider"], cfg["issuer"])
        self.issuer = cfg["issuer"]
        self.urls = None
        self._jwks = None
        state = cfg["state_dir"]
        self.discovery_path = state + "/discovery.json"
        self.jwks_path = state + "/jwks.json"
        self.cache = discovery.DiscoveryCache()

    def overrides(self):
        return dict((k, self.cfg[k]) for k in discovery.ENDPOINT_KEYS if self.cfg.get(k))

    def resolve(self, now):
        """Fill self.urls; at most one network exchange (discovery, when not cached)."""
        if self.urls is not None:
            return
        fixed = self.profile.endpoints(self.issuer)
        base = dict(fixed)
        base.update(self.overrides())
        if discovery.needs_discovery(self.profile, base):
            doc = self.cache.load(self.discovery_path)
            source = "cache"
            if doc is None:
                doc = self._fetch_discovery()
                source = "network"
            base = discovery.merge_endpoints(doc, base)
            self.log.event("discovery", source=source)
        for key in ("device_authorization_endpoint", "token_endpoint"):
            if not base.get(key):
                raise ReplyError("bad_discovery", "no %s: set it in the config" % key)
        self.urls = base
        self.log.event("profile", name=self.profile.name)

    def _fetch_discovery(self):
        resp = self.http.request("GET", discovery.discovery_url(self.issuer), {"Accept": "application/json"})
        if resp.status != 200:
            raise TransportError("discovery_status", "discovery answered HTTP %d" % resp.status)
        doc = discovery.parse_discovery(resp.body, self.issuer)
        self.cache.save(self.discovery_path, doc)
        return doc

    def forget_discovery(self):
        """Called when an endpoint from a cached document fails, so the next boot re-fetches."""
        self.cache.invalidate(self.discovery_path)

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
            try:
                with open(self.jwks_path) as f:
                    self._jwks = JWKS.parse(f.read())
                return self._jwks
            except (OSError, ValueError, ReplyError):
                pass
        url = self.get("jwks_uri")
        if not url:
            raise ReplyError("no_jwks_uri", "the provider publishes no jwks_uri; set it in the config")
        resp = self.http.request("GET", url, {"Accept": "application/json"})
        if resp.status != 200:
            raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
        self._jwks = JWKS.parse(resp.body)
        self._write_atomic(self.jwks_path, resp.body)
        self.log.event("jwks_fetched", keys=len(self._jwks.kids))
        return self._jwks

    def _write_atomic(self, path, data):
        import os
        tmp = path + ".tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
        except OSError as e:
            self.log.error("cache_write", detail=str(e))

