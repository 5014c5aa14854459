# Working out the endpoints, once per boot (deviceflow/starting.py): the provider profile,
# endpoints set in the config (they win), and discovery for whatever the config does not give,
# or what an earlier boot worked out for this exact config. The result is plain data on the
# Endpoints object (deviceflow/endpoints.py); this module and the profile and discovery code are
# dropped when the boot phase ends (deviceflow/phase.py).
from deviceflow.errors import ReplyError, TransportError
from deviceflow.phase import drop


def _overrides(ep):
    from deviceflow.discovery import ENDPOINT_KEYS

    return dict((k, ep.cfg[k]) for k in ENDPOINT_KEYS if ep.cfg.get(k))


def _config_digest(ep):
    import hashlib
    import json
    from binascii import hexlify

    items = [[k, ep.cfg[k]] for k in sorted(ep.cfg)]
    return hexlify(hashlib.sha256(json.dumps(items).encode()).digest()[:16]).decode()


def _resolved_record(ep):
    """What an earlier boot resolved for this same config, or None (read once)."""
    if ep._resolved is None:
        ep._resolved = False
        if ep._sibling is not None:
            rec = ep._sibling(ep.resolved_path).load()
            if isinstance(rec, dict) and rec.get("key") == _config_digest(ep):
                ep._resolved = rec
    return ep._resolved or None


def resolve(ep, now):
    """Fill ep.urls; at most two network exchanges (the OpenID document, then RFC 8414's),
    none when the cache or the config gives what is needed."""
    if ep.urls is not None:
        return
    rec = _resolved_record(ep)
    if rec is not None:
        ep._resolved = None
        ep.urls = rec["urls"]
        ep.profile_name, ep.scope = rec["profile"], rec["scope"]
        ep._device_params, ep._poll_params = rec["device_params"], rec["poll_params"]
        ep._binding = rec["binding"]
        if rec["discovered"]:
            ep.source = "cache"
            ep.log.event("discovery", source="cache")
        ep.log.event("profile", name=ep.profile_name)
        return
    from deviceflow import discovery, providers

    profile = providers.profile_for(ep.cfg["provider"], ep.cfg["issuer"])
    fixed = profile.endpoints(ep.issuer)
    base = dict(fixed)
    base.update(_overrides(ep))
    cache = None
    if discovery.needs_discovery(profile, base, profile.scope(ep.cfg)):
        cache = ep._cache("discovery")
        doc = ep._cached(cache, "discovery")
        ep.source = "cache"
        if doc is None:
            doc = _fetch_discovery(ep, discovery, cache)
            ep.source = "network"
        base = discovery.merge_endpoints(doc, base)
        ep.log.event("discovery", source=ep.source)
    for key in ("device_authorization_endpoint", "token_endpoint"):
        if not base.get(key):
            raise ReplyError("bad_discovery", "no %s: set it in the config" % key)
    ep.urls = base
    ep.profile_name = profile.name
    ep.scope = profile.scope(ep.cfg)
    ep._device_params = profile.device_params(ep.cfg)
    ep._poll_params = profile.poll_params(ep.cfg)
    ep.log.event("profile", name=profile.name)
    bound = ep._binding = binding(ep)  # while the profiles' code is still loaded
    discovered = cache is not None
    del discovery, providers, profile, cache
    drop("deviceflow.providers", "deviceflow.discovery", "deviceflow.boundcache")
    if ep._sibling is not None:
        ep._keep(ep._sibling(ep.resolved_path), {
            "key": _config_digest(ep), "urls": ep.urls, "profile": ep.profile_name,
            "scope": ep.scope, "device_params": ep._device_params, "poll_params": ep._poll_params,
            "binding": bound, "discovered": discovered})


def _fetch_discovery(ep, discovery, cache):
    statuses = []
    for url in discovery.metadata_urls(ep.issuer):
        resp = ep.http.request("GET", url, {"Accept": "application/json"})
        if resp.status == 200:
            doc = discovery.parse_discovery(resp.body, ep.issuer)
            ep._keep(cache, doc)
            return doc
        statuses.append("%d" % resp.status)
        if resp.status >= 500 or resp.status == 429:
            break  # the server is in trouble, not missing a document: retried later
    raise TransportError("discovery_status", "discovery answered HTTP " + "/".join(statuses))


def binding(ep):
    """Whose tokens these are (session.binding): from what an earlier boot worked out, else
    from the provider profile (whose code is dropped again)."""
    rec = _resolved_record(ep)
    if rec is not None:
        return rec["binding"]
    from deviceflow.session import binding as of

    bound = of(ep.cfg)
    drop("deviceflow.providers")
    return bound
