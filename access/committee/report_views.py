"""The committee reports in the workspace: `/admin/reports/` lists the committees whose reports
the person may read, `/admin/reports/<slug>/?from=…&to=…` shows one (the last twelve months
until a period is chosen) with its charts, its figures in tables, the disagreements with the
consent verdict, and links to the same report as CSV and JSON (the API's).

Who may read which report is `access.reports.committees_reportable_by`: any other committee is
a 404, as in the API. A bad period re-shows the form with what is wrong (400)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse

from core.exceptions import Invalid

from .. import reports
from .charts import Series, bar_chart
from .errors import record_refusal


def report_list_view(request, *, site: admin.AdminSite):
    context = {
        **site.each_context(request),
        "title": "Committee reports",
        "committees": list(reports.committees_reportable_by(request.user)),
    }
    return TemplateResponse(request, "admin/access/committee_reports.html", context)


def report_view(request, slug: str, *, site: admin.AdminSite):
    try:
        committee = reports.committee_for_report(request.user, slug)
    except Http404:
        record_refusal(request, "committee_report", 404)
        raise
    query = request.GET
    errors: dict[str, list[str]] = {}
    period = None
    if "from" in query or "to" in query:
        try:
            period = reports.report_period(query)
        except Invalid as exc:
            errors = exc.field_errors
    else:
        period = reports.default_period()
    context: dict[str, Any] = {
        **site.each_context(request),
        "title": f"Report: {committee.name}",
        "committee": committee,
        "errors": errors,
        "chosen": {
            "from": period.first.isoformat() if period else str(query.get("from", ""))[:10],
            "to": period.last.isoformat() if period else str(query.get("to", ""))[:10],
        },
        "max_years": reports.MAX_PERIOD_YEARS,
    }
    if period is not None:
        report = reports.committee_report(committee=committee, period=period)
        api = reverse("committee-report", kwargs={"slug": committee.slug})
        params = {"from": period.first.isoformat(), "to": period.last.isoformat()}
        context.update(
            report=report,
            charts=report_charts(report),
            json_url=f"{api}?{urlencode(params)}",
            csv_url=f"{api}?{urlencode({**params, 'format': 'csv'})}",
            queue_url=reverse("admin:access_review_changelist", current_app=site.name),
        )
    return TemplateResponse(
        request, "admin/access/committee_report.html", context, status=400 if errors else 200
    )


def report_charts(report: dict[str, Any]) -> list:
    """The page's three charts: received and decided by month, the outcomes, and the decisions
    against the consent verdict."""
    months = report["by_month"]
    outcomes, requests = report["outcomes"], report["requests"]
    agreement = report["consent_agreement"]
    return [
        bar_chart(
            key="months",
            title="Requests received and decided, by month",
            categories=[m["month"] for m in months],
            series=[
                Series("received", "chart-bar--received", [m["received"] for m in months]),
                Series("decided", "chart-bar--decided", [m["decided"] for m in months]),
            ],
        ),
        bar_chart(
            key="outcomes",
            title="Outcomes in the period",
            categories=["Approved", "Rejected", "Returned", "Withdrawn"],
            series=[
                Series(
                    "requests",
                    "chart-bar--outcome",
                    [
                        outcomes["approved"],
                        outcomes["rejected"],
                        outcomes["returned"],
                        requests["withdrawn"],
                    ],
                )
            ],
        ),
        bar_chart(
            key="agreement",
            title="Decisions against the automatic consent verdict, per dataset",
            categories=[
                "Agreed",
                "Disagreed",
                "Verdict review, approved",
                "Verdict review, not approved",
            ],
            series=[
                Series(
                    "datasets",
                    "chart-bar--agreement",
                    [
                        agreement["agreed"],
                        agreement["disagreed"],
                        agreement["review_verdicts_approved"],
                        agreement["review_verdicts_not_approved"],
                    ],
                )
            ],
        ),
    ]
