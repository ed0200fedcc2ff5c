"""`GET /api/v1/committees/{slug}/report`: a committee's report for a period, as JSON or (with
`format=csv`) as CSV, for the committee's members, the stewards of its datasets' controllers and
auditors; a 404 for anyone else (`access.reports.committee_for_report`). The figures and their
definitions are `access.reports`'; docs/committee-reports.md explains them."""

from __future__ import annotations

import csv
import io

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.scopes import REPORTS_READ

from .. import reports


class ReportCSVRenderer(BaseRenderer):
    """The report as two columns, `figure` and `value`: one row per value of the JSON, named by
    its path (`reports.report_rows`); an error body the same way."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):  # noqa: ARG002 - DRF renderer signature
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["figure", "value"])
        writer.writerows(reports.report_rows(data if isinstance(data, dict) else {"detail": data}))
        return out.getvalue().encode(self.charset)


# --- the schema (drf-spectacular): what the JSON holds --------------------------------------------
class ReportCommitteeSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class ReportPeriodSerializer(serializers.Serializer):
    # "from" is a Python keyword: declared below.
    to = serializers.DateField(help_text="The period's last day (included).")


ReportPeriodSerializer._declared_fields["from"] = serializers.DateField(
    help_text="The period's first day (included)."
)


class ReportRequestsSerializer(serializers.Serializer):
    received = serializers.IntegerField(
        help_text="Submitted in the period (this committee's part)."
    )
    decided = serializers.IntegerField(help_text="Approved or rejected in the period.")
    withdrawn = serializers.IntegerField(help_text="Withdrawn by the applicant in the period.")


class ReportDaysSerializer(serializers.Serializer):
    decisions = serializers.IntegerField(help_text="The decisions measured.")
    median = serializers.FloatField(allow_null=True, help_text="Days from submission, median.")
    p90 = serializers.FloatField(
        allow_null=True, help_text="Days from submission, 90th percentile."
    )


class ReportOutcomesSerializer(serializers.Serializer):
    approved = serializers.IntegerField()
    rejected = serializers.IntegerField()
    returned = serializers.IntegerField(help_text="Returned for changes (a step, not a decision).")
    automatic = serializers.IntegerField(
        help_text="Of the approvals and rejections, those taken by the committee's automatic policy."
    )


class ReportDisagreementSerializer(serializers.Serializer):
    request = serializers.CharField(help_text="The request's reference, TSR-AR-…")
    dataset = serializers.CharField(help_text="The dataset's accession.")
    verdict = serializers.ChoiceField(choices=["approve", "deny"])
    committee = serializers.ChoiceField(choices=["approved", "not approved"])
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    decided_at = serializers.DateTimeField()
    automatic = serializers.BooleanField()
    engine_version = serializers.CharField()
    rules = serializers.CharField(help_text="The consent rules that fired: term: outcome; …")


class ReportAgreementSerializer(serializers.Serializer):
    agreed = serializers.IntegerField(
        help_text="Datasets approved on a verdict approve, or not approved on a verdict deny."
    )
    disagreed = serializers.IntegerField(help_text="The other way round.")
    rate = serializers.FloatField(allow_null=True, help_text="agreed / (agreed + disagreed).")
    review_verdicts_approved = serializers.IntegerField(
        help_text="Verdict review (a person's judgement), dataset approved."
    )
    review_verdicts_not_approved = serializers.IntegerField()
    disagreements_listed = serializers.IntegerField(
        help_text=f"How many disagreements follow (the latest {reports.DISAGREEMENTS_LISTED})."
    )
    disagreements = ReportDisagreementSerializer(many=True)


class ReportNowSerializer(serializers.Serializer):
    grants_active = serializers.IntegerField(help_text="Not revoked and within their dates.")
    grants_ending_soon = serializers.IntegerField(
        help_text="Of those, ending within the days below."
    )
    ending_soon_days = serializers.IntegerField()
    reviews_open = serializers.IntegerField()
    reviews_overdue = serializers.IntegerField(
        help_text="Open for decision past the service level."
    )


class ReportMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    received = serializers.IntegerField()
    decided = serializers.IntegerField()


class CommitteeReportSerializer(serializers.Serializer):
    committee = ReportCommitteeSerializer()
    period = ReportPeriodSerializer()
    generated_at = serializers.DateTimeField(help_text='When the figures under "now" were read.')
    requests = ReportRequestsSerializer()
    days_to_decision = ReportDaysSerializer()
    outcomes = ReportOutcomesSerializer()
    consent_agreement = ReportAgreementSerializer()
    now = ReportNowSerializer()
    by_month = ReportMonthSerializer(many=True)


class CommitteeReportView(APIView):
    renderer_classes = [JSONRenderer, ReportCSVRenderer]
    # A token reads reports with their own scope; the person's role decides which.
    required_scopes = [REPORTS_READ]
    # A refusal (403/404) is recorded in the ledger, bounded (core/api.py), as the workspace's.
    refusals_recorded = {"get": "committee.report"}

    @extend_schema(
        operation_id="committee_report",
        summary="A committee's report for a period (members, stewards of its datasets, auditors)",
        description="Requests received, decided and withdrawn; days to decision; outcomes; "
        "agreement with the automatic consent verdict and the disagreements; grants and "
        "overdue reviews now. See docs/committee-reports.md for each figure's definition. "
        "`format=csv` gives the same figures as two columns, figure and value.",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, required=True, description="First day (YYYY-MM-DD)."
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                required=True,
                description=f"Last day (YYYY-MM-DD), at most {reports.MAX_PERIOD_YEARS} years "
                "after the first.",
            ),
            OpenApiParameter("format", str, enum=["json", "csv"], description="Default json."),
        ],
        responses={
            (200, "application/json"): CommitteeReportSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
            400: OpenApiResponse(description="A date missing or malformed, or a bad period."),
            404: OpenApiResponse(description="No such committee, or not yours to read."),
        },
    )
    def get(self, request, slug: str):
        committee = reports.committee_for_report(request.user, slug)
        period = reports.report_period(request.query_params)
        report = reports.committee_report(committee=committee, period=period)
        response = Response(report)
        if (
            getattr(request, "accepted_renderer", None)
            and request.accepted_renderer.format == "csv"
        ):
            name = f"report-{committee.slug}-{period.first}-{period.last}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
