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
                with open(self.jwks_path) as f:
                    self._jwks = JWKS.parse(f.read())
                return self._jwks
            except (OSError, ValueError, ReplyError):
                pass
        self._jwks = JWKS.parse(self._fetch_jwks())
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
        url = self.get("jwks_uri")
        if not url:
            raise ReplyError("no_jwks_uri", "the provider publishes no jwks_uri; set it in the config")
        resp = self.http.request("GET", url, {"Accept": "application/json"})
        if resp.status != 200:
            raise TransportError("jwks_status", "JWKS answered HTTP %d" % resp.status)
        import json

        try:
            keys = json.loads(resp.body)["keys"]
            count = len(keys) if isinstance(keys, list) else None
        except (ValueError, KeyError, TypeError):
            count = None
        if count is None:
            raise ReplyError("bad_jwks", "the JWKS is not a JSON object with a keys list")
        del keys
        self._write_atomic(self.jwks_path, resp.body)
        self.log.event("jwks_fetched", keys=count)
        return resp.body

    def _write_atomic(self, path, data):
        import os
        tmp = path + ".tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
        except OSError as e:
            self.log.error("cache_write", detail=str(e))

