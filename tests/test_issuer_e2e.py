"""End-to-end: the ID token's `iss` is checked against the issuer discovery published.

The stub, like Auth0, publishes its issuer with a trailing slash and signs ID tokens with that
spelling. A config that spells the issuer without the slash fetches the same discovery document
(OpenID Connect Discovery 4.1 drops a trailing slash before /.well-known) and must accept the
approved sign-in (Core 3.1.3.7 item 2: `iss` equals the discovered issuer). A config whose
issuer differs by more than the slash never gets that far: discovery refuses the document.
"""
import pytest

from device import Device
from stubctl import start_stub


@pytest.fixture
def stub(tmp_path):
    with start_stub(str(tmp_path / "stub"), tls=True, interval=1, approve_after=1) as s:
        yield s


@pytest.mark.parametrize("spelling", ["without_slash", "with_slash"])
def test_an_approved_sign_in_passes_whichever_way_the_issuer_is_spelled(stub, tmp_path, spelling):
    assert stub.issuer.endswith("/")
    issuer = stub.issuer.rstrip("/") if spelling == "without_slash" else stub.issuer
    dev = Device(tmp_path, stub, issuer=issuer)
    assert dev.run("--once", timeout=90) == 0, dev.log_text()
    assert dev.events("id_token_ok") and dev.events("api_ok"), dev.log_text()
    assert not dev.events("error"), dev.log_text()
