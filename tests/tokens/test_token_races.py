"""Issue and revocation racing each other: no token escapes the revocation feed (PostgreSQL)."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from access import lifecycle
from access.models import Grant
from access.services import decisions as decision_services
from access.services import grants as grant_services
from access.services import requests as request_services
from access.services import reviews as review_services
from access.services import team as team_services
from accounts.services import user_suspend
from governance import services as gov
from tests.access_world import reference_data_restore
from tokens import keyring
from tokens.issue import TokenRefused, token_issue
from tokens.models import IssuedToken, TokenRevocation

from .token_support import grant, token_keys

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks under real concurrent transactions are tested on PostgreSQL")
    reference_data_restore()  # what a transactional flush removed


def run(*targets):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)


def revoke_by(revocation: str, *, grant, researcher, admin_user, chair) -> None:
    """One of the ways a grant's tokens are revoked (the committee's decision, or a sweep that
    changes the dataset or the account, not the grant row)."""
    if revocation == "grant_revoked":
        grant_services.grant_revoke(grant=grant, actor=chair, reason="Breach.")
    elif revocation == "request_withdrawn":
        request_services.request_withdraw(access_request=grant.request, actor=researcher)
    elif revocation == "dataset_retired":
        gov.dataset_retire(dataset=grant.dataset, actor=None, reason="Withdrawn.")
    else:
        user_suspend(user=researcher, actor=admin_user, reason="Compromised.")


@pytest.mark.parametrize("revocation", ["dataset_retired", "user_suspended", "request_withdrawn"])
def test_a_token_being_issued_during_a_sweep_is_swept_into_the_feed(
    grant, researcher, admin_user, chair, monkeypatch, revocation
):
    locked = threading.Event()
    signer = keyring.signer

    def slow_signer():
        # Called by token_issue after it locked the grant and read it as active.
        locked.set()
        time.sleep(1.0)  # the retirement's sweep is now waiting for the grant's row lock
        return signer()

    monkeypatch.setattr(keyring, "signer", slow_signer)
    issued: dict[str, str] = {}

    def issue():
        try:
            issued["jti"] = token_issue(grant=grant, actor=researcher).jti
        finally:
            connection.close()

    def sweep():
        try:
            assert locked.wait(timeout=10)
            revoke_by(
                revocation, grant=grant, researcher=researcher, admin_user=admin_user, chair=chair
            )
        except Exception as exc:  # a deadlock, say: reported by the assertion below
            issued["sweep_error"] = repr(exc)
        finally:
            connection.close()

    run(issue, sweep)
    assert "sweep_error" not in issued, issued
    token = IssuedToken.objects.get(jti=issued["jti"])
    assert token.revoked_at is not None
    cause = {"request_withdrawn": "grant_revoked"}.get(revocation, revocation)
    assert TokenRevocation.objects.get(jti=token.jti).cause == cause


@pytest.mark.parametrize(
    "revocation", ["grant_revoked", "dataset_retired", "user_suspended", "request_withdrawn"]
)
def test_a_token_asked_for_during_a_revocation_waits_and_is_refused(
    grant, researcher, admin_user, chair, revocation
):
    """The issuer waits for the grant's lock and must then read the state as it is after the
    revocation committed, also when only the dataset or the account changed, not the grant
    row (one statement that locks and reads would see them as before it waited)."""
    revoked_not_committed = threading.Event()
    outcome: dict[str, object] = {}

    def revoke():
        try:
            with transaction.atomic():
                revoke_by(
                    revocation, grant=grant, researcher=researcher, admin_user=admin_user,
                    chair=chair,
                )  # fmt: skip
                revoked_not_committed.set()
                time.sleep(1.0)  # the issuer is now waiting for the grant's row lock
        finally:
            connection.close()

    def issue():
        try:
            assert revoked_not_committed.wait(timeout=10)
            outcome["token"] = token_issue(grant=grant, actor=researcher)
        except TokenRefused as exc:
            outcome["refused"] = str(exc)
        finally:
            connection.close()

    run(revoke, issue)
    expected = {
        "grant_revoked": "The grant was revoked.",
        "dataset_retired": "The dataset is no longer published.",
        "user_suspended": "The account is suspended.",
        "request_withdrawn": "The grant was revoked.",
    }[revocation]
    assert outcome == {"refused": expected}
    assert not IssuedToken.objects.exists()


def paused_approval(monkeypatch, access_request, dataset, chair):
    """A thread body in which `chair` approves the part of `access_request` for `dataset` and
    pauses for a second right after locking its review (the event returned is set then), so
    that another thread starts while the approval holds its locks; and the dict the threads
    report into (an exception of the approval's, a deadlock say, under "approve")."""
    review = access_request.reviews.get(committee=dataset.committee)
    report: dict[str, str] = {}
    deciding = threading.Event()
    require_eligible = review_services.require_eligible

    def slow_require_eligible(*args, **kwargs):
        # Called by decision_record right after it locked the review.
        deciding.set()
        time.sleep(1.0)  # the other thread now starts and meets the approval's locks
        return require_eligible(*args, **kwargs)

    monkeypatch.setattr(review_services, "require_eligible", slow_require_eligible)

    def approve():
        try:
            decision_services.decision_record(
                review=review,
                actor=chair,
                outcome="approve",
                end_date=timezone.localdate() + timedelta(days=90),
            )
        except Exception as exc:
            report["approve"] = repr(exc)
        finally:
            connection.close()

    return approve, deciding, report


def test_a_withdrawal_racing_an_approval_leaves_no_live_grant_and_no_deadlock(
    grant, researcher, other_chair, other_dataset, monkeypatch
):
    """The approval of the other part holds its review's lock, then writes the request; the
    withdrawal locks the reviews before the request, so it waits for the approval and then
    revokes its grants too (locking the request first would deadlock the two)."""
    access_request = grant.request
    approve, deciding, errors = paused_approval(
        monkeypatch, access_request, other_dataset, other_chair
    )

    def withdraw():
        try:
            assert deciding.wait(timeout=10)
            request_services.request_withdraw(access_request=access_request, actor=researcher)
        except Exception as exc:
            errors["withdraw"] = repr(exc)
        finally:
            connection.close()

    run(approve, withdraw)
    assert errors == {}
    access_request.refresh_from_db()
    assert access_request.status == "withdrawn"
    grants = Grant.objects.filter(request=access_request)
    assert {g.dataset_id for g in grants} == {grant.dataset_id, other_dataset.pk}
    assert not grants.filter(revoked_at__isnull=True).exists()


def test_an_edit_racing_an_approval_waits_for_it_and_is_refused(
    submitted, researcher, chair, other_chair, dataset, other_dataset, monkeypatch
):
    """The applicant edits the purpose (another committee returned the request) while the
    first committee is approving: the edit waits for the approval's review lock, then sees the
    approval and is refused, so no grant is made for answers the committee never saw."""
    decision_services.decision_record(
        review=submitted.reviews.get(committee=other_dataset.committee),
        actor=other_chair,
        outcome="return",
        questions="Which cohort?",
    )
    approve, deciding, outcome = paused_approval(monkeypatch, submitted, dataset, chair)

    def edit():
        try:
            assert deciding.wait(timeout=10)
            request_services.request_update(
                access_request=submitted, actor=researcher, data={"commercial": True}
            )
            outcome["edit"] = "saved"
        except lifecycle.AnswersLocked as exc:
            outcome["edit"] = f"refused {exc.fields}"
        except Exception as exc:
            outcome["edit"] = repr(exc)
        finally:
            connection.close()

    run(approve, edit)
    assert outcome == {"edit": "refused ['commercial']"}
    submitted.refresh_from_db()
    assert submitted.commercial is False
    assert Grant.objects.filter(request=submitted, revoked_at__isnull=True).exists()


def test_a_member_removed_while_an_approval_lands_keeps_no_grant_and_no_deadlock(
    grant, researcher, teammate, other_chair, other_dataset, monkeypatch
):
    """Leaving needs no review (issue 14): the removal locks the reviews before the request, as
    a withdrawal does, so it waits for the approval of the other part and then revokes the
    grants that approval just made for the member, along with their earlier ones."""
    access_request = grant.request
    approve, deciding, errors = paused_approval(
        monkeypatch, access_request, other_dataset, other_chair
    )

    def remove():
        try:
            assert deciding.wait(timeout=10)
            team_services.team_member_remove(
                access_request=access_request, actor=researcher, user=teammate, reason="Left."
            )
        except Exception as exc:
            errors["remove"] = repr(exc)
        finally:
            connection.close()

    run(approve, remove)
    assert errors == {}
    assert not access_request.team_members.filter(pk=teammate.pk).exists()
    theirs = Grant.objects.filter(request=access_request, user=teammate)
    assert {g.dataset_id for g in theirs} == {grant.dataset_id, other_dataset.pk}
    assert not theirs.filter(revoked_at__isnull=True).exists()
    mine = Grant.objects.filter(request=access_request, user=researcher)
    assert mine.count() == 2 and not mine.filter(revoked_at__isnull=False).exists()
