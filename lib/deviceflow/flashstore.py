# The token store on flash (deviceflow.store.TokenStore: atomic, integrity-tagged), with the
# store's code in the heap only while it reads or writes: a device loads its record at boot and
# writes one per sign-in or refresh, and a board's heap is better spent on the phase under
# way (deviceflow/phase.py). The store of DeviceClient's Session. Same interface as TokenStore:
# load, save, clear, last_error, sibling (the caches, under the same device key).
from deviceflow.phase import drop


class FlashStore:
    def __init__(self, path, key):
        self.path = path
        self._key = key
        self.last_error = None
        self.last_error_detail = ""

    def _do(self, method, *args):
        from deviceflow.store import TokenStore

        store = TokenStore(self.path, self._key)
        try:
            return getattr(store, method)(*args)
        finally:
            self.last_error = store.last_error
            self.last_error_detail = store.last_error_detail
            del store, TokenStore
            drop("deviceflow.store", "deviceflow.hmac_sha256")

    def load(self):
        """The stored record, or None (last_error says why, when there was one)."""
        return self._do("load")

    def save(self, record):
        """Replace the record atomically; raises StoreError with the old record intact."""
        self._do("save", record)

    def clear(self):
        self._do("clear")

    def sibling(self, path):
        """A store for another file under the same device key."""
        return FlashStore(path, self._key)


def in_dir(state_dir):
    """The tokens' store under state_dir, tagged with the device key (made on first use)."""
    from deviceflow.store import load_or_create_key

    key = load_or_create_key(state_dir + "/device.key")
    drop("deviceflow.store", "deviceflow.hmac_sha256")
    return FlashStore(state_dir + "/tokens.json", key)
