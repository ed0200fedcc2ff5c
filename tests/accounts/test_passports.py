"""Researcher status from a GA4GH passport: visas signed with real keys, their key sets served by
a real HTTP server (tests/visa_issuers.py), verified by accounts.passports with PyJWT. A visa is
trusted only from a configured issuer, through its configured key URL, with a good signature,
unexpired, of type ResearcherStatus; everything else is ignored and logged."""

from __future__ import annotations

import logging
import time

import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured

from access.models import ResearcherStatus
from access.selectors import researcher_status_current
from accounts import passports
from audit.choices import EventType
from audit.models import AuditEvent
from core.visa_issuers import parse_trusted_issuers
from tests import factories

SUB = "b1f4c2e0d3@lifescience-ri.eu"


@pytest.fixture
def person(db):
    return factories.user("visa-holder")


def ignored_events():
    return list(
        AuditEvent.objects.filter(event_type=EventType.RESEARCHER_VISA_IGNORED).order_by("seq")
    )


def accepted_events():
    return list(
        AuditEvent.objects.filter(event_type=EventType.RESEARCHER_STATUS_RECORDED).order_by("seq")
    )


def test_a_visa_signed_by_a_trusted_key_is_the_persons_researcher_status(person, visa_world):
    issued = int(time.time()) - 86400 * 30
    token = visa_world.trusted.visa(sub=SUB, asserted=issued, jti="visa-1")

    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])

    assert result.ignored == []
    [status] = result.accepted
    assert status.user == person
    assert status.issuer == visa_world.trusted.iss
    assert status.source == "https://www.radboudumc.nl"
    assert status.by == "so"
    assert status.jti == "visa-1"
    assert int(status.asserted.timestamp()) == issued
    assert status.is_current()
    assert researcher_status_current(person) == status
    [event] = accepted_events()
    assert event.target_type == "access.researcherstatus"
    assert event.payload["issuer"] == visa_world.trusted.iss
    assert event.payload["jti"] == "visa-1"
    assert event.payload["visa_sha256"] == status.visa_sha256
    assert token not in str(event.payload)  # the ledger names the visa, never copies it


def test_an_rs256_issuer_is_trusted_too(person, visa_world):
    token = visa_world.trusted_rsa.visa(sub=SUB)
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert [s.issuer for s in result.accepted] == [visa_world.trusted_rsa.iss]


def test_the_same_visa_at_the_next_sign_in_is_recorded_once(person, visa_world):
    token = visa_world.trusted.visa(sub=SUB)
    first = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    again = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert again.accepted == first.accepted
    assert ResearcherStatus.objects.filter(user=person).count() == 1
    assert len(accepted_events()) == 1


def test_the_key_set_is_fetched_once_and_cached(person, visa_world):
    for _ in range(3):
        passports.researcher_status_from_passport(
            user=person, passport_jwts=[visa_world.trusted.visa(sub=SUB)]
        )
    assert visa_world.server.hits["/trusted/jwks"] == 1
    assert ResearcherStatus.objects.filter(user=person).count() == 3


def assert_ignored(person, result, reason, caplog_records=None):
    assert result.accepted == []
    assert [r for r, _ in result.ignored] == [reason]
    assert not ResearcherStatus.objects.filter(user=person).exists()
    assert researcher_status_current(person) is None
    [event] = ignored_events()
    assert event.payload["reason"] == reason
    assert event.payload["visa_sha256"] == result.ignored[0][1]
    assert accepted_events() == []
    if caplog_records is not None:
        assert any(reason in r.getMessage() for r in caplog_records)


def test_a_visa_from_an_untrusted_issuer_is_ignored_and_its_keys_never_fetched(
    person, visa_world, caplog
):
    token = visa_world.untrusted.visa(sub=SUB)
    with caplog.at_level(logging.WARNING, logger="accounts.passports"):
        result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "untrusted_issuer", caplog.records)
    assert ignored_events()[0].payload["issuer"] == visa_world.untrusted.iss
    assert visa_world.server.hits["/attacker/jwks"] == 0


def test_a_trusted_iss_with_another_jku_is_ignored_and_that_url_never_fetched(
    person, visa_world, caplog
):
    # The attacker claims the trusted issuer and points jku at their own key set, which does
    # verify their signature: the configured jku is what decides, so it is never asked.
    attacker = visa_world.untrusted
    token = attacker.visa(sub=SUB, iss=visa_world.trusted.iss)
    with caplog.at_level(logging.WARNING, logger="accounts.passports"):
        result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "jku_mismatch", caplog.records)
    assert visa_world.server.hits["/attacker/jwks"] == 0
    assert visa_world.server.hits["/trusted/jwks"] == 0


def test_a_bad_signature_is_ignored(person, visa_world, caplog):
    # The trusted issuer's header, kid and claims, signed with another key.
    token = visa_world.trusted.visa(sub=SUB, key=visa_world.untrusted.private_key)
    with caplog.at_level(logging.WARNING, logger="accounts.passports"):
        result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "bad_signature", caplog.records)


def test_a_tampered_visa_is_ignored(person, visa_world):
    header, payload, signature = visa_world.trusted.visa(sub=SUB, by="system").split(".")
    claims = jwt.utils.base64url_decode(payload).decode().replace('"system"', '"so"')
    forged = ".".join([header, jwt.utils.base64url_encode(claims.encode()).decode(), signature])
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[forged])
    assert_ignored(person, result, "bad_signature")


def test_an_expired_visa_is_ignored(person, visa_world, caplog):
    now = int(time.time())
    token = visa_world.trusted.visa(sub=SUB, iat=now - 7200, exp=now - 10, asserted=now - 86400)
    with caplog.at_level(logging.WARNING, logger="accounts.passports"):
        result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "expired", caplog.records)


def test_a_visa_without_exp_is_ignored(person, visa_world):
    now = int(time.time())
    token = jwt.encode(
        {"iss": visa_world.trusted.iss, "sub": SUB, "iat": now,
         "ga4gh_visa_v1": {"type": "ResearcherStatus", "asserted": now, "value": "v",
                           "source": "https://www.radboudumc.nl", "by": "so"}},
        visa_world.trusted.private_key,
        algorithm="ES256",
        headers={"jku": visa_world.trusted.jku, "kid": visa_world.trusted.kid},
    )  # fmt: skip
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "invalid_claims")


def test_a_visa_of_another_type_is_ignored(person, visa_world, caplog):
    token = visa_world.trusted.visa(sub=SUB, visa_type="AffiliationAndRole")
    with caplog.at_level(logging.INFO, logger="accounts.passports"):
        result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "not_researcher_status", caplog.records)


def test_an_algorithm_that_is_not_allowed_is_ignored(person, visa_world, settings):
    settings.TESSERA_VISA_ALGORITHMS = ["RS256"]
    token = visa_world.trusted.visa(sub=SUB)  # ES256
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "algorithm")


def test_an_hs256_visa_is_ignored(person, visa_world):
    # A shared-secret algorithm under a trusted issuer's header: refused before any key is used.
    token = jwt.encode(
        {"iss": visa_world.trusted.iss, "sub": SUB, "exp": int(time.time()) + 60},
        "a-shared-secret-of-at-least-thirty-two-bytes",
        algorithm="HS256",
        headers={"jku": visa_world.trusted.jku, "kid": visa_world.trusted.kid},
    )
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "algorithm")


def test_a_kid_the_issuer_does_not_publish_is_ignored(person, visa_world):
    token = visa_world.trusted.visa(sub=SUB, headers={"kid": "retired-key"})
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "unknown_key")


def test_an_unreachable_key_set_is_ignored_not_a_failure(person, visa_world):
    del visa_world.server.documents["/trusted/jwks"]  # the issuer answers 404
    token = visa_world.trusted.visa(sub=SUB)
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "keys_unavailable")


def test_a_self_asserted_or_conditional_status_is_ignored(person, visa_world):
    tokens = [
        visa_world.trusted.visa(sub=SUB, by="self"),
        visa_world.trusted.visa(
            sub=SUB, extra_visa={"conditions": [[{"type": "AffiliationAndRole", "value": "x"}]]}
        ),
    ]
    result = passports.researcher_status_from_passport(user=person, passport_jwts=tokens)
    assert [r for r, _ in result.ignored] == ["self_asserted", "conditional"]
    assert researcher_status_current(person) is None


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        ("", "malformed"),
        ("not.a.jwt", "malformed"),
        ("a" * 20_000, "too_large"),
        (42, "malformed"),
        (None, "malformed"),
        ({"x": 1}, "malformed"),
    ],
)
def test_garbage_in_the_passport_is_ignored(person, visa_world, garbage, reason):
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[garbage])
    assert_ignored(person, result, reason)


def test_one_bad_visa_does_not_spoil_a_good_one(person, visa_world):
    good = visa_world.trusted.visa(sub=SUB)
    result = passports.researcher_status_from_passport(
        user=person,
        passport_jwts=[visa_world.untrusted.visa(sub=SUB), good, "junk"],
    )
    assert len(result.accepted) == 1
    assert [r for r, _ in result.ignored] == ["untrusted_issuer", "malformed"]


def test_from_claims_reads_the_passport_claim_and_requires_the_signed_in_subject(
    person, visa_world
):
    mine = visa_world.trusted.visa(sub=SUB)
    someone_elses = visa_world.trusted.visa(sub="someone-else@lifescience-ri.eu")
    result = passports.researcher_status_from_claims(
        user=person,
        claims={"sub": SUB, "email": "x@example.org", "ga4gh_passport_v1": [mine, someone_elses]},
    )
    assert len(result.accepted) == 1
    assert [r for r, _ in result.ignored] == ["subject_mismatch"]


def test_claims_without_a_passport_record_nothing(person, visa_world):
    assert passports.researcher_status_from_claims(user=person, claims={"sub": SUB}).accepted == []
    assert ignored_events() == [] and accepted_events() == []


def test_nothing_is_trusted_when_no_issuer_is_configured(person, visa_world, settings):
    settings.TESSERA_TRUSTED_VISA_ISSUERS = {}
    token = visa_world.trusted.visa(sub=SUB)
    result = passports.researcher_status_from_passport(user=person, passport_jwts=[token])
    assert_ignored(person, result, "untrusted_issuer")


def test_ignored_visas_are_bounded_in_the_ledger(person, visa_world, settings):
    settings.AUDIT_BOUNDED_LIMIT = 3
    tokens = [visa_world.untrusted.visa(sub=SUB) for _ in range(5)]
    result = passports.researcher_status_from_passport(user=person, passport_jwts=tokens)
    assert len(result.ignored) == 5
    assert len(ignored_events()) == 3


# --- the setting ----------------------------------------------------------------------------
def test_the_setting_lists_iss_jku_pairs():
    text = "https://a.example/|https://a.example/jwks,\n https://b.example | https://b.example/k "
    assert parse_trusted_issuers(text, require_https=True) == {
        "https://a.example/": "https://a.example/jwks",
        "https://b.example": "https://b.example/k",
    }
    assert parse_trusted_issuers("", require_https=True) == {}


@pytest.mark.parametrize(
    "text",
    [
        "https://a.example",  # no jku
        "https://a.example|",
        "https://a.example|https://a.example/jwks|extra",
        "https://a.example|http://a.example/jwks",  # plain http in production
        "https://a.example|file:///etc/passwd",
        "https://a.example|https://x/1,https://a.example|https://x/2",  # twice
    ],
)
def test_a_wrong_setting_stops_start_up(text):
    with pytest.raises(ImproperlyConfigured, match="TESSERA_TRUSTED_VISA_ISSUERS"):
        parse_trusted_issuers(text, require_https=True)
