"""Building the demo world of `demo.data`, step by step, through the services.

Organisations, committees, agreements, legal bases, consent scopes and datasets are created by
`governance.services`, exactly as the admin would create them, so that object permissions and
ledger events are real. Only the people are created directly (Django's auth has no service of
ours). Everything is looked up by a natural key first, so a second run creates nothing.

The world is built in STEPS (`users`, `organisations`, `committees`, `legal_bases`,
`consent_scopes`, `datasets`, `access_requests`, then the storage tier's OAuth client and a
grant for `researcher`, from `demo.logins`). Access requests, reviews, votes, comments,
decisions and grants come from `access.services` (see `access_requests`). `manage.py seed_demo`
runs the steps in one transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from access.models import AccessRequest
from access.services import amendments as amendment_services
from access.services import decisions as decision_services
from access.services import renewals as renewal_services
from access.services import requests as request_services
from access.services import reviews as review_services
from access.services import team as team_services
from access.uploads import check_ethics_document
from governance import services
from governance.choices import DatasetStatus, Ontology
from governance.models import (
    AccessAgreement,
    CommitteeMembership,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    LegalBasisArticle,
    OntologyTerm,
    Organisation,
)
from tokens import keyring
from tokens.choices import KeyState
from tokens.models import SigningKey

from . import logins
from .data import (
    ACCESS_REQUESTS,
    AGREEMENT_TEXT,
    COMMITTEES,
    CONSENT_SCOPES,
    DATASETS,
    DEMO_USERS,
    FALLBACK_DECIDER,
    LEGAL_BASES,
    ORGANISATIONS,
    RETIRED_REASON,
    STEWARDS,
    DemoDataset,
    DemoRequest,
    DemoStep,
)
from .ethics_letter import ethics_approval_pdf

GB = 10**9


@dataclass
class World:
    """What the steps have found or made so far, and what they created in this run."""

    actor: Any = None
    users: dict[str, Any] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    committees: dict[str, DataAccessCommittee] = field(default_factory=dict)
    legal_bases: dict[str, LegalBasis] = field(default_factory=dict)
    consent_scopes: dict[str, ConsentScope] = field(default_factory=dict)
    created: Counter = field(default_factory=Counter)

    def made(self, kind: str, thing=None):
        """Count one `kind` as created in this run; returns `thing`, so that a step can write
        `found or world.made(kind, create(...))` (a model instance is always true)."""
        self.created[kind] += 1
        return thing


# --- the catalogue ----------------------------------------------------------------------------
def users(world: World) -> None:
    User = get_user_model()
    password = settings.TESSERA["DEMO_PASSWORD"]
    for spec in DEMO_USERS:
        found = User.objects.filter(username=spec.username).first()
        user = found or world.made(
            "user",
            User.objects.create_user(
                username=spec.username,
                email=f"{spec.username}@example.org",
                password=password,
                first_name=spec.first_name,
                last_name=spec.last_name,
                is_staff=spec.is_staff,
                is_superuser=spec.is_superuser,
            ),
        )
        for name in spec.groups:
            group, made = Group.objects.get_or_create(name=name)
            if made:
                world.made("group")
            if not user.groups.filter(pk=group.pk).exists():
                user.groups.add(group)
                world.made("group membership")
        world.users[spec.username] = user
    # The catalogue is set up by the site administrator, as it would be on a real site.
    world.actor = world.users["admin"]


def organisations(world: World) -> None:
    for key, fields in ORGANISATIONS.items():
        found = Organisation.objects.filter(name=fields["name"]).first()
        world.organisations[key] = found or world.made(
            "organisation",
            services.organisation_create(organisation=Organisation(**fields), actor=world.actor),
        )
    for username, key in STEWARDS.items():
        org, user = world.organisations[key], world.users[username]
        if not org.stewards.filter(pk=user.pk).exists():
            services.organisation_steward_add(organisation=org, user=user, actor=world.actor)
            world.made("steward")


def committees(world: World) -> None:
    for slug, spec in COMMITTEES.items():
        fields = {k: v for k, v in spec.items() if k not in {"organisation", "members"}}
        found = DataAccessCommittee.objects.filter(slug=slug).first()
        committee = found or world.made(
            "committee",
            services.committee_create(
                committee=DataAccessCommittee(
                    slug=slug, organisation=world.organisations[spec["organisation"]], **fields
                ),
                actor=world.actor,
            ),
        )
        world.committees[slug] = committee
        for username, role in spec["members"].items():
            user = world.users[username]
            if not CommitteeMembership.objects.filter(committee=committee, user=user).exists():
                services.membership_add(
                    committee=committee, user=user, role=role, actor=world.actor
                )
                world.made("committee seat")
        agreement(world, committee)


def agreement(world: World, committee: DataAccessCommittee) -> None:
    """One published, committee-wide agreement version per committee."""
    if AccessAgreement.objects.filter(committee=committee, dataset__isnull=True).exists():
        return
    draft = services.agreement_create(
        agreement=AccessAgreement(
            committee=committee,
            title=f"{committee.name} data access agreement",
            text=AGREEMENT_TEXT.format(committee=committee.name),
        ),
        actor=world.actor,
    )
    services.agreement_publish(agreement=draft, actor=world.actor)
    world.made("agreement version")


def legal_bases(world: World) -> None:
    articles = {(a.article, a.point): a for a in LegalBasisArticle.objects.all()}
    for key, spec in LEGAL_BASES.items():
        found = LegalBasis.objects.filter(name=spec["name"]).first()
        world.legal_bases[key] = found or world.made(
            "legal basis",
            services.legal_basis_create(
                legal_basis=LegalBasis(
                    name=spec["name"],
                    article6=articles[("6", spec["a6"])],
                    article9=articles[("9", spec["a9"])] if spec["a9"] else None,
                    law_reference=spec["law_reference"] or "",
                    notes=spec.get("notes") or "",
                ),
                actor=world.actor,
            ),
        )


def consent_scopes(world: World) -> None:
    duo = {
        t.shorthand: t
        for t in OntologyTerm.objects.filter(ontology=Ontology.DUO, obsolete=False).exclude(
            shorthand=""
        )
    }
    for key, spec in CONSENT_SCOPES.items():
        found = ConsentScope.objects.filter(name=spec["name"]).first()
        world.consent_scopes[key] = found or world.made(
            "consent scope",
            services.consent_scope_create(
                scope=ConsentScope(
                    name=spec["name"],
                    permission=duo[spec["permission"]],
                    region=spec.get("region", []),
                    moratorium_until=spec.get("moratorium_until"),
                    time_limit_months=spec.get("time_limit_months"),
                ),
                modifiers=[duo[m] for m in spec.get("modifiers", [])],
                diseases=[OntologyTerm.objects.get(curie=c) for c in spec.get("diseases", [])],
                actor=world.actor,
            ),
        )


def storage_location(row: DemoDataset) -> str:
    """The dataset's bucket folder: its controller's bucket, then its title as a slug."""
    slug = "".join(c if c.isalnum() else "-" for c in row.title.lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return f"s3://bigpicture-{row.controller}/{slug[:60]}/"


def datasets(world: World) -> None:
    for row in DATASETS:
        controller = world.organisations[row.controller]
        if Dataset.objects.filter(title=row.title, controller=controller).exists():
            continue
        dataset = services.dataset_create(
            dataset=Dataset(
                title=row.title,
                description=row.description,
                species=row.species,
                organ=row.organ,
                stains=row.stains,
                scanner=row.scanner,
                slide_count=row.slides,
                total_bytes=int(row.slides * row.gb_per_slide * GB),
                storage_location=storage_location(row),
                retention_until=row.retention,
                controller=controller,
                committee=world.committees[row.committee],
                consent_scope=world.consent_scopes[row.scope] if row.scope else None,
                legal_basis=world.legal_bases[row.basis] if row.basis else None,
            ),
            actor=world.actor,
        )
        # A retired dataset was published first: retirement ends a published life.
        if row.status in {DatasetStatus.PUBLISHED, DatasetStatus.RETIRED}:
            dataset = services.dataset_publish(dataset=dataset, actor=world.actor)
        if row.status == DatasetStatus.RETIRED:
            services.dataset_retire(dataset=dataset, actor=world.actor, reason=RETIRED_REASON)
        world.made("dataset")


# --- access requests (issue 4): each one's script of steps, replayed (see demo.data) ----------
def _ethics_upload(spec: DemoRequest, applicant, expiry: date) -> SimpleUploadedFile:
    """The ethics letter as an upload, checked like the portal checks one."""
    upload = SimpleUploadedFile(
        "ethics-approval.pdf",
        ethics_approval_pdf(
            "Research Ethics Committee - approval letter",
            f"Reference: {spec.ethics}",
            f"Project: {spec.title}",
            f"Applicant: {applicant.get_full_name()}, {spec.answers.get('institution', '')}",
            f"Valid until: {expiry.isoformat()}",
            "Demo document generated by Tessera's seed_demo; not a real approval.",
        ),
        content_type="application/pdf",
    )
    check_ethics_document(upload)
    return upload


def access_requests(world: World) -> None:
    for spec in ACCESS_REQUESTS:
        applicant = world.users[spec.applicant]
        if AccessRequest.objects.filter(title=spec.title, applicant=applicant).exists():
            continue
        data: dict[str, Any] = {"title": spec.title, **spec.answers}
        if spec.ethics:
            expiry = timezone.localdate() + relativedelta(years=2)
            data |= {
                "ethics_reference": spec.ethics,
                "ethics_expiry": expiry,
                "ethics_document": _ethics_upload(spec, applicant, expiry),
            }
        access_request = request_services.request_create(
            applicant=applicant,
            data=data,
            datasets=[Dataset.objects.get(title=title) for title in spec.datasets],
            diseases=[OntologyTerm.objects.get(curie=curie) for curie in spec.diseases],
        )
        # The team joins as in the portal: an invitation to each member's address, accepted
        # through its link by the member; `invited` stay pending.
        for name in spec.team:
            member = world.users[name]
            invitation = team_services.invitation_send(
                access_request=access_request, actor=applicant, email=member.email
            )
            team_services.invitation_accept(
                token=team_services.invitation_token(invitation), actor=member
            )
        for address in spec.invited:
            team_services.invitation_send(
                access_request=access_request, actor=applicant, email=address
            )
        for step in spec.steps:
            _request_step(world, access_request, step)
        world.made("access request")


# The applicant's own steps that take no argument, and the text each decision outcome carries.
APPLICANT_ACTIONS = {
    "submit": request_services.request_submit,
    "resubmit": request_services.request_resubmit,
    "withdraw": request_services.request_withdraw,
}
DECISION_TEXT = {"approve": "conditions", "reject": "reason", "return": "questions"}


def _request_step(world: World, access_request: AccessRequest, step: DemoStep) -> None:
    verb, *args = step
    applicant = access_request.applicant
    if verb == "accept":
        person = world.users[args[0]]
        for agreement in set(request_services.required_agreements(access_request).values()):
            request_services.agreement_accept(
                access_request=access_request, user=person, agreement=agreement
            )
    elif verb in APPLICANT_ACTIONS:
        APPLICANT_ACTIONS[verb](access_request=access_request, actor=applicant)
    elif verb == "update":
        request_services.request_update(
            access_request=access_request, actor=applicant, data=args[0]
        )
    elif verb == "reply":
        review_services.comment_add(access_request=access_request, actor=applicant, body=args[0])
    elif verb == "amend":
        # A change to the approved project: the draft amendment, its answers changed, then its
        # own steps (submitted, reviewed and decided as any request).
        changes, steps = args
        amendment = amendment_services.amendment_open(
            access_request=access_request, actor=applicant
        )
        request_services.request_update(access_request=amendment, actor=applicant, data=changes)
        for inner in steps:
            _request_step(world, amendment, inner)
    elif verb == "renew":
        months, report = args
        renewal_services.renewal_open(
            access_request=access_request, actor=applicant, months=months, progress_report=report
        )
    else:
        who, slug, *rest = args
        actor, committee = world.users[who], world.committees[slug]
        review = access_request.reviews.get(committee=committee)
        if verb == "start":
            review_services.review_start(review=review, actor=actor)
        elif verb == "comment":
            visibility, body = rest
            review_services.comment_add(
                access_request=access_request,
                actor=actor,
                body=body,
                visibility=visibility,
                committee=committee,
            )
        elif verb == "vote":
            choice, rationale = rest
            review_services.vote_cast(
                review=review, actor=actor, choice=choice, rationale=rationale
            )
        elif verb == "approve_for_days":
            # An approval whose grants end soon (within the renewal window).
            days, conditions = rest
            decision_services.decision_record(
                review=review,
                actor=actor,
                outcome="approve",
                end_date=timezone.localdate() + timedelta(days=days),
                conditions=conditions,
            )
        elif verb in DECISION_TEXT:
            until = (
                {"end_date": decision_services.latest_end_date(access_request)}
                if verb == "approve"
                else {}
            )
            decision_services.decision_record(
                review=review, actor=actor, outcome=verb, **until, **{DECISION_TEXT[verb]: rest[0]}
            )
        else:
            raise ValueError(f"Unknown demo step {verb!r}")


# --- the storage tier (issue 6): its OAuth client, and a researcher with access ---------------
def storage_tier(world: World) -> None:
    """The storage tier's OAuth client and an active grant for `researcher` (demo.logins).
    The last step, so that a grant an earlier step made is reused."""
    if logins.storage_client(actor=world.actor):
        world.made("OAuth client")
    # The token signing keys (the active one and its published successor), so that the demo is
    # ready (`/readyz`) before its first token is issued.
    if not SigningKey.objects.filter(state=KeyState.ACTIVE).exists():
        keyring.keys_bootstrap(actor=world.actor)
        world.made("token signing keys")
    if logins.researcher_grant(
        researcher=world.users["researcher"], decider=world.users[FALLBACK_DECIDER]
    ):
        world.made("grant for researcher")


STEPS = [
    users,
    organisations,
    committees,
    legal_bases,
    consent_scopes,
    datasets,
    access_requests,
    storage_tier,
]


def seed(steps=STEPS) -> World:
    """Run the steps, in the caller's transaction; returns what they found and made."""
    world = World()
    for step in steps:
        step(world)
    return world
