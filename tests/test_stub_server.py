"""The stub authorization server answers like Auth0's device flow (CPython, verified TLS)."""
import http.client
import json
import re
import ssl
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from stubctl import start_stub

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUDIENCE = "https://api.example.com/"
ALL_SCOPES = "openid profile email offline_access"


def new_code(stub, scope=ALL_SCOPES, audience=AUDIENCE):
    status, body = stub.post_form("/oauth/device/code", client_id=stub.client_id, scope=scope,
                                  audience=audience)
    assert status == 200, body
    return body


def poll(stub, device_code):
    return stub.post_form("/oauth/token", grant_type=DEVICE_GRANT, device_code=device_code,
                          client_id=stub.client_id)


def refresh(stub, token):
    return stub.post_form("/oauth/token", grant_type="refresh_token", refresh_token=token,
                          client_id=stub.client_id)


def jwks_keys(stub):
    status, doc = stub.get_json("/.well-known/jwks.json")
    assert status == 200
    return {k["kid"]: jwt.PyJWK.from_dict(k).key for k in doc["keys"]}


def verify(stub, token, audience):
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, jwks_keys(stub)[kid], algorithms=["RS256"], audience=audience,
                      issuer=stub.issuer)


def signed_in(stub, scope=ALL_SCOPES):
    """Tokens from a device code the scripted user approves at once."""
    stub.configure(approve_after=0)
    status, tokens = poll(stub, new_code(stub, scope)["device_code"])
    assert status == 200, tokens
    return tokens


def test_full_approve_path_gives_verified_tokens_that_open_the_api(stub):
    code = new_code(stub)
    assert re.match(r"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$", code["user_code"])
    assert len(code["device_code"]) >= 32
    assert code["verification_uri"] == stub.url + "/activate"
    assert code["verification_uri_complete"] == stub.url + "/activate?user_code=" + code["user_code"]
    assert code["interval"] == 1 and code["expires_in"] == 900
    assert poll(stub, code["device_code"]) == (403, {
        "error": "authorization_pending", "error_description": "User has yet to authorize device code."})
    stub.approve(code["user_code"])
    time.sleep(1.0)
    status, tokens = poll(stub, code["device_code"])
    assert status == 200
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 86400
    assert tokens["refresh_token"] and "." not in tokens["refresh_token"]
    access = verify(stub, tokens["access_token"], AUDIENCE)
    assert access["iss"] == stub.issuer and stub.issuer.endswith("/")
    assert access["scope"] == ALL_SCOPES and access["exp"] > access["iat"]
    ident = verify(stub, tokens["id_token"], stub.client_id)
    user = stub.config()["user"]
    assert (ident["sub"], ident["name"], ident["email"]) == (user["sub"], user["name"], user["email"])
    time.sleep(1.0)
    assert poll(stub, code["device_code"])[1]["error"] == "invalid_grant"   # consumed
    assert stub.get_json("/api/hello", tokens["access_token"]) == (200, {
        "message": "Hello from the protected API", "sub": user["sub"], "path": "/api/hello"})
    assert stub.get_json("/userinfo", tokens["access_token"]) == (200, {
        "sub": user["sub"], "name": user["name"], "email": user["email"]})


def test_id_token_only_with_openid_and_refresh_token_only_with_offline_access(stub):
    tokens = signed_in(stub, scope="read:things")
    assert "id_token" not in tokens and "refresh_token" not in tokens
    tokens = signed_in(stub, scope="openid")
    assert "id_token" in tokens and "refresh_token" not in tokens


def test_denied_by_the_user(stub):
    code = new_code(stub)
    stub.deny(code["user_code"])
    status, body = poll(stub, code["device_code"])
    assert (status, body["error"]) == (403, "access_denied")
    stub.configure(deny_after=0)
    status, body = poll(stub, new_code(stub)["device_code"])
    assert (status, body["error"]) == (403, "access_denied")


def test_expired_token_comes_once_then_invalid_grant(stub):
    stub.configure(expires_in=1)
    code = new_code(stub)
    time.sleep(1.1)
    status, body = poll(stub, code["device_code"])
    assert (status, body["error"]) == (403, "expired_token")
    assert [poll(stub, code["device_code"])[1]["error"] for _ in range(2)] == \
        ["invalid_grant", "invalid_grant"]
    with pytest.raises(RuntimeError):   # the user can no longer confirm it either
        stub.approve(code["user_code"])


def test_polling_too_fast_is_slowed_down_and_the_interval_grows_by_5s(stub):
    code = new_code(stub)
    assert poll(stub, code["device_code"])[1]["error"] == "authorization_pending"
    status, body = poll(stub, code["device_code"])
    assert (status, body["error"]) == (429, "slow_down")
    time.sleep(1.0)   # the old interval is no longer enough: it is now 6 s
    assert poll(stub, code["device_code"])[1]["error"] == "slow_down"


def test_refresh_rotates_and_reuse_revokes_the_whole_family(stub):
    first = signed_in(stub)["refresh_token"]
    status, second = refresh(stub, first)
    assert status == 200 and second["refresh_token"] != first
    verify(stub, second["access_token"], AUDIENCE)
    verify(stub, second["id_token"], stub.client_id)
    status, third = refresh(stub, second["refresh_token"])
    assert status == 200
    assert refresh(stub, first) == (403, {"error": "invalid_grant",
                                          "error_description": "Unknown or invalid refresh token."})
    assert refresh(stub, third["refresh_token"])[0] == 403   # the family is gone
    assert refresh(stub, "not-a-token")[1]["error"] == "invalid_grant"


def test_refresh_without_rotation_keeps_the_token(stub):
    stub.configure(rotation=False)
    rt = signed_in(stub)["refresh_token"]
    for _ in range(2):
        status, body = refresh(stub, rt)
        assert status == 200 and "refresh_token" not in body and "access_token" in body


def test_revoke_ends_the_grant(stub):
    rt = signed_in(stub)["refresh_token"]
    status, _, body = stub.request("POST", "/oauth/revoke", "token=%s&client_id=%s" % (rt, stub.client_id),
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    assert refresh(stub, rt)[1]["error"] == "invalid_grant"
    assert stub.post_form("/oauth/revoke", token="unknown", client_id=stub.client_id)[0] == 200


def test_client_errors(stub):
    assert stub.post_form("/oauth/device/code", client_id="someone-else") == (
        401, {"error": "invalid_client", "error_description": "Unknown client."})
    assert stub.post_form("/oauth/device/code", scope="openid")[1]["error"] == "invalid_request"
    status, _, _ = stub.request("POST", "/oauth/device/code", "client_id=" + stub.client_id)
    assert status == 400   # no form Content-Type: Auth0 sees no parameters either
    assert poll(stub, "made-up")[1]["error"] == "invalid_grant"


def test_api_refuses_missing_bad_forged_expired_and_foreign_tokens(stub):
    good = signed_in(stub)["access_token"]
    claims = jwt.decode(good, options={"verify_signature": False})
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(good)["kid"]
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": kid})
    stub.configure(access_ttl=-60)
    expired = signed_in(stub)["access_token"]
    stub.reset()
    stub.configure(approve_after=0)
    status, t = poll(stub, new_code(stub, audience="https://other.example/")["device_code"])
    for token in (None, "garbage", forged, expired, t["access_token"]):
        status, headers, body = stub.request(
            "GET", "/api/hello", None, {"Authorization": "Bearer " + token} if token else {})
        assert status == 401, token
        assert headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert json.loads(body)["error"] == "invalid_token"
    assert stub.get_json("/api/hello", good)[0] == 200


def test_discovery_and_jwks_are_consistent(stub):
    status, d = stub.get_json("/.well-known/openid-configuration")
    assert status == 200 and d["issuer"] == stub.url + "/"
    for name, path in (("device_authorization_endpoint", "/oauth/device/code"),
                       ("token_endpoint", "/oauth/token"), ("userinfo_endpoint", "/userinfo"),
                       ("jwks_uri", "/.well-known/jwks.json"), ("revocation_endpoint", "/oauth/revoke")):
        assert d[name] == stub.url + path
    assert DEVICE_GRANT in d["grant_types_supported"] and "refresh_token" in d["grant_types_supported"]
    _, jwks = stub.get_json("/.well-known/jwks.json")
    assert len({k["kid"] for k in jwks["keys"]}) == 2
    assert all(k["alg"] == "RS256" and k["kty"] == "RSA" and k["x5c"] for k in jwks["keys"])
    ident = signed_in(stub, "openid")["id_token"]
    jwk = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(ident)["kid"]]
    claims = jwt.decode(ident, jwk.key, algorithms=["RS256"], audience=stub.client_id,
                        issuer=stub.issuer)
    assert claims["sub"] == stub.config()["user"]["sub"]


def page(stub, method, path, **form):
    body = "&".join("%s=%s" % kv for kv in form.items()) if form else None
    status, _, html = stub.request(method, path, body,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    return status, html.decode()


def test_activation_pages_approve_and_deny(stub):
    code = new_code(stub)
    status, html = page(stub, "GET", "/activate?user_code=" + code["user_code"])
    assert status == 200 and 'value="%s"' % code["user_code"] in html
    typed = code["user_code"].replace("-", "").lower()   # people type it however they like
    status, html = page(stub, "POST", "/activate", user_code=typed)
    assert status == 200 and "Device Confirmation" in html and code["user_code"] in html
    status, html = page(stub, "POST", "/activate/confirm", user_code=code["user_code"], action="approve")
    assert status == 200 and "all set" in html
    assert poll(stub, code["device_code"])[0] == 200
    assert page(stub, "POST", "/activate", user_code=code["user_code"])[0] == 400   # used up
    other = new_code(stub)
    status, html = page(stub, "POST", "/activate/confirm", user_code=other["user_code"], action="deny")
    assert status == 200 and "denied" in html
    assert poll(stub, other["device_code"])[1]["error"] == "access_denied"
    assert page(stub, "POST", "/activate", user_code="BBBB-BBBB")[0] == 400


def test_request_log_and_stderr_hold_names_never_secrets(stub):
    tokens = signed_in(stub)
    stub.configure(approve_after=None)
    code = new_code(stub)
    poll(stub, code["device_code"])
    log = stub.requests()
    last = log[-1]
    assert last["path"] == "/oauth/token" and last["grant_type"] == DEVICE_GRANT
    assert last["fields"] == ["client_id", "device_code", "grant_type"]
    assert (last["status"], last["error"]) == (403, "authorization_pending")
    assert isinstance(last["conn"], int) and last["method"] == "POST"
    with open(stub.log_path) as f:
        stderr = f.read()
    for secret in (code["device_code"], tokens["access_token"], tokens["refresh_token"],
                   tokens["id_token"]):
        assert secret not in json.dumps(log) and secret not in stderr
    assert "authorization_pending" in stderr


def test_one_keep_alive_connection_serves_many_requests(stub):
    conn = http.client.HTTPSConnection(stub.host, stub.port, context=stub.ssl_context(), timeout=10)
    for _ in range(3):
        conn.request("GET", "/.well-known/openid-configuration")
        r = conn.getresponse()
        assert r.status == 200 and int(r.getheader("Content-Length")) == len(r.read())
    conn.close()
    assert len({e["conn"] for e in stub.requests()}) == 1
    assert stub.stats()["connections"] == stub.stats()["tls_handshakes"] == 1


def test_forced_faults_hit_the_next_matching_requests_only(stub):
    stub.configure(force={"status": 503, "body": "<html>Service Unavailable</html>",
                          "content_type": "text/html", "count": 1, "paths": ["/oauth/token"]})
    assert stub.get_json("/.well-known/jwks.json")[0] == 200   # other paths untouched
    code = new_code(stub)
    status, headers, body = stub.request("POST", "/oauth/token", "grant_type=x&client_id=y",
                                         {"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, headers["content-type"], body) == (503, "text/html", b"<html>Service Unavailable</html>")
    assert poll(stub, code["device_code"])[1]["error"] == "authorization_pending"
    stub.configure(force={"drop": True, "count": 1})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        stub.request("GET", "/userinfo")
    assert [e["forced"] for e in stub.requests()] == [False, False, True, False, True]


def test_settings_are_checked_and_reset_restores_startup(stub):
    with pytest.raises(RuntimeError):
        stub.configure(intervall=3)
    assert stub.configure(interval=7)["interval"] == 7
    stub.reset()
    assert stub.config()["interval"] == 1


def test_a_wrong_host_certificate_is_refused_by_a_verifying_client(tmp_path):
    with start_stub(tmp_path, leaf="wronghost", approve_after=0) as s:
        with pytest.raises(ssl.SSLCertVerificationError):
            s.get_json("/.well-known/openid-configuration")
        stats = s.stats_once("tls_failures", 1)
        assert stats["tls_failures"] == 1 and stats["tls_handshakes"] == 0
        with open(s.log_path) as f:
            assert "Traceback" not in f.read()   # a refused handshake is one clean log line


def test_a_larger_interval_set_at_runtime_applies_to_codes_already_issued(stub):
    code = new_code(stub)
    poll(stub, code["device_code"])
    stub.configure(interval=3)
    time.sleep(1.0)   # enough for the announced 1 s, not for the 3 s now required
    assert poll(stub, code["device_code"])[1]["error"] == "slow_down"


def test_revoking_every_grant_ends_refresh(stub):
    rt = signed_in(stub)["refresh_token"]
    assert stub.reset_grants() == 1
    assert refresh(stub, rt) == (403, {"error": "invalid_grant",
                                       "error_description": "Unknown or invalid refresh token."})
    assert [e["grant_type"] for e in stub.requests()] == ["", DEVICE_GRANT, "refresh_token"]


def test_start_stub_fails_loudly_and_serves_plain_http_when_asked(tmp_path):
    with pytest.raises(RuntimeError) as e:
        start_stub(tmp_path / "bad", tls=False, intervall=1)
    assert "unknown settings: intervall" in str(e.value)
    with start_stub(tmp_path / "plain", tls=False) as s:
        assert s.url.startswith("http://127.0.0.1:") and s.ca_pem is None and s.ca_der is None
        assert s.get_json("/.well-known/openid-configuration")[1]["issuer"] == s.url + "/"
