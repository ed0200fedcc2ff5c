"""Guessing passwords: the portal's and the admin's sign-in lock out an account from an address
after a few failures and an address after more, for a cool-off; the ledger records the lockout
once and does not grow without bound on failed sign-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone

from audit import bounded
from audit.choices import EventType
from audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

SIGN_IN = {"portal": "/accounts/login/", "admin": "/admin/login/?next=/admin/"}
ATTACKER = "203.0.113.66"
ELSEWHERE = "198.51.100.7"


@pytest.fixture
def person(db):
    return factories.user("pathologist", is_staff=True)  # staff: the admin lets them in


def sign_in(client, where: str, username: str, password: str, address: str = ATTACKER):
    return client.post(
        SIGN_IN[where], {"username": username, "password": password}, REMOTE_ADDR=address
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def events(event_type: EventType):
    return AuditEvent.objects.filter(event_type=event_type).order_by("seq")


@pytest.mark.parametrize("where", SIGN_IN)
def test_twenty_wrong_passwords_then_the_right_one_is_refused_with_429(client, person, where):
    for _ in range(20):
        assert sign_in(client, where, "pathologist", "wrong").status_code in (200, 429)
    response = sign_in(client, where, "pathologist", "pw")
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "Too many failed sign-ins; try again in 15 minutes" in page
    assert 'href="/"' in page  # a way back


@pytest.mark.parametrize("where", SIGN_IN)
def test_four_wrong_passwords_still_let_the_right_one_in(client, person, where):
    for _ in range(4):
        assert sign_in(client, where, "pathologist", "wrong").status_code == 200
    assert sign_in(client, where, "pathologist", "pw").status_code == 302
    assert signed_in(client)


def test_the_fifth_failure_locks_the_account_at_that_address_only(client, person):
    for _ in range(5):
        sign_in(client, "portal", "pathologist", "wrong")
    assert sign_in(client, "portal", "pathologist", "pw").status_code == 429
    # The same account from another address, and another account from this one, still sign in.
    factories.user("histologist")
    assert sign_in(client, "portal", "histologist", "pw").status_code == 302
    client.logout()
    assert sign_in(client, "admin", "pathologist", "pw", address=ELSEWHERE).status_code == 302


def test_a_lockout_on_the_portal_also_holds_on_the_admin(client, person):
    for _ in range(5):
        sign_in(client, "portal", "pathologist", "wrong")
    assert sign_in(client, "admin", "pathologist", "pw").status_code == 429


def test_an_address_is_locked_after_thirty_failures_over_any_accounts(client, person):
    for n in range(29):  # one guess each at 29 accounts: no account reaches its limit
        sign_in(client, "portal", f"guess{n}", "wrong")
    assert sign_in(client, "portal", "pathologist", "pw").status_code == 302
    client.logout()
    sign_in(client, "portal", "guess29", "wrong")  # the 30th failure from this address
    assert sign_in(client, "portal", "pathologist", "pw").status_code == 429
    assert sign_in(client, "portal", "pathologist", "pw", address=ELSEWHERE).status_code == 302


def test_sign_in_works_again_after_the_cool_off(client, person):
    for _ in range(6):
        sign_in(client, "portal", "pathologist", "wrong")
    assert sign_in(client, "portal", "pathologist", "pw").status_code == 429
    # Fifteen minutes and a second pass since the last attempt (axes dates every attempt).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert sign_in(client, "portal", "pathologist", "pw").status_code == 302
    assert signed_in(client)


def test_a_lockout_is_one_ledger_event_naming_the_account_by_pseudonym(client, person):
    for _ in range(12):
        sign_in(client, "admin", "pathologist", "wrong")
    locked = list(events(EventType.LOGIN_LOCKED_OUT))
    assert len(locked) == 1
    event = locked[0]
    assert (event.target_type, event.target_id) == ("auth.user", str(person.pk))
    assert event.client_addr == ATTACKER
    assert event.payload == {"known_account": True, "cool_off_minutes": 15}
    assert "pathologist" not in str(event.payload)


def test_a_lockout_of_an_unknown_account_is_recorded_without_the_name_tried(client):
    for _ in range(5):
        sign_in(client, "portal", "hunter2-typed-in-the-wrong-box", "wrong")
    (event,) = events(EventType.LOGIN_LOCKED_OUT)
    assert event.target_id == ""
    assert event.payload["known_account"] is False
    assert "hunter2" not in str(event.payload)


def test_failed_sign_ins_in_the_ledger_are_bounded_per_address_and_summarised(client, person):
    for n in range(25):  # 25 accounts, one guess each: no lockout, just noise
        sign_in(client, "portal", f"guess{n}", "wrong")
    assert events(EventType.LOGIN_FAILED).count() == 10
    assert not events(EventType.EVENTS_SUPPRESSED).exists()  # counted until the window closes
    assert bounded.bounded_flush(now=timezone.now() + timedelta(minutes=15)) == 1
    (summary,) = events(EventType.EVENTS_SUPPRESSED)
    assert summary.payload["kind"] == "auth.login_failed"
    assert summary.payload["key"] == f"address:{ATTACKER}"
    assert (summary.payload["seen"], summary.payload["suppressed"]) == (25, 15)
    assert summary.payload["window_seconds"] == 900
    # Another address has its own allowance.
    sign_in(client, "portal", "pathologist", "wrong", address=ELSEWHERE)
    assert events(EventType.LOGIN_FAILED).filter(client_addr=ELSEWHERE).count() == 1


def test_each_failed_sign_in_within_the_bound_is_recorded(client, person):
    for _ in range(3):
        sign_in(client, "portal", "pathologist", "wrong")
    failed = list(events(EventType.LOGIN_FAILED))
    assert len(failed) == 3
    assert all(e.target_id == str(person.pk) and e.client_addr == ATTACKER for e in failed)
    assert not events(EventType.EVENTS_SUPPRESSED).exists()
