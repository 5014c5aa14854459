# A JSON record kept in flash for one binding only: the discovery document
# (deviceflow.discovery.DiscoveryCache) and the provider's signing keys (deviceflow/keys.py).
# Its own module so that keeping the keys loads none of the discovery code.
from deviceflow.errors import StoreError

_CACHE_VERSION = 2  # 2: tagged (store.py format) and bound to issuer + client_id


class BoundCache:
    """A JSON record kept in flash for one binding only (issuer and client_id, as a dict).

    `store` is a TokenStore for the cache's file, so the record is integrity-tagged under the
    device key like the tokens: a file planted or edited by someone without that key, or copied
    from another device, fails the tag. load() returns the record's data, or None with `why`
    set: None when there is no cache, else the reason it was not used ('issuer', 'client_id',
    ..., 'tampered', 'truncated', 'corrupt'), which the caller logs before fetching again.
    """

    def __init__(self, store, binding):
        self.store = store
        self.binding = binding
        self.why = None

    def load(self):
        self.why = None
        rec = self.store.load()
        if rec is None:
            self.why = self.store.last_error
            return None
        if rec.get("v") != _CACHE_VERSION:
            self.why = "version"
            return None
        from deviceflow.store import bound_mismatch

        self.why = bound_mismatch(rec.get("for") or {}, self.binding)
        return None if self.why else rec.get("data")

    def save(self, data):
        self.store.save({"v": _CACHE_VERSION, "for": self.binding, "data": data})

    def invalidate(self):
        try:
            self.store.clear()
        except StoreError:
            pass
