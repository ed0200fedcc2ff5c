from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.choices import DatasetStatus, Ontology
from governance.matching import Outcome
from governance.models import Dataset, OntologyTerm

from .. import lifecycle, selectors
from ..answers import ETHICS_ANSWERS, PURPOSE_ANSWERS
from ..choices import (
    CommentVisibility,
    DataDisposition,
    DecisionOutcome,
    InvitationStatus,
    VoteChoice,
)
from ..models import (
    MAX_REQUESTED_MONTHS,
    AccessRequest,
    CloseOut,
    Comment,
    ConsentMatch,
    Decision,
    Grant,
    Review,
    TeamInvitation,
)
from ..services import amendments as amendment_services
from ..services import reviews as review_services
from ..services.team import REASON_MAX
from ..uploads import check_ethics_document

ETHICS_MAX_BYTES = 10 * 1024 * 1024


class EligibilitySerializer(serializers.Serializer):
    can_act = serializers.BooleanField(help_text="Whether you may act on this review now.")
    reason = serializers.CharField(
        allow_null=True, help_text="Why you may not act on it (a conflict of interest), or null."
    )
    role = serializers.CharField(
        allow_null=True, help_text="Your role: chair, secretary, member or deputy; null if none."
    )
    decider_remains = serializers.BooleanField(
        help_text="Whether the eligible people on this review can still reach a decision."
    )
    shortfall = serializers.CharField(
        allow_null=True,
        help_text="Why they cannot; an administrator can then appoint a deputy decider.",
    )


class ReviewSummarySerializer(serializers.ModelSerializer):
    committee = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    eligibility = serializers.SerializerMethodField()
    renewal_note = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ["id", "committee", "status", "round", "decided_at", "eligibility", "renewal_note"]

    def get_renewal_note(self, review) -> str | None:
        """For a renewal approved by this committee: what the approval did to each grant (new
        end and what bounded it, or why a grant could not be extended)."""
        if not review.request.is_renewal:
            return None
        decision = review.decisions.exclude(renewal_note="").order_by("-decided_at").first()
        return decision.renewal_note if decision else None

    def _panel_reviews(self, user) -> tuple[set[int], set[int]]:
        """The committees the user sits on and the reviews they are deputy for, once per response."""
        key = "_conflict_scope"
        if key not in self.context:
            self.context[key] = (
                set(user.committee_memberships.values_list("committee_id", flat=True)),
                set(user.deputy_for.values_list("review_id", flat=True)),
            )
        return self.context[key]

    @extend_schema_field(EligibilitySerializer(allow_null=True))
    def get_eligibility(self, review):
        """For the people on the review's panel only (the applicant learns nothing of the
        committee's conflicts): whether they may act, and whether anyone still may decide."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        committees, deputy_reviews = self._panel_reviews(user)
        if review.committee_id not in committees and review.pk not in deputy_reviews:
            return None
        panel = review_services.review_panel(review)
        reason = lifecycle.conflict_refusal(panel, user.pk)
        committee = review.committee
        shortfall = lifecycle.decider_shortfall(
            panel, policy=committee.decision_policy, quorum=committee.quorum
        )
        return {
            "can_act": reason is None,
            "reason": reason,
            "role": panel.role_of(user.pk),
            "decider_remains": shortfall is None,
            "shortfall": shortfall,
        }


class DatasetStatusSerializer(serializers.Serializer):
    accession = serializers.CharField()
    committee = serializers.CharField()
    status = serializers.CharField(
        help_text="The review status of the dataset's committee, or the request's own status."
    )


class RequestAgreementSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="What `accept-agreement` takes.")
    committee = serializers.CharField(help_text="The committee's slug.")
    title = serializers.CharField()
    version = serializers.IntegerField()
    text = serializers.CharField()
    datasets = serializers.ListField(
        child=serializers.CharField(), help_text="The requested datasets it covers, by accession."
    )
    accepted_by = serializers.ListField(
        child=serializers.CharField(),
        help_text="Who of the applicant and the team accepted this version for this request.",
    )
    accepted = serializers.BooleanField(help_text="Whether you accepted it for this request.")


class CloseOutSerializer(serializers.ModelSerializer):
    """The close-out of a request's project, as its applicant filed it."""

    filed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CloseOut
        fields = ["data_disposition", "agreement", "results", "filed_at", "filed_by"]
        read_only_fields = fields


class CloseOutFileSerializer(serializers.Serializer):
    data_disposition = serializers.ChoiceField(
        choices=DataDisposition.choices, help_text="What became of the data."
    )
    agreement = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="When the data are kept: the agreement they are kept under; blank otherwise.",
    )
    results = serializers.CharField(
        allow_blank=True,
        max_length=10000,
        help_text="What the project found, and its publications (or that there are none yet).",
    )


class AmendmentSummarySerializer(serializers.Serializer):
    changes = serializers.ListField(
        child=serializers.CharField(), help_text="What it changes, in words."
    )
    review = serializers.ListField(
        child=serializers.CharField(),
        help_text="The committees that review it, each with why (empty when none has to).",
    )
    applied_at = serializers.DateTimeField(
        allow_null=True, help_text="When its changes were made to the project (null until then)."
    )


class AccessRequestSerializer(serializers.ModelSerializer):
    """An access request. Datasets by accession, diseases by DOID CURIE; the accepted team
    members by username, read-only (they join by accepting an e-mailed invitation:
    `…/invitations/`, `/api/v1/invitations/answer/`)."""

    reference = serializers.CharField(read_only=True)
    applicant = serializers.SlugRelatedField(slug_field="username", read_only=True)
    datasets = serializers.SlugRelatedField(
        slug_field="accession",
        many=True,
        queryset=Dataset.objects.filter(status=DatasetStatus.PUBLISHED),
    )
    diseases = serializers.SlugRelatedField(
        slug_field="curie",
        many=True,
        required=False,
        queryset=OntologyTerm.objects.filter(ontology=Ontology.DOID),
    )
    # Read-only: people join a team by accepting an e-mail invitation (portal or API)
    # (access.services.team), never by being named here.
    team_members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    requested_months = serializers.IntegerField(
        min_value=1, max_value=MAX_REQUESTED_MONTHS, required=False
    )
    ethics_document = serializers.FileField(required=False, allow_null=True, write_only=True)
    has_ethics_document = serializers.SerializerMethodField()
    overall_status = serializers.SerializerMethodField()
    dataset_statuses = serializers.SerializerMethodField()
    reviews = ReviewSummarySerializer(many=True, read_only=True)
    agreements = serializers.SerializerMethodField()
    parent = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The approved request a renewal continues or an amendment changes (null for "
        "a first request).",
    )
    amendment = serializers.SerializerMethodField()
    closeout = CloseOutSerializer(
        read_only=True,
        allow_null=True,
        help_text="The close-out filed at the end of the project (`…/closeout/`), or null.",
    )
    copied_from = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The earlier request this one was copied from (`…/copy/`), or null.",
    )

    class Meta:
        model = AccessRequest
        fields = [
            "id",
            "reference",
            "applicant",
            "title",
            "lay_summary",
            "scientific_abstract",
            "diseases",
            *PURPOSE_ANSWERS,
            "country",
            "requested_months",
            "institution",
            "team_members",
            "datasets",
            *ETHICS_ANSWERS,
            "has_ethics_document",
            "agreements",
            "status",
            "overall_status",
            "dataset_statuses",
            "reviews",
            "copied_from",
            "closeout",
            "created_at",
            "updated_at",
            "submitted_at",
            "kind",
            "parent",
            "renewal_months",
            "progress_report",
            "amendment",
        ]
        read_only_fields = [
            "status",
            "created_at",
            "updated_at",
            "submitted_at",
            "kind",
            "renewal_months",
            "progress_report",
        ]

    @extend_schema_field(AmendmentSummarySerializer(allow_null=True))
    def get_amendment(self, obj):
        """For an amendment: what it changes against its project as it stands, which
        committees review it and why, and when it was applied (null until then)."""
        if not obj.is_amendment:
            return None
        return {**amendment_services.amendment_summary(obj), "applied_at": obj.applied_at}

    def get_has_ethics_document(self, obj) -> bool:
        return bool(obj.ethics_document)

    def get_overall_status(self, obj) -> str:
        return lifecycle.summary_status(obj.status, [r.status for r in obj.reviews.all()])

    @extend_schema_field(DatasetStatusSerializer(many=True))
    def get_dataset_statuses(self, obj):
        by_committee = {r.committee_id: r.status for r in obj.reviews.all()}
        return [
            {
                "accession": d.accession,
                "committee": d.committee.slug,
                "status": by_committee.get(d.committee_id, obj.status),
            }
            for d in obj.datasets.all()
        ]

    @extend_schema_field(RequestAgreementSerializer(many=True))
    def get_agreements(self, obj):
        """The agreement versions the requested datasets need: the applicant accepts each one
        before submitting (`accept-agreement`), as does every team member. Computed for the whole
        page at once (`selectors.agreements_for_requests`)."""
        cache = self.context.setdefault("_agreements", {})
        if obj.pk not in cache:
            page = getattr(self.parent, "instance", None) if self.parent is not None else None
            ids = {r.pk for r in page} if page is not None else set()
            cache.update(selectors.agreements_for_requests(ids | {obj.pk}))
        user = getattr(self.context.get("request"), "user", None)
        return [
            {
                "id": row["agreement"].pk,
                "committee": row["agreement"].committee.slug,
                "title": row["agreement"].title,
                "version": row["agreement"].version,
                "text": row["agreement"].text,
                "datasets": row["datasets"],
                "accepted_by": sorted(row["accepted_by"].values()),
                "accepted": getattr(user, "pk", None) in row["accepted_by"],
            }
            for row in cache[obj.pk]
        ]

    def validate_ethics_document(self, value):
        if value is not None:
            check_ethics_document(value)
        return value


class RenewSerializer(serializers.Serializer):
    months = serializers.IntegerField(
        min_value=1, max_value=MAX_REQUESTED_MONTHS, help_text="How many months more."
    )
    progress_report = serializers.CharField(
        max_length=10000,
        help_text="What was done with the data so far, and the publications.",
    )


class AccessRequestCopySerializer(AccessRequestSerializer):
    """The new draft `…/copy/` made, and what it left out of the request it copies."""

    datasets_skipped = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Accessions of the copied request no longer in the catalogue, so not copied.",
    )
    not_copied = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Answers not copied, to give again: always ethics_document (a file is "
        "uploaded for each request), and any answer the form now refuses.",
    )
    team_not_copied = serializers.IntegerField(
        read_only=True,
        help_text="How many team members the copied request had: a team is never copied, "
        "each member is invited again (…/invitations/).",
    )

    class Meta(AccessRequestSerializer.Meta):
        fields = [
            *AccessRequestSerializer.Meta.fields,
            "datasets_skipped",
            "not_copied",
            "team_not_copied",
        ]


class AcceptAgreementSerializer(serializers.Serializer):
    agreement = serializers.IntegerField(
        help_text="Id of the agreement version (see the dataset's current agreement)."
    )


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10000)
    visibility = serializers.ChoiceField(
        choices=CommentVisibility.choices, default=CommentVisibility.PUBLIC
    )
    committee = serializers.CharField(
        required=False, allow_blank=True, help_text="Committee slug, for committee members."
    )


class ConversationEntrySerializer(serializers.ModelSerializer):
    """One comment on a request. A committee's comment names the committee, never the member
    who wrote it (as in the portal); the applicant's and the team's name their author."""

    committee = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The committee that wrote it; null for the applicant's and the team's.",
    )
    author = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "committee", "author", "visibility", "body", "created_at"]

    def get_author(self, obj) -> str | None:
        return None if obj.committee_id else obj.author.get_username()


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation to join the team, as its applicant sees it (the addresses are theirs)."""

    accepted_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Who accepted it (whoever opened the link, signed in); null until then.",
    )

    class Meta:
        model = TeamInvitation
        fields = ["id", "email", "status", "created", "expires_at", "answered_at", "accepted_by"]


class InvitationSendSerializer(serializers.Serializer):
    # Checked and normalised by the service (access.services.team.normalise_email).
    email = serializers.CharField(max_length=254, help_text="The address to send the link to.")


class InvitationAnswerSerializer(serializers.Serializer):
    token = serializers.CharField(
        max_length=1000, help_text="The token of the e-mailed link: /invitations/<token>/."
    )
    answer = serializers.ChoiceField(choices=["accept", "decline"])


class InvitationAnsweredSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=InvitationStatus.choices)
    request = serializers.IntegerField(
        allow_null=True,
        help_text="The request whose team you joined (read it at /api/v1/access-requests/<id>/); "
        "null when you declined.",
    )


class CommitteeTargetSerializer(serializers.Serializer):
    committee = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Committee slug; needed only when you sit on several committees reviewing this request.",
    )


class CloseSerializer(CommitteeTargetSerializer):
    reason = serializers.CharField(
        max_length=5000, help_text="Why the review is closed; the applicant is told."
    )


class VoteSerializer(CommitteeTargetSerializer):
    choice = serializers.ChoiceField(choices=VoteChoice.choices)
    rationale = serializers.CharField(max_length=10000)


class DecideSerializer(CommitteeTargetSerializer):
    outcome = serializers.ChoiceField(choices=DecisionOutcome.choices)
    end_date = serializers.DateField(
        required=False,
        allow_null=True,
        validators=Decision._meta.get_field("end_date").validators,
    )
    conditions = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    questions = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    datasets = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Accessions to approve; default all of the committee's.",
    )


class RecuseSerializer(CommitteeTargetSerializer):
    reason = serializers.CharField(max_length=10000, help_text="What the conflict of interest is.")


class RevokeSerializer(serializers.Serializer):
    grant = serializers.IntegerField()
    reason = serializers.CharField(max_length=5000)
    bar_until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="For misuse: also bar the person from the committee's datasets to the end of "
        "this day (tomorrow at the earliest, at most ten years on).",
    )


class TeamDepartureSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=REASON_MAX,
        required=False,
        allow_blank=True,
        help_text="Optional: why, recorded with the revoked grants and told to the member and the "
        "applicant.",
    )


class GrantSerializer(serializers.ModelSerializer):
    dataset = serializers.SlugRelatedField(slug_field="accession", read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    committee = serializers.SerializerMethodField()
    request = serializers.PrimaryKeyRelatedField(read_only=True)
    active = serializers.SerializerMethodField()
    inactive_reason = serializers.SerializerMethodField()

    class Meta:
        model = Grant
        fields = [
            "id",
            "user",
            "dataset",
            "committee",
            "request",
            "decision",
            "valid_from",
            "valid_until",
            "conditions",
            "obligations",
            "revoked_at",
            "revoked_reason",
            "active",
            "inactive_reason",
        ]

    def get_committee(self, obj) -> str:
        return obj.decision.review.committee.slug

    def to_representation(self, instance):
        instance._inactive_reason = instance.inactive_reason()
        return super().to_representation(instance)

    def get_active(self, obj) -> bool:
        return obj._inactive_reason is None

    def get_inactive_reason(self, obj) -> str | None:
        return obj._inactive_reason


class ConsentMatchSerializer(serializers.ModelSerializer):
    """One dataset's stored consent-match verdict, with the engine and ontologies that gave it."""

    dataset = serializers.SlugRelatedField(slug_field="accession", read_only=True)
    decision = serializers.ChoiceField(choices=[o.value for o in Outcome], read_only=True)
    rules = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="The rules that fired: {term, outcome, reason}.",
    )
    obligations = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="What the consent asks of the user: {term, text}.",
    )

    class Meta:
        model = ConsentMatch
        fields = [
            "dataset",
            "decision",
            "rules",
            "obligations",
            "engine_version",
            "ontology_version",
            "evaluated_at",
        ]
        read_only_fields = fields


class ConsentChangeSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="The dataset's accession.")
    engine_before = serializers.CharField(
        allow_null=True, help_text="The engine version of the verdict replaced; null if none."
    )
    before = serializers.CharField(allow_null=True, help_text="The verdict replaced; null if none.")
    after = serializers.CharField(help_text="The verdict now.")


class ConsentReevaluationSerializer(serializers.Serializer):
    review = serializers.IntegerField()
    engine_version = serializers.CharField(help_text="The consent engine that judged them now.")
    matches = ConsentMatchSerializer(many=True, help_text="This review's datasets' matches now.")
    changes = ConsentChangeSerializer(many=True)


class ExpertInviteSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class OutsideReviewerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    state = serializers.ChoiceField(choices=["invited", "accepted", "ended"])
    invited_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
