"""Bearer tokens: what is accepted, what is refused and what the refusal says."""

import time

import jwt
import pytest

from shared.auth import (
    AccessRole,
    Caller,
    Forbidden,
    LocalIssuer,
    TokenVerifier,
    Unauthenticated,
    caller_from_claims,
)
from shared.organisation import load_organisation
from tests.tokens import ISSUER

ORG = load_organisation()
HOUR = 3600


def signed(**claims: object) -> str:
    """A token with exactly these claims besides iss and aud, signed by the tests' issuer."""
    return jwt.encode(
        {"iss": ISSUER.issuer, "aud": "qa-platform", **claims},
        ISSUER.private_key_file.read_bytes(),
        algorithm="RS256",
        headers={"kid": ISSUER.key_id},
    )


def test_a_valid_token_gives_its_claims():
    claims = ISSUER.verifier().claims(ISSUER.mint("S0003"))
    assert (claims["sub"], claims["iss"], claims["aud"]) == ("S0003", ISSUER.issuer, "qa-platform")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (lambda: ISSUER.mint("S0003", issued_at=time.time() - 7200, ttl_seconds=60), "expired"),
        (lambda: ISSUER.mint("S0003", audience="another-api"), "not for this audience"),
        (lambda: LocalIssuer(ISSUER.folder, issuer="elsewhere").mint("S0003"), "trusted issuer"),
        (lambda: "not-a-jwt", "not valid"),
    ],
    ids=["expired", "wrong audience", "wrong issuer", "malformed"],
)
def test_bad_tokens_are_refused_saying_why(token, message):
    with pytest.raises(Unauthenticated, match=message):
        ISSUER.verifier().claims(token())


def test_a_token_signed_by_another_key_is_refused(tmp_path):
    stranger = LocalIssuer(tmp_path).ensure()
    forged = jwt.encode(
        {"sub": "S9001", "iss": ISSUER.issuer, "aud": "qa-platform", "iat": 1, "exp": 2**31},
        stranger.private_key_file.read_bytes(),
        algorithm="RS256",
        headers={"kid": ISSUER.key_id},  # claims to be our key
    )
    with pytest.raises(Unauthenticated, match="signature is not valid"):
        ISSUER.verifier().claims(forged)


def test_an_unsigned_token_is_refused():
    unsigned = jwt.encode(
        {"sub": "S9001", "iss": ISSUER.issuer, "aud": "qa-platform", "iat": 1, "exp": 2**31},
        None,
        algorithm="none",
    )
    with pytest.raises(Unauthenticated):
        ISSUER.verifier().claims(unsigned)


def test_a_token_without_a_subject_is_refused():
    token = jwt.encode(
        {"iss": ISSUER.issuer, "aud": "qa-platform", "iat": 1, "exp": 2**31},
        ISSUER.private_key_file.read_bytes(),
        algorithm="RS256",
        headers={"kid": ISSUER.key_id},
    )
    with pytest.raises(Unauthenticated, match="'sub'"):
        ISSUER.verifier().claims(token)


def test_roles_come_from_the_organisation_file_not_the_token():
    head = caller_from_claims({"sub": "S0003", "roles": ["admin"]}, ORG)
    assert AccessRole.ADMIN not in head.roles
    assert AccessRole.HEAD_OF_SERVICE in head.roles
    assert head.service_areas == {"early_help"}
    director = caller_from_claims({"sub": "S0001"}, ORG)
    assert {AccessRole.ASSISTANT_DIRECTOR, AccessRole.MODERATOR} <= director.roles
    assert caller_from_claims({"sub": "S9001"}, ORG).roles == {AccessRole.ADMIN}


def test_machine_callers_carry_the_service_role_and_strangers_are_refused():
    listed = {"scheduler": frozenset({"GET /audits"})}
    machine = caller_from_claims({"sub": "scheduler", "roles": ["service"]}, ORG, listed)
    assert machine.roles == {AccessRole.SERVICE}
    assert machine.routes == {"GET /audits"}
    assert machine.sees_every_area
    with pytest.raises(Forbidden, match="not in the organisation file"):
        caller_from_claims({"sub": "S7777"}, ORG, listed)


def test_a_service_token_from_a_client_the_deployment_does_not_list_is_refused():
    with pytest.raises(Forbidden, match=r"'reporting' is not one of the machine callers .*"):
        caller_from_claims({"sub": "reporting", "roles": ["service"]}, ORG)
    listed = {"scheduler": frozenset({"GET /audits"})}
    with pytest.raises(Forbidden, match="MACHINE_CLIENTS"):
        caller_from_claims({"sub": "reporting", "roles": ["service"]}, ORG, listed)


def test_staff_have_no_route_list_their_roles_decide():
    assert caller_from_claims({"sub": "S0003"}, ORG, {"S0003": frozenset()}).routes is None


def test_a_token_living_longer_than_the_cap_is_refused_and_one_within_it_accepted():
    now = int(time.time())
    twelve_hours = signed(sub="S0003", iat=now, exp=now + 12 * HOUR)
    assert ISSUER.verifier().claims(twelve_hours)["sub"] == "S0003"
    a_year = signed(sub="S0003", iat=now, exp=now + 365 * 24 * HOUR)
    with pytest.raises(Unauthenticated, match="lives longer"):
        ISSUER.verifier().claims(a_year)
    strict = TokenVerifier(
        ISSUER.issuer, "qa-platform", jwks_file=ISSUER.jwks_file, max_lifetime_seconds=HOUR
    )
    with pytest.raises(Unauthenticated, match="lives longer"):
        strict.claims(twelve_hours)


def test_a_token_without_an_issued_at_time_is_refused():
    with pytest.raises(Unauthenticated, match="'iat'"):
        ISSUER.verifier().claims(signed(sub="S0003", exp=int(time.time()) + HOUR))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_times_written_as_strings_are_refused(claim):
    now = int(time.time())
    times: dict[str, object] = {"iat": now, "exp": now + HOUR, "nbf": now}
    times[claim] = str(times[claim])
    with pytest.raises(Unauthenticated, match=f"'{claim}' is not a JSON number"):
        ISSUER.verifier().claims(signed(sub="S0003", **times))


@pytest.mark.parametrize("exp", [True, float("inf"), float("nan")], ids=["true", "inf", "nan"])
def test_times_that_are_not_finite_numbers_are_refused(exp):
    with pytest.raises(Unauthenticated):
        ISSUER.verifier().claims(signed(sub="S0003", iat=int(time.time()), exp=exp))


def test_scope_checks_name_what_is_out_of_reach():
    head = Caller("S0003", frozenset({AccessRole.HEAD_OF_SERVICE}), frozenset({"early_help"}))
    head.require_self("S0003", "the inbox")
    head.require_area("early_help", "this follow-up")
    with pytest.raises(Forbidden, match="your own staff id"):
        head.require_self("S0004", "the inbox")
    with pytest.raises(Forbidden, match="not one of your service areas"):
        head.require_area("children_in_care", "this follow-up")


def test_production_keys_are_fetched_from_the_issuers_jwks_url():
    import http.server
    import threading

    jwks = ISSUER.jwks_file.read_bytes()

    class Keys(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
        verifier = TokenVerifier(ISSUER.issuer, "qa-platform", jwks_url=url)
        assert verifier.claims(ISSUER.mint("S0004"))["sub"] == "S0004"
        stranger = LocalIssuer(ISSUER.folder.parent / "stranger-keys").ensure()
        with pytest.raises(Unauthenticated, match="key"):
            verifier.claims(stranger.mint("S0004"))
    finally:
        server.shutdown()


def test_settings_need_exactly_one_source_of_token_keys(monkeypatch):
    from services.audit.settings import AuditSettings
    from shared.settings import SettingsError, load_settings

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")
    monkeypatch.delenv("AUTH_JWKS_FILE")
    with pytest.raises(SettingsError, match=r"AUTH_JWKS_URL .* AUTH_JWKS_FILE"):
        load_settings(AuditSettings)
    monkeypatch.setenv("AUTH_JWKS_FILE", str(ISSUER.jwks_file))
    monkeypatch.setenv("AUTH_JWKS_URL", "https://login.example.gov.uk/jwks")
    with pytest.raises(SettingsError, match="exactly one"):
        load_settings(AuditSettings)
