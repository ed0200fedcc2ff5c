"""Every write to the governance catalogue. Each service validates, writes, keeps object
permissions in step, and appends its ledger event in the same transaction.

Rule: services never use `QuerySet.update()` / `bulk_update()` on audited models: those bypass
django-auditlog's field-level capture and our own events. Save instances one by one.

Who may: every service that writes checks its `actor` first, by the rules the admin applies
(below, `_may_*`), and refuses anyone else with `core.exceptions.Forbidden`. `actor=None` is the
system, trusted by its caller: a management command (seed_demo, load_ontologies), a job, a data
migration; a person's request always passes the person. The `*_validate` functions write
nothing and check no one.

Why one module of about 600 lines: five small entities (organisations and committees, consent
scopes, legal bases, agreements, datasets), each a section below, sharing the `_may_*` rules and
the `_save_new` / `_save_changes` helpers; split by section into a package when it grows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from audit import events, ledger
from core.exceptions import Forbidden, Invalid

from . import rules
from .choices import AgreementStatus, CommitteeRole, DatasetStatus
from .models import (
    AccessAgreement,
    CommitteeMembership,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    OntologyTerm,
    Organisation,
)
from .signals import dataset_retiring

# What each group may do with a dataset (django-guardian object permissions, granted to groups
# so that adding a person to a committee or an organisation needs no per-object rows).
COMMITTEE_DATASET_PERMS = ("governance.view_dataset",)
STEWARD_DATASET_PERMS = (
    "governance.view_dataset",
    "governance.change_dataset",
    "governance.publish_dataset",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "_meta"):
        return str(getattr(value, "accession", None) or value.pk)
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def _field_values(instance, fields: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name in fields:
        field = instance._meta.get_field(name)
        out[name] = _jsonable(getattr(instance, field.attname))
    return out


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _editable_fields(model) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.editable
        and not f.primary_key
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    ]


def _full_clean(instance, *, exclude: Iterable[str] = ()) -> None:
    instance.full_clean(exclude=list(exclude), validate_unique=True)


def _save_new(instance, *, record: Callable[[dict], Any], validate=None) -> None:
    """Validate and save a new object, then `record(fields)` its editable fields' values."""
    _full_clean(instance)
    if validate is not None:
        validate(instance)
    instance.save()
    record(_field_values(instance, _editable_fields(type(instance))))


def _save_changes(instance, *, record: Callable[[dict], Any], validate=None) -> None:
    """Lock the stored row, validate and save `instance`, then `record(changes)` the editable
    fields' diff if anything changed."""
    model = type(instance)
    fields = _editable_fields(model)
    before = _field_values(model.objects.select_for_update().get(pk=instance.pk), fields)
    _full_clean(instance)
    if validate is not None:
        validate(instance)
    instance.save()
    changes = _diff(before, _field_values(instance, fields))
    if changes:
        record(changes)


def _raise(problems: dict[str, str]) -> None:
    if problems:
        raise Invalid(problems)


# --- who may ----------------------------------------------------------------------------------
# The admin's rules, for every caller: reference data (organisations, committees and their seats,
# consent scopes, legal bases) takes the model's Django permission, which superusers hold (an
# organisation's own details its stewards may change too, not who its stewards are); a dataset takes its object permission (django-guardian, granted to its organisation's stewards)
# or, to create one, stewardship of its controller; an agreement takes its committee's chair or
# the model permission.
def _require(actor, allowed, message: str) -> None:
    """Refuse `actor` unless `allowed(actor)`; `actor=None` is the system (module docstring)."""
    if actor is None:
        return
    if not (getattr(actor, "is_active", False) and allowed(actor)):
        raise Forbidden(message)


def _may(permission: str, obj=None):
    return lambda actor: (
        actor.has_perm(permission, obj) if obj is not None else actor.has_perm(permission)
    )


def _stewards(organisation_id) -> Any:
    return lambda actor: Organisation.objects.filter(pk=organisation_id, stewards=actor).exists()


def _chairs(committee_id) -> Any:
    return lambda actor: CommitteeMembership.objects.filter(
        committee_id=committee_id, user=actor, role=CommitteeRole.CHAIR
    ).exists()


def _either(*rules):
    return lambda actor: any(rule(actor) for rule in rules)


SEATS_REFUSED = "You may not change who sits on committees."
AGREEMENTS_REFUSED = "Only the committee's chair may draft, change or publish its agreements."


# --- organisations ----------------------------------------------------------------------------
@transaction.atomic
def organisation_create(*, organisation: Organisation, actor) -> Organisation:
    _require(actor, _may("governance.add_organisation"), "You may not add organisations.")
    organisation.steward_group = Group.objects.create(name=f"stewards:{organisation.name}"[:150])
    _full_clean(organisation)
    organisation.save()
    events.organisation_created(organisation=organisation, actor=actor)
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, actor) -> Organisation:
    _require(
        actor,
        _either(_stewards(organisation.pk), _may("governance.change_organisation")),
        "Only the organisation's stewards may change it.",
    )
    _save_changes(
        organisation,
        record=lambda changes: events.organisation_changed(
            organisation=organisation, actor=actor, changes=changes
        ),
    )
    return organisation


@transaction.atomic
def organisation_steward_add(*, organisation: Organisation, user, actor) -> None:
    _require(actor, _may("governance.change_organisation"), "You may not change stewards.")
    if organisation.stewards.filter(pk=user.pk).exists():
        return
    organisation.stewards.add(user)
    user.groups.add(organisation.steward_group)
    events.steward_added(organisation=organisation, user=user, actor=actor)


@transaction.atomic
def organisation_steward_remove(*, organisation: Organisation, user, actor) -> None:
    _require(actor, _may("governance.change_organisation"), "You may not change stewards.")
    if not organisation.stewards.filter(pk=user.pk).exists():
        return
    organisation.stewards.remove(user)
    user.groups.remove(organisation.steward_group)
    events.steward_removed(organisation=organisation, user=user, actor=actor)


# --- committees -------------------------------------------------------------------------------
@transaction.atomic
def committee_create(*, committee: DataAccessCommittee, actor) -> DataAccessCommittee:
    _require(actor, _may("governance.add_dataaccesscommittee"), "You may not add committees.")
    committee.member_group = Group.objects.create(name=f"dac:{committee.slug}"[:150])
    _save_new(
        committee,
        record=lambda fields: events.committee_created(
            committee=committee, actor=actor, fields=fields
        ),
    )
    return committee


@transaction.atomic
def committee_update(*, committee: DataAccessCommittee, actor) -> DataAccessCommittee:
    _require(actor, _may("governance.change_dataaccesscommittee"), "You may not change committees.")
    _save_changes(
        committee,
        record=lambda changes: events.committee_changed(
            committee=committee, actor=actor, changes=changes
        ),
    )
    return committee


@transaction.atomic
def membership_add(
    *, committee: DataAccessCommittee, user, role: str = CommitteeRole.MEMBER, actor
) -> CommitteeMembership:
    _require(actor, _may("governance.change_dataaccesscommittee"), SEATS_REFUSED)
    membership = CommitteeMembership(committee=committee, user=user, role=role)
    _full_clean(membership)
    membership.save()
    user.groups.add(committee.member_group)
    events.membership_added(membership=membership, actor=actor)
    return membership


@transaction.atomic
def membership_change_role(
    *, membership: CommitteeMembership, role: str, actor
) -> CommitteeMembership:
    _require(actor, _may("governance.change_dataaccesscommittee"), SEATS_REFUSED)
    locked = CommitteeMembership.objects.select_for_update().get(pk=membership.pk)
    old_role = locked.role
    if old_role == role:
        return locked
    locked.role = role
    _full_clean(locked)
    locked.save()
    events.membership_changed(membership=locked, actor=actor, old_role=old_role)
    return locked


@transaction.atomic
def membership_remove(*, membership: CommitteeMembership, actor) -> None:
    _require(actor, _may("governance.change_dataaccesscommittee"), SEATS_REFUSED)
    committee, user, role = membership.committee, membership.user, membership.role
    membership.delete()
    user.groups.remove(committee.member_group)
    events.membership_removed(committee=committee, user=user, actor=actor, role=role)


# --- consent scopes ---------------------------------------------------------------------------
def consent_scope_validate(
    *, scope: ConsentScope, modifiers: Iterable[OntologyTerm], diseases: Iterable[OntologyTerm]
) -> None:
    modifiers, diseases = list(modifiers), list(diseases)
    problems = rules.consent_scope_problems(
        permission=scope.permission.shorthand if scope.permission_id else None,
        modifiers=[m.shorthand for m in modifiers],
        disease_count=len(diseases),
        region=scope.region,
        moratorium_until=scope.moratorium_until,
        time_limit_months=scope.time_limit_months,
        named_users=scope.named_users,
        named_projects=scope.named_projects,
        named_institutions=scope.named_institutions,
    )
    if any(d.ontology != "DOID" for d in diseases):
        problems["diseases"] = "Disease terms must come from the Human Disease Ontology (DOID)."
    if any(m.obsolete for m in [*modifiers]) or (scope.permission_id and scope.permission.obsolete):
        problems["modifiers"] = "Obsolete DUO terms cannot be used in a new or changed scope."
    _raise(problems)


def _scope_snapshot(scope: ConsentScope, modifiers, diseases) -> dict[str, Any]:
    return {
        **_field_values(scope, _editable_fields(ConsentScope)),
        "permission": scope.permission.curie,
        "modifiers": sorted(m.curie for m in modifiers),
        "diseases": sorted(d.curie for d in diseases),
    }


@transaction.atomic
def consent_scope_create(
    *,
    scope: ConsentScope,
    modifiers: Iterable[OntologyTerm] = (),
    diseases: Iterable[OntologyTerm] = (),
    actor,
) -> ConsentScope:
    _require(actor, _may("governance.add_consentscope"), "You may not add consent scopes.")
    modifiers, diseases = list(modifiers), list(diseases)
    scope.region = sorted({str(r).upper() for r in scope.region or []})
    _full_clean(scope)
    consent_scope_validate(scope=scope, modifiers=modifiers, diseases=diseases)
    scope.save()
    scope.modifiers.set(modifiers)
    scope.diseases.set(diseases)
    events.consent_scope_created(
        scope=scope, actor=actor, fields=_scope_snapshot(scope, modifiers, diseases)
    )
    return scope


@transaction.atomic
def consent_scope_update(
    *,
    scope: ConsentScope,
    modifiers: Iterable[OntologyTerm],
    diseases: Iterable[OntologyTerm],
    actor,
) -> ConsentScope:
    _require(actor, _may("governance.change_consentscope"), "You may not change consent scopes.")
    modifiers, diseases = list(modifiers), list(diseases)
    old = ConsentScope.objects.select_for_update().get(pk=scope.pk)
    before = _scope_snapshot(old, old.modifiers.all(), old.diseases.all())
    scope.region = sorted({str(r).upper() for r in scope.region or []})
    _full_clean(scope)
    consent_scope_validate(scope=scope, modifiers=modifiers, diseases=diseases)
    # A new version, so that no cached consent verdict of the old one is used again.
    scope.version = old.version + 1
    scope.save()
    scope.modifiers.set(modifiers)
    scope.diseases.set(diseases)
    changes = _diff(before, _scope_snapshot(scope, modifiers, diseases))
    if changes:
        events.consent_scope_changed(scope=scope, actor=actor, changes=changes)
    return scope


# --- legal bases ------------------------------------------------------------------------------
def legal_basis_validate(legal_basis: LegalBasis) -> None:
    """The GDPR rules, and for an existing basis the rules of the datasets that rely on it (so
    that the admin form can show them before the service would refuse the change)."""
    a6 = legal_basis.article6 if legal_basis.article6_id else None
    a9 = legal_basis.article9 if legal_basis.article9_id else None
    problems = rules.legal_basis_problems(
        article6_point=a6.point if a6 else None,
        article9_point=a9.point if a9 else None,
        article6_needs_law=bool(a6 and a6.needs_law),
        article9_needs_law=bool(a9 and a9.needs_law),
        law_reference=legal_basis.law_reference,
    )
    if legal_basis.pk is not None and a6 is not None:
        dependents = Dataset.objects.filter(legal_basis_id=legal_basis.pk)
        # A published human dataset must keep an Art. 9 condition: refuse a change that drops it.
        if (
            a9 is None
            and dependents.filter(status=DatasetStatus.PUBLISHED, species="human").exists()
        ):
            problems["article9"] = (
                "Published human datasets rely on this legal basis: it must keep an Art. 9(2) "
                "condition."
            )
        if legal_basis.is_consent_based and dependents.filter(consent_scope__isnull=True).exists():
            problems["article6"] = (
                "Datasets without a consent scope rely on this legal basis: a consent-based "
                "ground (Art. 6(1)(a) / Art. 9(2)(a)) would leave them without recorded consent."
            )
    _raise(problems)


@transaction.atomic
def legal_basis_create(*, legal_basis: LegalBasis, actor) -> LegalBasis:
    _require(actor, _may("governance.add_legalbasis"), "You may not add legal bases.")
    _save_new(
        legal_basis,
        validate=legal_basis_validate,
        record=lambda fields: events.legal_basis_created(
            legal_basis=legal_basis, actor=actor, fields=fields
        ),
    )
    return legal_basis


@transaction.atomic
def legal_basis_update(*, legal_basis: LegalBasis, actor) -> LegalBasis:
    _require(actor, _may("governance.change_legalbasis"), "You may not change legal bases.")
    _save_changes(
        legal_basis,
        validate=legal_basis_validate,
        record=lambda changes: events.legal_basis_changed(
            legal_basis=legal_basis, actor=actor, changes=changes
        ),
    )
    return legal_basis


# --- agreements -------------------------------------------------------------------------------
@transaction.atomic
def agreement_create(*, agreement: AccessAgreement, actor) -> AccessAgreement:
    _require(
        actor,
        _either(_chairs(agreement.committee_id), _may("governance.add_accessagreement")),
        AGREEMENTS_REFUSED,
    )
    if agreement.dataset_id and agreement.dataset.committee_id != agreement.committee_id:
        raise Invalid({"dataset": "The dataset is governed by another committee."})
    # Lock the committee row so that two drafts cannot take the same version number.
    DataAccessCommittee.objects.select_for_update().get(pk=agreement.committee_id)
    siblings = AccessAgreement.objects.filter(
        committee_id=agreement.committee_id, dataset_id=agreement.dataset_id
    )
    agreement.version = (siblings.aggregate(v=Max("version"))["v"] or 0) + 1
    agreement.status = AgreementStatus.DRAFT
    _full_clean(agreement)
    agreement.save()
    events.agreement_created(agreement=agreement, actor=actor)
    return agreement


@transaction.atomic
def agreement_update(*, agreement: AccessAgreement, actor) -> AccessAgreement:
    _require(
        actor,
        _either(_chairs(agreement.committee_id), _may("governance.change_accessagreement")),
        AGREEMENTS_REFUSED,
    )
    old = AccessAgreement.objects.select_for_update().get(pk=agreement.pk)
    if old.status != AgreementStatus.DRAFT:
        # Applicants accept an exact text: a published version never changes. Draft a new one.
        raise Invalid("A published agreement version is immutable; create a new version instead.")
    fields = ["title", "text"]
    before = _field_values(old, fields)
    _full_clean(agreement)
    agreement.save(update_fields=fields)
    changes = _diff(before, _field_values(agreement, fields))
    if changes:
        events.agreement_changed(
            agreement=agreement, actor=actor, changes={k: "changed" for k in changes}
        )
    return agreement


@transaction.atomic
def agreement_publish(*, agreement: AccessAgreement, actor) -> AccessAgreement:
    _require(
        actor,
        _either(_chairs(agreement.committee_id), _may("governance.change_accessagreement")),
        AGREEMENTS_REFUSED,
    )
    # order_by("pk"): the default ordering joins the nullable dataset, which FOR UPDATE refuses.
    agreement = AccessAgreement.objects.select_for_update().order_by("pk").get(pk=agreement.pk)
    if agreement.status != AgreementStatus.DRAFT:
        raise Invalid("Only a draft agreement can be published.")
    current = (
        AccessAgreement.objects.select_for_update()
        .order_by("pk")
        .filter(
            committee_id=agreement.committee_id,
            dataset_id=agreement.dataset_id,
            status=AgreementStatus.PUBLISHED,
        )
    )
    for previous in current:
        previous.status = AgreementStatus.SUPERSEDED
        previous.save(update_fields=["status"])
    agreement.status = AgreementStatus.PUBLISHED
    agreement.published_at = timezone.now()
    agreement.save(update_fields=["status", "published_at"])
    events.agreement_published(
        agreement=agreement,
        actor=actor,
        text_sha256=hashlib.sha256(agreement.text.encode()).hexdigest(),
    )
    return agreement


# --- datasets ---------------------------------------------------------------------------------
def dataset_validate(dataset: Dataset, *, publishing: bool) -> None:
    lb = dataset.legal_basis if dataset.legal_basis_id else None
    _raise(
        rules.dataset_problems(
            species=dataset.species,
            publishing=publishing,
            has_consent_scope=dataset.consent_scope_id is not None,
            legal_basis_has_art9=(lb.article9_id is not None) if lb else None,
            legal_basis_consent_based=bool(lb and lb.is_consent_based),
        )
    )


def _grant_dataset_perms(
    dataset: Dataset, *, actor, committee: bool = True, controller: bool = True
) -> None:
    grants = []
    if committee:
        grants += [(dataset.committee.member_group, p) for p in COMMITTEE_DATASET_PERMS]
    if controller:
        grants += [(dataset.controller.steward_group, p) for p in STEWARD_DATASET_PERMS]
    with ledger.buffered():  # one event per permission, one INSERT for them all
        for group, perm in grants:
            assign_perm(perm, group, dataset)
            events.permission_granted(actor=actor, group=group, permission=perm, obj=dataset)


def _revoke_dataset_perms(dataset: Dataset, *, committee, controller, actor) -> None:
    revokes = []
    if committee is not None:
        revokes += [(committee.member_group, p) for p in COMMITTEE_DATASET_PERMS]
    if controller is not None:
        revokes += [(controller.steward_group, p) for p in STEWARD_DATASET_PERMS]
    with ledger.buffered():  # one event per permission, one INSERT for them all
        for group, perm in revokes:
            remove_perm(perm, group, dataset)
            events.permission_revoked(actor=actor, group=group, permission=perm, obj=dataset)


DATASET_FIELDS = _editable_fields(Dataset)


@transaction.atomic
def dataset_create(*, dataset: Dataset, actor) -> Dataset:
    _require(
        actor,
        _either(_stewards(dataset.controller_id), _may("governance.add_dataset")),
        "Only the stewards of the dataset's organisation may add it.",
    )
    dataset.status = DatasetStatus.DRAFT
    _full_clean(dataset, exclude=["accession"])
    dataset_validate(dataset, publishing=False)
    dataset.save()
    # The accession follows the primary key: stable, unique, never reused.
    dataset.accession = f"TSR-DS-{dataset.pk:06d}"
    dataset.save(update_fields=["accession"])
    _grant_dataset_perms(dataset, actor=actor)
    events.dataset_created(
        dataset=dataset, actor=actor, fields=_field_values(dataset, DATASET_FIELDS)
    )
    return dataset


@transaction.atomic
def dataset_update(*, dataset: Dataset, actor) -> Dataset:
    old = Dataset.objects.select_for_update().get(pk=dataset.pk)
    _require(actor, _may("governance.change_dataset", old), f"You may not change {old.accession}.")
    if old.controller_id != dataset.controller_id:
        _require(
            actor,
            _either(_stewards(dataset.controller_id), _may("governance.add_dataset")),
            "Only a steward of the new controller may move a dataset to it.",
        )
    before = _field_values(old, DATASET_FIELDS)
    # The accession is stable and the status moves only through publish / retire, whatever the
    # caller put on the instance.
    for name in ("accession", "status", "published_at", "retired_at", "created_at"):
        setattr(dataset, name, getattr(old, name))
    _full_clean(dataset)
    dataset_validate(dataset, publishing=dataset.status == DatasetStatus.PUBLISHED)
    dataset.save()
    committee_moved = old.committee_id != dataset.committee_id
    controller_moved = old.controller_id != dataset.controller_id
    if committee_moved or controller_moved:
        # Only the side that moved: re-granting the other would write grants nobody made.
        _revoke_dataset_perms(
            dataset,
            committee=old.committee if committee_moved else None,
            controller=old.controller if controller_moved else None,
            actor=actor,
        )
        _grant_dataset_perms(
            dataset, actor=actor, committee=committee_moved, controller=controller_moved
        )
    changes = _diff(before, _field_values(dataset, DATASET_FIELDS))
    if changes:
        events.dataset_changed(dataset=dataset, actor=actor, changes=changes)
    return dataset


@transaction.atomic
def dataset_publish(*, dataset: Dataset, actor) -> Dataset:
    _require(
        actor,
        _may("governance.publish_dataset", dataset),
        f"You may not publish {dataset.accession}.",
    )
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if dataset.status != DatasetStatus.DRAFT:
        raise Invalid(
            f"Only a draft dataset can be published; {dataset.accession} is {dataset.status}."
        )
    dataset_validate(dataset, publishing=True)
    dataset.status = DatasetStatus.PUBLISHED
    dataset.published_at = timezone.now()
    dataset.save(update_fields=["status", "published_at", "updated_at"])
    events.dataset_published(dataset=dataset, actor=actor)
    return dataset


@transaction.atomic
def dataset_retire(*, dataset: Dataset, actor, reason: str) -> Dataset:
    _require(
        actor,
        _may("governance.publish_dataset", dataset),
        f"You may not retire {dataset.accession}.",
    )
    if not reason.strip():
        raise Invalid({"reason": "Say why the dataset is retired."})
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if dataset.status == DatasetStatus.RETIRED:
        raise Invalid(f"{dataset.accession} is already retired.")
    # Tokens and visas for a retired dataset stop at once: `tokens` receives `dataset_retiring`
    # (governance/signals.py), in this transaction. First, before any write appends to the
    # ledger: the sweep takes the grants' row locks, and a token being issued holds its grant's
    # lock while it waits for the ledger (inline sequencing).
    dataset_retiring.send(sender=Dataset, dataset=dataset, actor=actor)
    dataset.status = DatasetStatus.RETIRED
    dataset.retired_at = timezone.now()
    dataset.save(update_fields=["status", "retired_at", "updated_at"])
    events.dataset_retired(dataset=dataset, actor=actor, reason=reason)
    return dataset
