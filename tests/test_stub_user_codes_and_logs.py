"""The stub's Auth0 tenant features: Device User Code Settings (user_code_charset,
user_code_mask) and tenant log events (fdeaz, fdeac, fdecc, fede, sede at /_stub/logs)."""
import re
import time
from urllib.parse import quote, urlencode

import pytest

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
BASE20 = "BCDFGHJKLMNPQRSTVWXZ"


def new_code(stub, client_id=None):
    return stub.post_form("/oauth/device/code", client_id=client_id or stub.client_id, scope="openid")


def poll(stub, device_code):
    return stub.post_form("/oauth/token", grant_type=DEVICE_GRANT, device_code=device_code,
                          client_id=stub.client_id)


def page(stub, method, path, **form):
    status, _, html = stub.request(method, path, urlencode(form) if form else None,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    return status, html.decode()


def mask_pattern(charset, mask):
    chars = BASE20 if charset == "base20" else "0-9"
    return "^" + "".join("[%s]" % chars if ch == "*" else re.escape(ch) for ch in mask) + "$"


MASKS = ["****", "*****", "***-***", "**** ****", "****-****", "***-***-****", "*** *** *** ***",
         "****-****-****-****", "** ** ** ** ** ** **", "********************"]


@pytest.mark.parametrize("charset", ["base20", "digits"])
def test_codes_follow_the_tenants_charset_and_mask(stub, charset):
    for mask in MASKS:
        stub.configure(user_code_charset=charset, user_code_mask=mask)
        status, body = new_code(stub)
        assert status == 200, body
        code = body["user_code"]
        assert re.match(mask_pattern(charset, mask), code), (mask, code)
        assert body["verification_uri_complete"] == body["verification_uri"] + "?user_code=" + quote(code)


@pytest.mark.parametrize("charset,mask", [("base20", "****-****"), ("digits", "*** *** ***"),
                                          ("base20", "**** **** ****"), ("digits", "****-****-****-****")])
def test_activation_page_ignores_separators_and_case(stub, charset, mask):
    stub.configure(user_code_charset=charset, user_code_mask=mask)
    body = new_code(stub)[1]
    code = body["user_code"]
    typed = code.replace("-", "").replace(" ", "").lower()
    status, html = page(stub, "POST", "/activate", user_code=typed)
    assert status == 200 and "Device Confirmation" in html and code in html
    regrouped = " - ".join(typed[i:i + 2] for i in range(0, len(typed), 2))  # any separators at all
    status, html = page(stub, "POST", "/activate/confirm", user_code=regrouped, action="approve")
    assert status == 200 and "all set" in html
    assert poll(stub, body["device_code"])[0] == 200


@pytest.mark.parametrize("bad", [{"user_code_charset": "base64"}, {"user_code_mask": "*" * 21},
                                 {"user_code_mask": "----"}, {"user_code_mask": "**_**"}])
def test_settings_auth0_would_refuse_are_refused(stub, bad):
    with pytest.raises(RuntimeError, match="400"):
        stub.configure(**bad)


def test_tenant_logs_record_each_outcome_with_client_and_no_secret(stub):
    assert stub.tenant_logs() == []
    assert new_code(stub, client_id="someone-else")[0] == 401                   # fdeaz
    assert page(stub, "POST", "/activate", user_code="BBBB-BBBB")[0] == 400      # fdeac
    denied = new_code(stub)[1]
    assert page(stub, "POST", "/activate/confirm", user_code=denied["user_code"], action="deny")[0] == 200
    assert poll(stub, denied["device_code"])[1]["error"] == "access_denied"     # fdecc, then fede
    ok = new_code(stub)[1]
    assert poll(stub, ok["device_code"])[1]["error"] == "authorization_pending"  # not logged
    stub.approve(ok["user_code"])
    time.sleep(1.1)  # the interval, or slow_down
    assert poll(stub, ok["device_code"])[0] == 200                               # sede
    logs = stub.tenant_logs()
    assert [e["type"] for e in logs] == ["fdeaz", "fdeac", "fdecc", "fede", "sede"]
    assert [e["client_id"] for e in logs] == ["someone-else", None] + [stub.client_id] * 3
    for e in logs:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", e["date"]) and e["description"]
    secrets = [v for vs in stub._control("GET", "/_stub/secrets")[1].values() for v in vs]
    text = repr(logs)
    assert secrets and not any(s in text for s in secrets)
    assert denied["user_code"] not in text and ok["user_code"] not in text
