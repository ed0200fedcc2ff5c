"""One typed helper per kind of event. Services call these inside their transaction.

Payloads hold identifiers, codes and changed field names/values of catalogue objects; never a
person's name, e-mail or username (the ledger is pseudonymous, see README "GDPR"). Fields that
name a person (`audit.personal.PERSONAL_FIELDS`) keep a keyed fingerprint instead of the value.

Why one module of about 650 lines: a flat list of small builders, one per `EventType`, grouped by
section (auth, governance, access, audit, tokens): the one place to search for what an event
records. A package by section is the next step when it grows.
"""

from __future__ import annotations

from typing import Any

from core.logs import url_without_secrets

from . import personal
from .actors import ANONYMOUS, client_actor_id, pseudonym_for
from .choices import EventType
from .ledger import append
from .recorded import event_recorded


def _target(obj) -> tuple[str, str]:
    # A model that moved to another app keeps the ledger's name for it (`LEDGER_TARGET_TYPE`,
    # its label from before the move): old events keep verifying, new ones read the same.
    target_type = getattr(obj, "LEDGER_TARGET_TYPE", None) or obj._meta.label_lower
    return target_type, str(getattr(obj, "accession", None) or obj.pk)


def _record(
    event_type: EventType,
    *,
    actor,
    obj=None,
    payload: dict[str, Any] | None = None,
    change: tuple[str, list] | None = None,
):
    target_type, target_id = _target(obj) if obj is not None else ("", "")
    payload = payload or {}
    if personal.personal_fields(target_type):
        # Field values and diffs of objects that name people: a fingerprint, never the value.
        payload = {
            k: personal.redact(target_type, v) if k in ("fields", "changes") else v
            for k, v in payload.items()
        }
    event = append(
        event_type=event_type,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        payload=payload,
        change=change,
    )
    # Receivers connect per event type (the sender): see audit/recorded.py.
    event_recorded.send(sender=EventType(event_type), obj=obj, payload=payload, actor=actor)
    return event


def _created(event_type: EventType, *, obj, actor, fields: dict):
    """A catalogue object was created: its initial fields."""
    return _record(event_type, actor=actor, obj=obj, payload={"fields": fields})


def _changed(event_type: EventType, *, obj, actor, changes: dict):
    """A catalogue object was changed: the fields' old and new values."""
    return _record(event_type, actor=actor, obj=obj, payload={"changes": changes})


# --- auth -------------------------------------------------------------------------------------
def login(*, user):
    return _record(EventType.LOGIN, actor=user, obj=user)


def login_failed(*, user=None):
    # The attempted username is personal data and may be a password typed in the wrong box:
    # it is never written. A known account is named by its pseudonym.
    return _record(
        EventType.LOGIN_FAILED, actor=None, obj=user, payload={"known_account": user is not None}
    )


def login_locked_out(*, user=None, cool_off_minutes: int):
    # As for failed logins, the attempted username is never written; a known account is named
    # by its pseudonym, the address is the event's client address.
    return _record(
        EventType.LOGIN_LOCKED_OUT,
        actor=None,
        obj=user,
        payload={"known_account": user is not None, "cool_off_minutes": cool_off_minutes},
    )


def logout(*, user):
    return _record(EventType.LOGOUT, actor=user, obj=user)


def access_refused(*, actor, action: str, method: str, path: str, status: int):
    """A refused attempt at a committee action or an introspection call (403/404, or 401 for
    a client without valid credentials). Written through `audit.refusals`, which bounds it."""
    return _record(
        EventType.ACCESS_REFUSED,
        actor=actor,
        payload={"action": action, "method": method, "path": path[:200], "status": status},
    )


def permission_granted(*, actor, group, permission: str, obj):
    target_type, target_id = _target(obj)
    return _record(
        EventType.PERMISSION_GRANTED,
        actor=actor,
        obj=group,
        payload={"permission": permission, "object_type": target_type, "object_id": target_id},
    )


def permission_revoked(*, actor, group, permission: str, obj):
    target_type, target_id = _target(obj)
    return _record(
        EventType.PERMISSION_REVOKED,
        actor=actor,
        obj=group,
        payload={"permission": permission, "object_type": target_type, "object_id": target_id},
    )


def admin_action(*, actor, action: str, obj=None, detail: dict[str, Any] | None = None):
    return _record(
        EventType.ADMIN_ACTION, actor=actor, obj=obj, payload={"action": action, **(detail or {})}
    )


# --- governance -----------------------------------------------------------------------------
def organisation_created(*, organisation, actor):
    return _record(EventType.ORGANISATION_CREATED, actor=actor, obj=organisation)


def organisation_changed(*, organisation, actor, changes: dict):
    return _changed(EventType.ORGANISATION_CHANGED, obj=organisation, actor=actor, changes=changes)


def steward_added(*, organisation, user, actor):
    return _record(
        EventType.STEWARD_ADDED,
        actor=actor,
        obj=organisation,
        payload={"steward": pseudonym_for(user)},
    )


def steward_removed(*, organisation, user, actor):
    return _record(
        EventType.STEWARD_REMOVED,
        actor=actor,
        obj=organisation,
        payload={"steward": pseudonym_for(user)},
    )


def dataset_created(*, dataset, actor, fields: dict):
    return _created(EventType.DATASET_CREATED, obj=dataset, actor=actor, fields=fields)


def dataset_changed(*, dataset, actor, changes: dict):
    return _changed(EventType.DATASET_CHANGED, obj=dataset, actor=actor, changes=changes)


def dataset_published(*, dataset, actor):
    return _record(EventType.DATASET_PUBLISHED, actor=actor, obj=dataset)


def dataset_retired(*, dataset, actor, reason: str):
    return _record(EventType.DATASET_RETIRED, actor=actor, obj=dataset, payload={"reason": reason})


def consent_scope_created(*, scope, actor, fields: dict):
    return _created(EventType.CONSENT_SCOPE_CREATED, obj=scope, actor=actor, fields=fields)


def consent_scope_changed(*, scope, actor, changes: dict):
    return _changed(EventType.CONSENT_SCOPE_CHANGED, obj=scope, actor=actor, changes=changes)


def legal_basis_created(*, legal_basis, actor, fields: dict):
    return _created(EventType.LEGAL_BASIS_CREATED, obj=legal_basis, actor=actor, fields=fields)


def legal_basis_changed(*, legal_basis, actor, changes: dict):
    return _changed(EventType.LEGAL_BASIS_CHANGED, obj=legal_basis, actor=actor, changes=changes)


def committee_created(*, committee, actor, fields: dict):
    return _created(EventType.COMMITTEE_CREATED, obj=committee, actor=actor, fields=fields)


def committee_changed(*, committee, actor, changes: dict):
    return _changed(EventType.COMMITTEE_CHANGED, obj=committee, actor=actor, changes=changes)


def membership_added(*, membership, actor):
    return _record(
        EventType.MEMBERSHIP_ADDED,
        actor=actor,
        obj=membership.committee,
        payload={"member": pseudonym_for(membership.user), "role": membership.role},
    )


def membership_changed(*, membership, actor, old_role: str):
    return _record(
        EventType.MEMBERSHIP_CHANGED,
        actor=actor,
        obj=membership.committee,
        payload={
            "member": pseudonym_for(membership.user),
            "role": membership.role,
            "old_role": old_role,
        },
    )


def membership_removed(*, committee, user, actor, role: str):
    return _record(
        EventType.MEMBERSHIP_REMOVED,
        actor=actor,
        obj=committee,
        payload={"member": pseudonym_for(user), "role": role},
    )


def agreement_created(*, agreement, actor):
    return _record(
        EventType.AGREEMENT_CREATED,
        actor=actor,
        obj=agreement,
        payload={"version": agreement.version},
    )


def agreement_changed(*, agreement, actor, changes: dict):
    return _changed(EventType.AGREEMENT_CHANGED, obj=agreement, actor=actor, changes=changes)


def agreement_published(*, agreement, actor, text_sha256: str):
    return _record(
        EventType.AGREEMENT_PUBLISHED,
        actor=actor,
        obj=agreement,
        payload={
            "committee": agreement.committee.slug,
            "dataset": agreement.dataset.accession if agreement.dataset_id else None,
            "version": agreement.version,
            "text_sha256": text_sha256,
        },
    )


def ontology_loaded(*, actor, counts: dict):
    return _record(EventType.ONTOLOGY_LOADED, actor=actor, payload={"counts": counts})


# --- access requests --------------------------------------------------------------------------
# Payloads name requests, reviews, datasets and grants by id and people by pseudonym; free text
# (summaries, comments, rationales) stays in the access tables and is referenced, not copied,
# so that the ledger never holds personal data an applicant might write into a text box.
def _people(users) -> list[str]:
    return [pseudonym_for(u) for u in users]


def request_created(*, access_request, actor):
    return _record(EventType.REQUEST_CREATED, actor=actor, obj=access_request)


def request_changed(*, access_request, actor, fields: list[str]):
    return _record(
        EventType.REQUEST_CHANGED,
        actor=actor,
        obj=access_request,
        payload={"fields": sorted(fields)},
    )


def request_submitted(*, access_request, actor, reviews):
    return _record(
        EventType.REQUEST_SUBMITTED,
        actor=actor,
        obj=access_request,
        payload={
            "datasets": sorted(d.accession for d in access_request.datasets.all()),
            "reviews": {r.committee.slug: r.pk for r in reviews},
        },
    )


def request_withdrawn(*, access_request, actor, grants_ended: list[int] | None = None):
    return _record(
        EventType.REQUEST_WITHDRAWN,
        actor=actor,
        obj=access_request,
        payload={"grants_ended": sorted(grants_ended or [])},
    )


def request_resubmitted(*, access_request, review, actor):
    return _record(
        EventType.REQUEST_RESUBMITTED,
        actor=actor,
        obj=access_request,
        payload={"review": review.pk, "committee": review.committee.slug, "round": review.round},
    )


def request_closed(*, access_request, actor):
    return _record(EventType.REQUEST_CLOSED, actor=actor, obj=access_request)


def request_expired(*, access_request):
    return _record(EventType.REQUEST_EXPIRED, actor=None, obj=access_request)


def request_copied(
    *, access_request, source, actor, datasets_skipped: list[str], not_copied: list[str]
):
    """`access_request` is a new draft pre-filled from `source`: the accessions left out (no
    longer in the catalogue) and the answers not carried over (field names)."""
    return _record(
        EventType.REQUEST_COPIED,
        actor=actor,
        obj=access_request,
        payload={
            "source": source.pk,
            "datasets_skipped": sorted(datasets_skipped),
            "not_copied": sorted(not_copied),
        },
    )


def closeout_filed(*, closeout, actor):
    # The results and the agreement are free text: kept in the close-out, not copied here.
    return _record(
        EventType.CLOSEOUT_FILED,
        actor=actor,
        obj=closeout.request,
        payload={"closeout": closeout.pk, "data_disposition": closeout.data_disposition},
    )


def attachment_viewed(*, access_request, actor):
    return _record(EventType.ATTACHMENT_VIEWED, actor=actor, obj=access_request)


def agreement_accepted(*, acceptance, actor, carried_from=None):
    """`carried_from`: the request whose acceptance a renewal carries over (the person's own
    acceptance of the same version, recorded there)."""
    payload = {"agreement": acceptance.agreement_id, "version": acceptance.agreement.version}
    if carried_from is not None:
        payload["carried_from"] = carried_from.pk
    return _record(
        EventType.AGREEMENT_ACCEPTED, actor=actor, obj=acceptance.request, payload=payload
    )


def consent_matched(*, access_request, dataset, decision: str, engine_version: str):
    return _record(
        EventType.CONSENT_MATCHED,
        actor=None,
        obj=access_request,
        payload={"dataset": dataset.accession, "decision": decision, "engine": engine_version},
    )


def consent_reevaluated(*, review, actor, engine_version: str, datasets: list[dict[str, Any]]):
    """A committee member had the review's stored consent matches judged again by the current
    engine. `datasets`: one {"dataset", "engine_before", "before", "after"} per accession (the
    stored engine version and decision before, the decision now); no person in it."""
    return _record(
        EventType.CONSENT_REEVALUATED,
        actor=actor,
        obj=review,
        payload={
            "request": review.request_id,
            "committee": review.committee.slug,
            "engine": engine_version,
            "datasets": datasets,
        },
    )


def review_started(*, review, actor):
    return _record(
        EventType.REVIEW_STARTED, actor=actor, obj=review, payload={"request": review.request_id}
    )


def review_closed(*, review, actor, from_status: str, reason: str):
    return _record(
        EventType.REVIEW_CLOSED,
        actor=actor,
        obj=review,
        payload={"request": review.request_id, "from": from_status, "reason": reason},
    )


def comment_added(*, comment, actor):
    return _record(
        EventType.COMMENT_ADDED,
        actor=actor,
        obj=comment.request,
        payload={
            "comment": comment.pk,
            "visibility": comment.visibility,
            "committee": comment.committee.slug if comment.committee_id else None,
        },
    )


def vote_cast(*, vote, actor):
    return _record(
        EventType.VOTE_CAST,
        actor=actor,
        obj=vote.review,
        payload={"request": vote.review.request_id, "round": vote.round, "choice": vote.choice},
    )


def recusal_declared(*, recusal, actor):
    return _record(
        EventType.RECUSAL_DECLARED,
        actor=actor,
        obj=recusal.review,
        payload={
            "request": recusal.review.request_id,
            "recusal": recusal.pk,
            "member": _people([recusal.member])[0],
        },
    )


def deputy_appointed(*, deputy, actor):
    return _record(
        EventType.DEPUTY_APPOINTED,
        actor=actor,
        obj=deputy.review,
        payload={
            "request": deputy.review.request_id,
            "appointment": deputy.pk,
            "deputy": _people([deputy.user])[0],
        },
    )


def decision_recorded(*, decision, actor, automatic: bool = False):
    return _record(
        EventType.DECISION_RECORDED,
        actor=actor,
        obj=decision.review,
        payload={
            "request": decision.review.request_id,
            "decision": decision.pk,
            "outcome": decision.outcome,
            "round": decision.round,
            "end_date": decision.end_date.isoformat() if decision.end_date else None,
            "datasets": sorted(d.accession for d in decision.approved_datasets.all()),
            "automatic": automatic,
        },
    )


def grant_created(*, grant, actor):
    return _record(
        EventType.GRANT_CREATED,
        actor=actor,
        obj=grant,
        payload={
            "grantee": _people([grant.user])[0],
            "dataset": grant.dataset.accession,
            "decision": grant.decision_id,
            "valid_from": grant.valid_from.isoformat(),
            "valid_until": grant.valid_until.isoformat(),
        },
    )


def grant_revoked(*, grant, actor):
    return _record(
        EventType.GRANT_REVOKED,
        actor=actor,
        obj=grant,
        payload={"grantee": _people([grant.user])[0], "dataset": grant.dataset.accession},
    )


def person_barred(*, bar, actor):
    return _record(
        EventType.PERSON_BARRED,
        actor=actor,
        obj=bar,
        payload={
            "person": _people([bar.user])[0],
            "committee": bar.committee.slug,
            "until": bar.until.isoformat(),
            "grant": bar.grant_id,
        },
    )


def expert_invited(*, expert, actor):
    # The address is personal data: the ledger keeps its salted fingerprint, not the address.
    return _record(
        EventType.EXPERT_INVITED,
        actor=actor,
        obj=expert.review,
        payload={"expert": expert.pk, "address": personal.fingerprint(expert.email)},
    )


def expert_joined(*, expert, actor):
    return _record(
        EventType.EXPERT_JOINED,
        actor=actor,
        obj=expert.review,
        payload={"expert": expert.pk, "person": _people([actor])[0]},
    )


def expert_ended(*, expert, actor):
    return _record(
        EventType.EXPERT_ENDED, actor=actor, obj=expert.review, payload={"expert": expert.pk}
    )


def grant_expired(*, grant):
    return _record(
        EventType.GRANT_EXPIRED,
        actor=None,
        obj=grant,
        payload={"grantee": _people([grant.user])[0], "dataset": grant.dataset.accession},
    )


def grant_extended(*, grant, actor, decision, old_until, bound: str):
    return _record(
        EventType.GRANT_EXTENDED,
        actor=actor,
        obj=grant,
        payload={
            "grantee": _people([grant.user])[0],
            "dataset": grant.dataset.accession,
            "renewal": decision.review.request_id,
            "decision": decision.pk,
            "old_valid_until": old_until.isoformat(),
            "valid_until": grant.valid_until.isoformat(),
            "bound": bound,
        },
    )


def renewal_requested(*, renewal, actor):
    return _record(
        EventType.RENEWAL_REQUESTED,
        actor=actor,
        obj=renewal,
        payload={
            "parent": renewal.parent_id,
            "months": renewal.renewal_months,
            "datasets": sorted(d.accession for d in renewal.datasets.all()),
        },
    )


def amendment_opened(*, amendment, actor):
    return _record(
        EventType.AMENDMENT_OPENED,
        actor=actor,
        obj=amendment,
        payload={"parent": amendment.parent_id},
    )


def amendment_applied(
    *,
    amendment,
    actor,
    datasets_added,
    datasets_removed,
    members_added,
    members_removed,
    answers_changed,
    grants_created,
    grants_revoked,
):
    """An amendment's changes made to its project (the parent request, the event's target):
    datasets by accession, people by pseudonym, answers by field name, grants by id."""
    return _record(
        EventType.AMENDMENT_APPLIED,
        actor=actor,
        obj=amendment.parent,
        payload={
            "amendment": amendment.pk,
            "datasets_added": sorted(datasets_added),
            "datasets_removed": sorted(datasets_removed),
            "members_added": sorted(pseudonym_for(u) for u in members_added),
            "members_removed": sorted(pseudonym_for(u) for u in members_removed),
            "answers_changed": sorted(answers_changed),
            "grants_created": sorted(grants_created),
            "grants_revoked": sorted(grants_revoked),
        },
    )


def notification_queued(*, notification):
    # A notification to an address alone (a team invitation) names it by its keyed fingerprint.
    recipient = (
        _people([notification.recipient])[0]
        if notification.recipient_id
        else personal.fingerprint(notification.address)
    )
    return _record(
        EventType.NOTIFICATION_QUEUED,
        actor=None,
        obj=notification,
        payload={"recipient": recipient, "kind": notification.kind},
    )


def notification_preference_changed(*, user, digest: bool):
    """A person chose immediate e-mail or the daily digest (for themselves)."""
    return _record(
        EventType.NOTIFICATION_PREFERENCE_CHANGED,
        actor=user,
        obj=user,
        payload={"digest": bool(digest)},
    )


# Team invitations (access.services.team). The target is the request; the invitation is named
# by id, its address by keyed fingerprint (audit.personal), the person who joined by pseudonym.
# The token is never written.
def invitation_sent(*, invitation, actor):
    return _record(
        EventType.INVITATION_SENT,
        actor=actor,
        obj=invitation.request,
        payload={
            "invitation": invitation.pk,
            "address": personal.fingerprint(invitation.email),
            "expires_at": invitation.expires_at.isoformat(),
        },
    )


def invitation_withdrawn(*, invitation, actor):
    return _record(
        EventType.INVITATION_WITHDRAWN,
        actor=actor,
        obj=invitation.request,
        payload={"invitation": invitation.pk},
    )


def invitation_accepted(*, invitation, actor):
    return _record(
        EventType.INVITATION_ACCEPTED,
        actor=actor,
        obj=invitation.request,
        payload={"invitation": invitation.pk, "member": _people([invitation.accepted_by])[0]},
    )


def invitation_declined(*, invitation, actor):
    return _record(
        EventType.INVITATION_DECLINED,
        actor=actor,
        obj=invitation.request,
        payload={"invitation": invitation.pk},
    )


def invitation_expired(*, invitation):
    return _record(
        EventType.INVITATION_EXPIRED,
        actor=None,
        obj=invitation.request,
        payload={"invitation": invitation.pk},
    )


def _departure(member, *, reason: str, grants_ended: list[int] | None) -> dict:
    # The reason is the applicant's or the member's own words, shown in the request's history
    # (as a closed review's is); the grants it ended by id.
    payload: dict[str, Any] = {"member": _people([member])[0]}
    if reason:
        payload["reason"] = reason
    if grants_ended:
        payload["grants_ended"] = sorted(grants_ended)
    return payload


def team_member_removed(
    *, access_request, user, actor, reason: str = "", grants_ended: list[int] | None = None
):
    return _record(
        EventType.TEAM_MEMBER_REMOVED,
        actor=actor,
        obj=access_request,
        payload=_departure(user, reason=reason, grants_ended=grants_ended),
    )


def team_member_left(
    *, access_request, user, reason: str = "", grants_ended: list[int] | None = None
):
    return _record(
        EventType.TEAM_MEMBER_LEFT,
        actor=user,
        obj=access_request,
        payload=_departure(user, reason=reason, grants_ended=grants_ended),
    )


# --- researcher status (GA4GH passports, accounts/passports.py) -------------------------------
# A visa is named by its SHA-256 (and its jti when it has one), never copied. The issuer of an
# ignored visa is what the visa claims, cut to 200 characters.
def researcher_status_recorded(*, status, actor):
    return _record(
        EventType.RESEARCHER_STATUS_RECORDED,
        actor=actor,
        obj=status,
        payload={
            "user": _people([status.user])[0],
            "issuer": status.issuer,
            "source": status.source,
            "by": status.by,
            "asserted": status.asserted.isoformat(),
            "exp": status.expires_at.isoformat(),
            "jti": status.jti,
            "visa_sha256": status.visa_sha256,
        },
    )


def researcher_visa_ignored(*, user, reason: str, issuer: str, visa_sha256: str):
    return _record(
        EventType.RESEARCHER_VISA_IGNORED,
        actor=user,
        obj=user,
        payload={
            "user": _people([user])[0],
            "reason": reason,
            "issuer": issuer[:200],
            "visa_sha256": visa_sha256,
        },
    )


# --- audit ------------------------------------------------------------------------------------
def field_change(*, log_entry, actor, model_label: str, action: str, changes: dict):
    """A django-auditlog entry, mirrored into the ledger (see audit/capture.py)."""
    return append(
        event_type=EventType.FIELD_CHANGE,
        actor=actor,
        target_type=model_label,
        target_id=str(log_entry.object_pk),
        payload={"log_entry": log_entry.pk, "action": action, "changes": changes},
    )


def events_suppressed(
    *, kind: str, key: str, window_start, window_seconds: int, seen: int, suppressed: int
):
    """A closed window of a bounded event (audit/bounded.py): how many were not written."""
    return _record(
        EventType.EVENTS_SUPPRESSED,
        actor=None,
        payload={
            "kind": kind,
            "key": key,
            "window_start": window_start.isoformat(),
            "window_seconds": window_seconds,
            "seen": seen,
            "suppressed": suppressed,
        },
    )


def ledger_exported(*, actor, events: int, checkpoints: int, sha256: str):
    return _record(
        EventType.LEDGER_EXPORTED,
        actor=actor,
        payload={"events": events, "checkpoints": checkpoints, "sha256": sha256},
    )


# --- tokens for the storage tier --------------------------------------------------------------
# Tokens are named by their jti (never the token itself); an introspected token that could not
# be read is named by its SHA-256. People appear by pseudonym, as everywhere in the ledger.
def token_issued(
    *, grant, actor, jti: str, kid: str, expires_at, dataset: str, holder: str, change=None
):
    """`dataset` (accession) and `holder` (pseudonym) come from the caller, which has them
    already: the hot path adds no query here. `change` is the token's own INSERT, written in
    the same statement (see `audit.ledger.append`)."""
    return _record(
        EventType.TOKEN_ISSUED,
        actor=actor,
        obj=grant,
        change=change,
        payload={
            "jti": jti,
            "kid": kid,
            "dataset": dataset,
            "holder": holder,
            "exp": expires_at.isoformat(),
        },
    )


def visa_issued(*, grant, actor, jti: str, kid: str, expires_at, dataset: str, holder: str):
    return _record(
        EventType.VISA_ISSUED,
        actor=actor,
        obj=grant,
        payload={
            "jti": jti,
            "kid": kid,
            "dataset": dataset,
            "holder": holder,
            "exp": expires_at.isoformat(),
        },
    )


def token_introspected(
    *,
    client,
    active: bool,
    reason: str,
    jti: str | None = None,
    token_sha256: str | None = None,
    grant_id: int | None = None,
    dataset: str | None = None,
    sub: str | None = None,
):
    """`reason` is why the answer was inactive ("" when active): for auditors only, the
    caller's answer carries no hint."""
    payload: dict[str, Any] = {"active": active, "reason": reason}
    if jti is not None:
        payload["jti"] = jti
    if token_sha256 is not None:
        payload["token_sha256"] = token_sha256
    if grant_id is not None:
        payload.update({"grant": grant_id, "dataset": dataset, "sub": sub})
    return append(
        event_type=EventType.TOKEN_INTROSPECTED,
        actor=client,
        target_type="access.issuedtoken" if jti else "",
        target_id=jti or "",
        payload=payload,
    )


def tokens_revoked(*, grant, actor, cause: str, jtis: list[str], dataset: str):
    return _record(
        EventType.TOKEN_REVOKED,
        actor=actor,
        obj=grant,
        payload={"cause": cause, "dataset": dataset, "jtis": sorted(jtis)},
    )


def keys_rotated(*, actor, activated: str | None, retired: str | None, published: str | None,
                 dropped: list[str]):  # fmt: skip
    return _record(
        EventType.KEY_ROTATED,
        actor=actor,
        payload={
            "activated": activated,
            "retired": retired,
            "published": published,
            "dropped": sorted(dropped),
        },
    )


def key_compromised(
    *, actor, kid: str, reason: str, activated: str | None, published: str | None,
    tokens_revoked: int,
):  # fmt: skip
    return _record(
        EventType.KEY_COMPROMISED,
        actor=actor,
        payload={
            "kid": kid,
            "reason": reason,
            "activated": activated,
            "published": published,
            "tokens_revoked": tokens_revoked,
        },
    )


def keys_reencrypted(*, actor, kids: list[str], kek_id: str):
    """`kek_id` names the key-encryption key (a hash prefix), never reveals it."""
    return _record(
        EventType.KEYS_REENCRYPTED, actor=actor, payload={"kids": sorted(kids), "kek_id": kek_id}
    )


def user_reinstated(*, suspension, actor):
    """The reason stays with the suspension row, like the suspension's own."""
    return _record(
        EventType.USER_REINSTATED,
        actor=actor,
        obj=suspension,
        payload={"user": _people([suspension.user])[0]},
    )


def user_suspended(*, suspension, actor, grants: int, tokens: int):
    return _record(
        EventType.USER_SUSPENDED,
        actor=actor,
        obj=suspension,
        payload={
            "user": _people([suspension.user])[0],
            "grants": grants,
            "tokens_revoked": tokens,
        },
    )


def client_scopes_changed(*, application, actor, scopes: list[str], previous: list[str]):
    return _record(
        EventType.CLIENT_SCOPES_CHANGED,
        actor=actor,
        obj=application,
        payload={"scopes": sorted(scopes), "previous": sorted(previous)},
    )


def client_registered(*, application, actor, scopes: list[str]):
    # The application's name is chosen by an administrator and may name a person: not recorded.
    return _record(
        EventType.CLIENT_REGISTERED,
        actor=actor,
        obj=application,
        payload={
            "client": client_actor_id(application.pk),
            "grant_type": application.authorization_grant_type,
            "client_type": application.client_type,
            "scopes": sorted(scopes),
        },
    )


# --- identities at OpenID providers (accounts.services) ----------------------------------------
# The issuer is the provider's public URL; the subject (the person's id there, an LS ID) and the
# claims (name, e-mail, affiliation) are personal data and never written: the identity is named
# by its row id, the person by their pseudonym.
def account_created(*, identity):
    """A first sign-in with a provider created the account (just in time)."""
    return _record(
        EventType.ACCOUNT_CREATED,
        actor=identity.user,
        obj=identity.user,
        payload={"issuer": identity.issuer, "identity": identity.pk},
    )


def identity_signed_in(*, identity, email_changed: bool):
    return _record(
        EventType.IDENTITY_SIGNED_IN,
        actor=identity.user,
        obj=identity.user,
        payload={
            "issuer": identity.issuer,
            "identity": identity.pk,
            "email_changed": email_changed,
        },
    )


def identity_linked(*, identity, actor):
    return _record(
        EventType.IDENTITY_LINKED,
        actor=actor,
        obj=identity.user,
        payload={"issuer": identity.issuer, "identity": identity.pk},
    )


def identity_sign_in_failed(*, issuer: str, reason: str, user=None):
    """Written through `audit.bounded.sign_in_failure_record` (anyone can fail a sign-in). A
    known account (suspended, or its identity linked elsewhere) is named by its pseudonym."""
    return _record(
        EventType.IDENTITY_SIGN_IN_FAILED,
        actor=None,
        obj=user,
        payload={"issuer": issuer, "reason": reason, "known_account": user is not None},
    )


# --- a person's own account (accounts.profile, accounts.passwords, accounts.mfa) ---------------
# Names, addresses and ORCID iDs are personal data: an event says which fields changed, never
# their values; the person is named by their pseudonym, a device by its row id.
def profile_changed(*, user, fields: list[str]):
    return _record(
        EventType.PROFILE_CHANGED, actor=user, obj=user, payload={"fields": sorted(fields)}
    )


def password_reset_requested(*, users: list):
    """Someone asked for a reset link (written through `audit.bounded`: anyone can ask). The
    address typed is never written; the accounts that were sent a link are named by pseudonym
    (none: the address matched no account with a password, which the page does not reveal)."""
    return _record(
        EventType.PASSWORD_RESET_REQUESTED,
        actor=ANONYMOUS,  # whoever typed the address is not signed in
        payload={"accounts": sorted(pseudonym_for(u) for u in users)},
    )


def password_reset_completed(*, user):
    return _record(EventType.PASSWORD_RESET_COMPLETED, actor=user, obj=user)


def mfa_enrolled(*, device):
    return _record(
        EventType.MFA_ENROLLED, actor=device.user, obj=device.user, payload={"device": device.pk}
    )


def mfa_verified(*, device):
    return _record(
        EventType.MFA_VERIFIED, actor=device.user, obj=device.user, payload={"device": device.pk}
    )


def mfa_failed(*, user, step: str, throttled: bool):
    """A wrong or replayed code (`step`: `enrol` or `verify`); `throttled` when django-otp's
    back-off refused to check it. Written through `audit.bounded` (a script can guess codes)."""
    return _record(
        EventType.MFA_FAILED,
        actor=user,
        obj=user,
        payload={"step": step, "throttled": throttled},
    )


def mfa_reset(*, user, actor, devices: int):
    """An administrator removed the person's devices (`manage.py mfa_reset`; actor None: the
    system); they enrol a new one at their next password sign-in."""
    return _record(EventType.MFA_RESET, actor=actor, obj=user, payload={"devices": devices})


# --- webhooks ---------------------------------------------------------------------------------
# The endpoint's address without its secrets (a token in its query string) and its events;
# never the signing secret (only whether it changed).
def webhook_subscribed(*, subscription, actor):
    return _record(
        EventType.WEBHOOK_SUBSCRIBED,
        actor=actor,
        obj=subscription,
        payload={
            "url": url_without_secrets(subscription.url),
            "events": sorted(subscription.events),
        },
    )


def webhook_subscription_changed(*, subscription, actor, changes: dict, secret_changed: bool):
    if "url" in changes:
        changes = {**changes, "url": [url_without_secrets(u) for u in changes["url"]]}
    return _record(
        EventType.WEBHOOK_SUBSCRIPTION_CHANGED,
        actor=actor,
        obj=subscription,
        payload={"changes": changes, "secret_changed": secret_changed},
    )


def webhook_retried(*, subscription, actor, webhook_ids: list[str]):
    return _record(
        EventType.WEBHOOK_RETRIED,
        actor=actor,
        obj=subscription,
        payload={"webhook_ids": sorted(webhook_ids)},
    )
