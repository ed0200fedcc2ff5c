"""The governance catalogue: who controls which slides, what the data subjects consented to,
on which legal ground, and which committee decides on access.

Writes go through `governance.services`; reads that depend on the user through
`governance.selectors`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.dates import DateWithinYears

from .choices import (
    AgreementStatus,
    Article,
    CommitteeRole,
    DatasetStatus,
    DecisionPolicy,
    DuoKind,
    GdprRole,
    Ontology,
    Species,
)

country_code = RegexValidator(r"^[A-Z]{2}$", "Use an ISO 3166-1 alpha-2 country code, e.g. NL.")
ror_id = RegexValidator(r"^0[a-z0-9]{6}[0-9]{2}$", "A ROR id looks like 05wg1m734.")


class Organisation(models.Model):
    """An institution that contributes data and acts as its GDPR controller or processor."""

    name = models.CharField(max_length=200, unique=True)
    country = models.CharField(max_length=2, validators=[country_code])
    ror_id = models.CharField("ROR id", max_length=9, blank=True, validators=[ror_id])
    dpo_name = models.CharField("DPO name", max_length=200, blank=True)
    dpo_email = models.EmailField("DPO e-mail")
    steward_group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="stewarded_organisation", editable=False
    )
    stewards = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="stewarded_organisations"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OntologyTerm(models.Model):
    """A DUO or DOID class, loaded from the shipped ontology files by `load_ontologies`."""

    curie = models.CharField(max_length=32, unique=True)
    ontology = models.CharField(max_length=8, choices=Ontology.choices, db_index=True)
    label = models.CharField(max_length=255, db_index=True)
    shorthand = models.CharField(max_length=16, blank=True, db_index=True)
    description = models.TextField(blank=True)
    duo_kind = models.CharField(max_length=16, choices=DuoKind.choices, blank=True)
    obsolete = models.BooleanField(default=False)
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)

    class Meta:
        ordering = ["ontology", "curie"]

    def __str__(self) -> str:
        short = f" ({self.shorthand})" if self.shorthand else ""
        return f"{self.curie} {self.label}{short}"


class OntologyAncestry(models.Model):
    """Transitive closure of the ontology hierarchy: one row per (term, ancestor), self included.

    Precomputed by `load_ontologies` so that "all ancestors" or "all descendants" is one query
    whatever the depth.
    """

    term = models.ForeignKey(OntologyTerm, on_delete=models.CASCADE, related_name="ancestry")
    ancestor = models.ForeignKey(OntologyTerm, on_delete=models.CASCADE, related_name="descendancy")
    distance = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "ancestor"], name="ontology_ancestry_unique")
        ]
        indexes = [models.Index(fields=["ancestor", "term"])]
        verbose_name_plural = "ontology ancestries"

    def __str__(self) -> str:
        return f"{self.term_id} ⊑ {self.ancestor_id} ({self.distance})"


def _current_duo(kind: str) -> dict[str, Any]:
    """The choices of a DUO permission or modifier field: that kind's terms, none obsolete."""
    return {"ontology": Ontology.DUO, "duo_kind": kind, "obsolete": False}


class ConsentScope(models.Model):
    """What the data subjects (or the law) allow, coded with one DUO permission and modifiers."""

    name = models.CharField(max_length=200, help_text="A short name stewards recognise.")
    permission = models.ForeignKey(
        OntologyTerm,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to=_current_duo(DuoKind.PERMISSION),
    )
    modifiers = models.ManyToManyField(
        OntologyTerm,
        blank=True,
        related_name="+",
        limit_choices_to=_current_duo(DuoKind.MODIFIER),
    )
    diseases = models.ManyToManyField(
        OntologyTerm,
        blank=True,
        related_name="consent_scopes",
        limit_choices_to={"ontology": Ontology.DOID},
        help_text="Required for disease-specific research (DS), forbidden otherwise.",
    )
    region = models.JSONField(
        default=list,
        blank=True,
        help_text="For GS: ISO 3166-1 alpha-2 codes, or the groups EU and EEA.",
    )
    moratorium_until = models.DateField(
        null=True, blank=True, validators=[DateWithinYears(25)], help_text="For MOR."
    )
    time_limit_months = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="For TS."
    )
    named_users = models.TextField(blank=True, help_text="For US: one per line.")
    named_projects = models.TextField(blank=True, help_text="For PS: one per line.")
    named_institutions = models.TextField(blank=True, help_text="For IS: one per line.")
    # Raised by every change (`services.consent_scope_update`): the consent verdict cache
    # (`consent.scope_decisions`) is keyed by the scopes' count, highest pk and sum of versions.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LegalBasisArticle(models.Model):
    """A point of GDPR Art. 6(1) or Art. 9(2), seeded as reference data."""

    article = models.CharField(max_length=1, choices=Article.choices)
    point = models.CharField(max_length=1)
    title = models.CharField(max_length=200)
    needs_law = models.BooleanField(
        default=False, help_text="The point requires a Union or Member State law as its basis."
    )

    class Meta:
        ordering = ["article", "point"]
        constraints = [
            models.UniqueConstraint(fields=["article", "point"], name="gdpr_article_point_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def code(self) -> str:
        return (
            f"Art. 6(1)({self.point})"
            if self.article == Article.ART6
            else f"Art. 9(2)({self.point})"
        )

    @property
    def is_consent(self) -> bool:
        return self.point == "a"


class LegalBasis(models.Model):
    """The GDPR ground on which a dataset is processed: Art. 6(1) plus, for health data, Art. 9(2)."""

    name = models.CharField(max_length=200)
    article6 = models.ForeignKey(
        LegalBasisArticle,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"article": Article.ART6},
        verbose_name="Art. 6(1) ground",
    )
    article9 = models.ForeignKey(
        LegalBasisArticle,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        limit_choices_to={"article": Article.ART9},
        verbose_name="Art. 9(2) condition",
        help_text="Required for special-category (health) data.",
    )
    law_reference = models.CharField(
        max_length=500,
        blank=True,
        help_text="The Union or Member State law relied on, where Art. 6(1)(c)/(e) or "
        "Art. 9(2)(g)-(j) require one.",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "legal bases"

    def __str__(self) -> str:
        return self.name

    @property
    def is_consent_based(self) -> bool:
        return self.article6.is_consent or bool(self.article9 and self.article9.is_consent)


class DataAccessCommittee(models.Model):
    """A data access committee (DAC): the people who decide on requests for its datasets."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    contact_email = models.EmailField()
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="committees"
    )
    decision_policy = models.CharField(
        max_length=16, choices=DecisionPolicy.choices, default=DecisionPolicy.CHAIR_DECIDES
    )
    quorum = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Votes needed before a majority or unanimity decision may be taken.",
    )
    requires_ethics_approval = models.BooleanField(default=True)
    # The applicant must hold a current researcher status (a bona fide ResearcherStatus visa
    # from a trusted issuer, access.ResearcherStatus) before a request for these datasets can
    # be submitted.
    requires_bona_fide = models.BooleanField(
        "applicants must be bona fide researchers",
        default=False,
        help_text="Requests are refused until the applicant's researcher status (a GA4GH "
        "ResearcherStatus visa from a trusted issuer, received at sign-in) is current.",
    )
    # At the end of a project its applicant files a close-out (access.CloseOut); with this on,
    # a new request from an applicant whose earlier project with this committee has ended
    # without one cannot be submitted until it is filed.
    requires_closeout = models.BooleanField(
        "applicants must file a close-out of their ended projects",
        default=False,
        help_text="A new request is refused while the applicant has an ended project with this "
        "committee (every grant expired or revoked) without a close-out (data deleted or kept "
        "under which agreement, results).",
    )
    # Automatic decisions on consent-match verdicts; both off by default, and every automatic
    # decision is a ledger event by the system actor.
    auto_reject_denied = models.BooleanField(
        "automatically reject when a dataset's consent match is deny", default=False
    )
    auto_reject_barred = models.BooleanField(
        "automatically reject requests from a person the committee has barred",
        default=False,
        help_text="Otherwise such a request is flagged on the review page and waits for the "
        "committee.",
    )
    auto_approve_matching = models.BooleanField(
        "automatically approve when every verdict is approve and nothing needs a person",
        default=False,
        help_text="Grants then run for the requested duration.",
    )
    # The committee's service level: a review is due this many days after the request was
    # submitted; past that it is overdue (flagged in the queue, in the members' reminder digest).
    service_level_days = models.PositiveSmallIntegerField(
        "service level (days)",
        default=14,
        validators=[MinValueValidator(1)],
        help_text="A review is due this many days after the request is submitted.",
    )
    member_group = models.OneToOneField(
        Group, on_delete=models.PROTECT, related_name="committee", editable=False
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "data access committee"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("portal:committee", kwargs={"slug": self.slug})


class CommitteeMembership(models.Model):
    """A person's seat on a committee, with their role."""

    committee = models.ForeignKey(
        DataAccessCommittee, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="committee_memberships"
    )
    role = models.CharField(
        max_length=16, choices=CommitteeRole.choices, default=CommitteeRole.MEMBER
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["committee", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["committee", "user"], name="one_seat_per_committee")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.committee})"


class AccessAgreement(models.Model):
    """One version of a data access agreement (DAA); immutable once published."""

    committee = models.ForeignKey(
        DataAccessCommittee, on_delete=models.PROTECT, related_name="agreements"
    )
    dataset = models.ForeignKey(
        "Dataset",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="specific_agreements",
        help_text="Leave empty for the committee's agreement for all its datasets.",
    )
    version = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200)
    text = models.TextField()
    status = models.CharField(
        max_length=16,
        choices=AgreementStatus.choices,
        default=AgreementStatus.DRAFT,
        editable=False,
    )
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["committee", "dataset", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["committee", "version"],
                condition=Q(dataset__isnull=True),
                name="agreement_committee_version_unique",
            ),
            models.UniqueConstraint(
                fields=["dataset", "version"],
                condition=Q(dataset__isnull=False),
                name="agreement_dataset_version_unique",
            ),
            # One current version: at most one published agreement per committee-wide scope
            # and per dataset at any time (older ones become superseded).
            models.UniqueConstraint(
                fields=["committee"],
                condition=Q(dataset__isnull=True, status="published"),
                name="one_current_committee_agreement",
            ),
            models.UniqueConstraint(
                fields=["dataset"],
                condition=Q(dataset__isnull=False, status="published"),
                name="one_current_dataset_agreement",
            ),
        ]

    def __str__(self) -> str:
        scope = self.dataset.accession if self.dataset_id else self.committee.slug
        return f"{self.title} v{self.version} ({scope})"

    @property
    def is_current(self) -> bool:
        return self.status == AgreementStatus.PUBLISHED


class Dataset(models.Model):
    """A collection of whole-slide images under one consent scope, legal basis and committee."""

    # NULL only between the INSERT and the accession derived from the new primary key.
    accession = models.CharField(max_length=16, unique=True, null=True, editable=False)  # noqa: DJ001
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    species = models.CharField(max_length=8, choices=Species.choices, db_index=True)
    organ = models.CharField("organ / tissue", max_length=100, db_index=True)
    stains = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated, e.g. H&E, Ki-67"
    )
    scanner = models.CharField(max_length=200, blank=True)
    slide_count = models.PositiveIntegerField(default=0)
    total_bytes = models.PositiveBigIntegerField(default=0)
    storage_location = models.CharField(
        max_length=500, help_text="Where the storage tier keeps the slides, e.g. s3://bucket/prefix"
    )
    status = models.CharField(
        max_length=16,
        choices=DatasetStatus.choices,
        default=DatasetStatus.DRAFT,
        db_index=True,
        editable=False,
    )
    controller = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="datasets")
    committee = models.ForeignKey(
        DataAccessCommittee, on_delete=models.PROTECT, related_name="datasets"
    )
    consent_scope = models.ForeignKey(
        ConsentScope, on_delete=models.PROTECT, null=True, blank=True, related_name="datasets"
    )
    legal_basis = models.ForeignKey(
        LegalBasis, on_delete=models.PROTECT, null=True, blank=True, related_name="datasets"
    )
    # Retention of medical records can run for decades (20 years in the Netherlands, WGBO).
    retention_until = models.DateField(
        "retention end", null=True, blank=True, validators=[DateWithinYears(100)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["accession"]
        indexes = [models.Index(fields=["status", "accession"])]
        permissions = [("publish_dataset", "Can publish or retire a dataset")]

    def __str__(self) -> str:
        return f"{self.accession} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("portal:dataset", kwargs={"accession": self.accession})

    @property
    def stain_list(self) -> list[str]:
        return [s.strip() for s in self.stains.split(",") if s.strip()]

    @property
    def current_agreement(self) -> AccessAgreement | None:
        """The dataset's own published agreement, else its committee's (`current_agreements`)."""
        return current_agreements([self]).get(self.pk)


class DatasetParty(models.Model):
    """An organisation's GDPR role for a dataset beyond its controller (joint controller, processor)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="parties")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=GdprRole.choices)

    class Meta:
        verbose_name_plural = "dataset parties"
        constraints = [
            models.UniqueConstraint(fields=["dataset", "organisation"], name="one_role_per_party")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.get_role_display()}"


class OntologyRelease(models.Model):
    """Which copy of an ontology is loaded (SHA-256 of its source files), for reproducible matching."""

    ontology = models.CharField(max_length=8, choices=Ontology.choices, unique=True)
    source_sha256 = models.CharField(max_length=64)
    term_count = models.PositiveIntegerField()
    loaded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.ontology} {self.source_sha256[:12]}"


def current_agreements(datasets) -> dict[int, AccessAgreement]:
    """The current agreement of each dataset, by dataset id, in one query: the dataset's own
    published version, else its committee's. `Dataset.current_agreement` asks it for one."""
    datasets = list(datasets)
    if not datasets:
        return {}
    published = AccessAgreement.objects.filter(
        Q(dataset__in=datasets)
        | Q(dataset__isnull=True, committee__in={d.committee_id for d in datasets}),
        status=AgreementStatus.PUBLISHED,
    ).select_related("committee")
    own, by_committee = {}, {}
    for agreement in published:
        if agreement.dataset_id:
            own[agreement.dataset_id] = agreement
        else:
            by_committee[agreement.committee_id] = agreement
    out = {}
    for dataset in datasets:
        agreement = own.get(dataset.pk) or by_committee.get(dataset.committee_id)
        if agreement is not None:
            out[dataset.pk] = agreement
    return out
