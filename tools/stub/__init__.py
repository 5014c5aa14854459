"""The Auth0-compatible stub authorization server, split by job:

    keys.py    RS256 signing keys, JWT minting and checking, the JWKS document
    state.py   settings, device codes, grants and refresh-token families, the request log
    pages.py   the activation pages a person uses in a browser
    server.py  HTTP/1.1 (keep-alive, optional TLS) and the routes

Run it with `python tools/stub_server.py`; tests drive it through tests/stubctl.py.
"""
