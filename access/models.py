"""Access requests, their committee reviews, votes, decisions, grants and the notification outbox.

Writes go through `access.services`; permission-filtered reads through `access.selectors`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from core.dates import DateWithinYears
from governance.choices import Ontology
from governance.matching import PURPOSE_FLAGS
from governance.models import (
    AccessAgreement,
    DataAccessCommittee,
    Dataset,
    OntologyTerm,
    country_code,
)

from .choices import (
    CommentVisibility,
    DataDisposition,
    DecisionOutcome,
    InvitationStatus,
    NotificationKind,
    RequestKind,
    RequestStatus,
    ReviewStatus,
    VoteChoice,
)
from .lifecycle import GrantState, grant_inactive_reason
from .uploads import EXTENSIONS as UPLOAD_EXTENSIONS

MAX_REQUESTED_MONTHS = 60


def ethics_upload_path(instance: AccessRequest, filename: str) -> str:  # noqa: ARG001 - FileField upload_to signature
    # Random names: the applicant's file name may carry personal data and must not be guessable.
    # The extension is the sniffed type's (access/uploads.py renames the upload); anything else
    # is stored as .bin.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    if suffix not in UPLOAD_EXTENSIONS:
        suffix = "bin"
    return f"ethics/{uuid.uuid4().hex}.{suffix}"


class AccessRequest(models.Model):
    """A researcher's application for one or more datasets, for one project and purpose."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_requests"
    )
    title = models.CharField("project title", max_length=300)
    lay_summary = models.TextField(blank=True)
    scientific_abstract = models.TextField(blank=True)
    # The structured research purpose (matched against each dataset's DUO consent scope).
    diseases = models.ManyToManyField(
        OntologyTerm,
        blank=True,
        related_name="+",
        limit_choices_to={"ontology": Ontology.DOID},
        help_text="The diseases the research is about (Human Disease Ontology).",
    )
    # The labels are the consent engine's (governance.matching.PURPOSE_FLAGS): one wording of each
    # purpose question across the catalogue's purpose search, the request form and the admin.
    methods_development = models.BooleanField(PURPOSE_FLAGS["methods_development"], default=False)
    population_ancestry = models.BooleanField(PURPOSE_FLAGS["population_ancestry"], default=False)
    commercial = models.BooleanField(PURPOSE_FLAGS["commercial"], default=False)
    for_profit_organisation = models.BooleanField(
        PURPOSE_FLAGS["for_profit_organisation"], default=False
    )
    clinical_care = models.BooleanField(PURPOSE_FLAGS["clinical_care"], default=False)
    genetic_study = models.BooleanField(PURPOSE_FLAGS["genetic_study"], default=False)
    # Sensitive research (governance.matching.SENSITIVE_FLAGS): each one is a committee's decision.
    children = models.BooleanField(PURPOSE_FLAGS["children"], default=False)
    vulnerable_populations = models.BooleanField(
        PURPOSE_FLAGS["vulnerable_populations"], default=False
    )
    stigmatising_diseases = models.BooleanField(
        PURPOSE_FLAGS["stigmatising_diseases"], default=False
    )
    sexual_diseases = models.BooleanField(PURPOSE_FLAGS["sexual_diseases"], default=False)
    illegal_behaviour = models.BooleanField(PURPOSE_FLAGS["illegal_behaviour"], default=False)
    psychological_traits = models.BooleanField(PURPOSE_FLAGS["psychological_traits"], default=False)
    non_health = models.BooleanField(PURPOSE_FLAGS["non_health"], default=False)
    restricted_population = models.BooleanField(
        PURPOSE_FLAGS["restricted_population"], default=False
    )
    controls = models.BooleanField(PURPOSE_FLAGS["controls"], default=False)
    one_gender = models.BooleanField(PURPOSE_FLAGS["one_gender"], default=False)
    other_purpose = models.TextField(
        "other purpose", blank=True, help_text="Anything else; always reviewed by a person."
    )
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[country_code],
        help_text="Where the data will be used (ISO code).",
    )
    requested_months = models.PositiveSmallIntegerField(
        "requested duration (months)",
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REQUESTED_MONTHS)],
    )
    institution = models.CharField(max_length=300, blank=True)
    # The accepted team: people join it only by accepting a `TeamInvitation`
    # (access.services.team), and only they ever receive grants beside the applicant.
    team_members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="team_requests"
    )
    datasets = models.ManyToManyField(Dataset, related_name="access_requests")
    ethics_reference = models.CharField(max_length=200, blank=True)
    ethics_expiry = models.DateField(
        "ethics approval expires", null=True, blank=True, validators=[DateWithinYears(10)]
    )
    ethics_document = models.FileField(upload_to=ethics_upload_path, blank=True)
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.DRAFT, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(
        max_length=16, choices=RequestKind.choices, default=RequestKind.INITIAL, db_index=True
    )
    # The approved request a renewal continues (`access.services.renewals`) or an amendment
    # changes (`access.services.amendments`). The reverse name is not "children": that is a
    # purpose answer (research on children).
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="follow_ups"
    )
    renewal_months = models.PositiveSmallIntegerField(
        "extension asked for (months)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REQUESTED_MONTHS)],
    )
    progress_report = models.TextField(
        blank=True,
        help_text="A renewal's report: what was done with the data so far, and publications.",
    )
    # When an amendment's changes were made to its project (every committee it went to
    # approved it, or none had to): grants created and revoked, the project's answers updated.
    applied_at = models.DateTimeField(null=True, blank=True)
    # An amendment's changes and reviewing committees in words, as submitted (before applying it
    # makes its project match, after which they can no longer be compared).
    amendment_summary = models.JSONField(default=dict, blank=True)
    # Provenance of a request started with "Copy as new request" (access.services.requests.
    # request_copy): the earlier request it was pre-filled from. Kept if that one is deleted.
    copied_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="copies",
        help_text="The earlier request this one was copied from.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["applicant", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("access:request-detail", kwargs={"pk": self.pk})

    @property
    def reference(self) -> str:
        return f"TSR-AR-{self.pk:06d}" if self.pk else "TSR-AR-(new)"

    def people(self) -> list:
        return [self.applicant, *self.team_members.all()]

    @property
    def is_renewal(self) -> bool:
        return self.kind == RequestKind.RENEWAL

    @property
    def is_amendment(self) -> bool:
        return self.kind == RequestKind.AMENDMENT


class CloseOut(models.Model):
    """The applicant's report at the end of a project: what became of the data, and the results.

    Filed once per request, by `access.services.closeouts.closeout_file`, when every grant of
    the request has ended; its committees read it, and a committee may require it before it
    accepts a new request from the same applicant (`DataAccessCommittee.requires_closeout`)."""

    request = models.OneToOneField(AccessRequest, on_delete=models.CASCADE, related_name="closeout")
    data_disposition = models.CharField(
        "what became of the data", max_length=16, choices=DataDisposition.choices
    )
    agreement = models.TextField(
        "agreement the data are kept under",
        blank=True,
        max_length=2000,
        help_text="When the data are kept: the agreement (its name, reference or terms).",
    )
    results = models.TextField(
        "results and publications",
        max_length=10000,
        help_text="What the project found; its publications (references, DOIs).",
    )
    filed_at = models.DateTimeField(default=timezone.now)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "close-out"

    def __str__(self) -> str:
        return f"Close-out of {self.request.reference}"


class TeamInvitation(models.Model):
    """An applicant's invitation to one e-mail address to join a request's team.

    The link sent to the address carries a signed token naming the invitation and its `nonce`
    (access.services.team); it works once, while the invitation is pending and not expired.
    Whoever signs in and accepts it joins the team (`accepted_by`): the address is only where
    the link was sent, never matched against accounts, so nothing tells the applicant whether
    an address has an account."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("e-mail address", help_text="Stored lower-case.")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    status = models.CharField(
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
        db_index=True,
    )
    # Random, per invitation, inside the signed token: a token names exactly one invitation.
    nonce = models.CharField(max_length=64)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="team_invitations_accepted",
    )
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was accepted, declined, withdrawn or expired."
    )

    class Meta:
        ordering = ["created", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "email"],
                condition=models.Q(status=InvitationStatus.PENDING),
                name="one_pending_invitation_per_address",
            )
        ]
        indexes = [models.Index(fields=["email", "status"])]

    def __str__(self) -> str:
        return f"Invitation {self.pk} to {self.request.reference}"

    def is_open(self, now: datetime | None = None) -> bool:
        """Pending and not past its expiry: the only state in which it can be answered."""
        return self.status == InvitationStatus.PENDING and (now or timezone.now()) < self.expires_at

    @property
    def shown_status(self) -> str:
        """The status as the applicant should read it: a pending invitation past its expiry is
        expired even before the sweep (`invitations_expire`) records it."""
        if self.status == InvitationStatus.PENDING and timezone.now() >= self.expires_at:
            return InvitationStatus.EXPIRED
        return self.status

    def get_shown_status_display(self) -> str:
        return InvitationStatus(self.shown_status).label


class Review(models.Model):
    """One committee's review of a request: the part of the request for that committee's datasets."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="reviews")
    committee = models.ForeignKey(
        DataAccessCommittee, on_delete=models.PROTECT, related_name="reviews"
    )
    status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.SUBMITTED, db_index=True
    )
    round = models.PositiveSmallIntegerField(default=1, help_text="Increases at each resubmission.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "committee"], name="one_review_per_committee"
            )
        ]
        indexes = [models.Index(fields=["committee", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.request.reference} / {self.committee.slug}"

    def datasets(self):
        return self.request.datasets.filter(committee_id=self.committee_id)


class ReviewGroupObjectPermission(GroupObjectPermissionBase):
    """django-guardian object permission on a review, with a real foreign key (fast joins)."""

    content_object = models.ForeignKey(Review, on_delete=models.CASCADE)


class ReviewUserObjectPermission(UserObjectPermissionBase):
    """django-guardian per-user object permission on a review (unused by Tessera's own code)."""

    content_object = models.ForeignKey(Review, on_delete=models.CASCADE)


class Recusal(models.Model):
    """A committee member's declared conflict of interest on one review: they take no part in it."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="recusals")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recusals"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "member"], name="one_recusal_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.member} recused from {self.review}"


class DeputyDecider(models.Model):
    """Someone an administrator appointed to decide one review when conflicts left it without a decider."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="deputies")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deputy_for"
    )
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "user"], name="one_deputy_appointment")
        ]

    def __str__(self) -> str:
        return f"{self.user} deputy for {self.review}"


class ConsentMatch(models.Model):
    """The consent-matching verdict for one requested dataset, stored when the request is submitted."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="matches")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8)  # approve / deny / review
    rules = models.JSONField(default=list)
    obligations = models.JSONField(default=list)
    engine_version = models.CharField(max_length=32)
    ontology_version = models.CharField(max_length=200)
    evaluated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "dataset"], name="one_match_per_dataset")
        ]
        verbose_name_plural = "consent matches"

    def __str__(self) -> str:
        return f"{self.dataset_id}: {self.decision}"


class AgreementAcceptance(models.Model):
    """A person's acceptance of an exact agreement version for a request."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="acceptances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    agreement = models.ForeignKey(
        AccessAgreement, on_delete=models.PROTECT, related_name="acceptances"
    )
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "user", "agreement"], name="accept_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} accepted {self.agreement}"


class Comment(models.Model):
    """A remark on a request: internal to one committee, or visible to the applicant."""

    request = models.ForeignKey(AccessRequest, on_delete=models.CASCADE, related_name="comments")
    committee = models.ForeignKey(
        DataAccessCommittee,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The committee that wrote it; empty for the applicant's own comments.",
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    visibility = models.CharField(max_length=8, choices=CommentVisibility.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.request.reference}"


class Vote(models.Model):
    """A committee member's vote on a review, for its current round."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    round = models.PositiveSmallIntegerField()
    choice = models.CharField(max_length=8, choices=VoteChoice.choices)
    rationale = models.TextField()
    cast_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cast_at"]
        constraints = [
            models.UniqueConstraint(fields=["review", "voter", "round"], name="one_vote_per_round")
        ]

    def __str__(self) -> str:
        return f"{self.voter}: {self.choice}"


class Decision(models.Model):
    """A committee's decision on a review: approve (with an end date), reject, or return."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    round = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=8, choices=DecisionOutcome.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system decided under the committee's automatic policy.",
    )
    decided_at = models.DateTimeField(default=timezone.now)
    end_date = models.DateField(null=True, blank=True, validators=[DateWithinYears(10)])
    conditions = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    questions = models.TextField(blank=True)
    # What an approved renewal did to each grant it was to extend (new end date, what bounded
    # it, or why a grant could not be extended), as shown to the applicant and the committee.
    renewal_note = models.TextField(blank=True)
    approved_datasets = models.ManyToManyField(Dataset, blank=True, related_name="+")
    agreements = models.ManyToManyField(
        AccessAgreement,
        blank=True,
        related_name="+",
        help_text="The agreement versions this approval relies on.",
    )

    class Meta:
        ordering = ["decided_at"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.review})"


class Grant(models.Model):
    """One person's time-limited right to read one dataset, created by an approval."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grants"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="grants")
    request = models.ForeignKey(AccessRequest, on_delete=models.PROTECT, related_name="grants")
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="grants")
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    conditions = models.TextField(blank=True)
    obligations = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-valid_from"]
        indexes = [
            models.Index(fields=["user", "dataset"]),
            models.Index(fields=["valid_until"]),
        ]

    def __str__(self) -> str:
        until = date_format(timezone.localtime(self.valid_until), "j M Y")
        return f"{self.user} → {self.dataset.accession} until {until}"

    def inactive_reason(self, now: datetime | None = None) -> str | None:
        """Why the grant is not active right now, or None when it is (`grant_inactive_reason`).

        Expects `dataset`, `decision__review__committee` and `request` to be loaded, and
        `decision__agreements` and `request__acceptances` prefetched for lists.
        """
        return grant_inactive_reason(self.state(), now or timezone.now())

    def state(self) -> GrantState:
        """The grant's `GrantState`, each fact read from the model when first asked for."""
        return _GrantFacts(self)

    @property
    def is_active(self) -> bool:
        return self.inactive_reason() is None


class OutsideReviewer(models.Model):
    """An expert from outside the committee, invited by e-mail by one of its members to give an
    opinion on one review (access.services.experts).

    Whoever signs in and accepts the link (a signed token naming the row and its `nonce`)
    becomes the expert (`user`). They see that request's answers and attachments only, may
    comment to the committee (internal comments), never vote or decide; their access ends when
    the review is decided, closed or withdrawn, or when a member ends it (`ended_at`)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="outside_reviewers")
    email = models.EmailField("e-mail address", help_text="Stored lower-case.")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    nonce = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="expert_reviews",
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["invited_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "email"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_expert_invitation_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"Outside reviewer {self.email} on review {self.review_id}"

    @property
    def state(self) -> str:
        if self.ended_at is not None:
            return "ended"
        return "accepted" if self.user_id else "invited"


class Bar(models.Model):
    """A committee bars a person from its datasets until a date, after revoking a grant for
    misuse (`access.services.grants.grant_revoke` with `bar_until`). While it runs, the person's
    new requests to the committee are flagged on its review page, and rejected at submission
    when the committee's policy says so (`DataAccessCommittee.auto_reject_barred`)."""

    committee = models.ForeignKey(
        DataAccessCommittee, on_delete=models.PROTECT, related_name="bars"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bars"
    )
    until = models.DateField("barred until (inclusive)", validators=[DateWithinYears(10)])
    reason = models.TextField()
    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, null=True, blank=True, related_name="bars"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["committee", "user", "until"])]

    def __str__(self) -> str:
        return f"{self.user} barred by {self.committee} until {date_format(self.until, 'j M Y')}"


class _GrantFacts:
    """A grant's `GrantState`, read from the model and its relations only when the rule asks
    (a revoked grant loads nothing more)."""

    __slots__ = ("_grant", "_required")

    def __init__(self, grant: Grant):
        self._grant = grant
        self._required: set[int] | None = None

    @property
    def revoked_at(self) -> datetime | None:
        return self._grant.revoked_at

    @property
    def valid_from(self) -> datetime:
        return self._grant.valid_from

    @property
    def valid_until(self) -> datetime:
        return self._grant.valid_until

    @property
    def user_active(self) -> bool:
        return self._grant.user.is_active

    @property
    def dataset_status(self) -> str:
        return self._grant.dataset.status

    @property
    def requires_ethics(self) -> bool:
        return self._grant.decision.review.committee.requires_ethics_approval

    @property
    def ethics_expiry(self) -> date | None:
        return self._grant.request.ethics_expiry

    def _required_agreements(self) -> set[int]:
        # The agreement versions of the grant's own committee that its decision relies on.
        if self._required is None:
            grant = self._grant
            committee_id = grant.decision.review.committee_id
            self._required = {
                a.pk for a in grant.decision.agreements.all() if a.committee_id == committee_id
            }
        return self._required

    @property
    def needs_agreement(self) -> bool:
        return bool(self._required_agreements())

    @property
    def agreement_accepted(self) -> bool:
        grant = self._grant
        # Uses `request.acceptances` when prefetched (lists), one query otherwise.
        accepted = {
            a.agreement_id for a in grant.request.acceptances.all() if a.user_id == grant.user_id
        }
        return bool(accepted & self._required_agreements())


class Notification(models.Model):
    """An e-mail waiting to go out (the outbox): written with the change, sent after commit,
    retried until it leaves, so that a broker or mail server outage loses nothing."""

    # A person with an account, or (team invitations) only an address: whether that address
    # has an account is never looked up.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    address = models.EmailField(blank=True, help_text="Where it goes when there is no recipient.")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    html_body = models.TextField(blank=True, help_text="The HTML part, sent beside the text.")
    # Held for the recipient's daily digest (their `NotificationPreference`): the sweep leaves
    # it to `notification_digest_deliver`, which sends all of a person's held rows in one mail.
    digest = models.BooleanField(default=False)
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["sent_at", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient or 'an address'}"

    @property
    def to(self) -> str:
        return self.recipient.email if self.recipient_id else self.address


class NotificationPreference(models.Model):
    """How a person wants their e-mail: each notification as it happens (no row, the default),
    or held and sent once a day in one digest. Written only by
    `access.services.notifications.notification_preference_set`."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    digest = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {'daily digest' if self.digest else 'immediate'}"


class ResearcherStatus(models.Model):
    """A person's researcher status ("bona fide researcher"), from a GA4GH ResearcherStatus visa
    that accounts/passports.py verified against a trusted issuer's keys. Written only by
    `access.services.researcher_status.researcher_status_record`; each verified visa once.
    The current status is the latest asserted one that has not expired
    (`access.selectors.researcher_status_current`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="researcher_statuses"
    )
    issuer = models.CharField(max_length=500, help_text="The visa's iss.")
    source = models.CharField(
        max_length=500,
        help_text="Who the status comes from (the visa's source, e.g. an institution).",
    )
    value = models.CharField(max_length=500, blank=True, help_text="The visa's value.")
    by = models.CharField(max_length=32, blank=True, help_text="The visa's by (so, system, ...).")
    asserted = models.DateTimeField(help_text="When the source asserted it.")
    expires_at = models.DateTimeField(help_text="The visa's exp.")
    jti = models.CharField(max_length=255, blank=True, help_text="The visa's jti, if it has one.")
    visa_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the visa JWT.")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-asserted", "-expires_at", "-pk"]
        verbose_name_plural = "researcher statuses"
        constraints = [
            models.UniqueConstraint(fields=["user", "visa_sha256"], name="researcher_visa_once")
        ]
        indexes = [models.Index(fields=["user", "expires_at"])]

    def __str__(self) -> str:
        until = date_format(timezone.localtime(self.expires_at), "j M Y")
        return f"{self.user} bona fide ({self.source}, until {until})"

    def is_current(self, at: datetime | None = None) -> bool:
        return self.expires_at > (at or timezone.now())
