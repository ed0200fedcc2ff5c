"""The end of a project: the applicant's close-out (what became of the data, the results),
filed once every grant of the request has ended, read by its committees, and required by a
committee that says so (`DataAccessCommittee.requires_closeout`) before it accepts the same
applicant's next request (`requests.submission_problems`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import events
from core.exceptions import Invalid

from .. import selectors
from ..choices import DataDisposition
from ..lifecycle import TransitionRefused
from ..models import AccessRequest, CloseOut
from . import common

CLOSEOUT_FIELDS = ("data_disposition", "agreement", "results")
NOT_ENDED = (
    "A close-out is filed at the end of a project: once every grant of this request has ended "
    "(expired or revoked), or the request is closed."
)


def closeout_refusal(access_request: AccessRequest) -> str | None:
    """Why a close-out cannot be filed for this request now, or None (the applicant's right
    aside): one per request, and only once its project has ended."""
    filed = CloseOut.objects.filter(request_id=access_request.pk).first()
    if filed is not None:
        return (
            f"The close-out of {access_request.reference} was filed on {filed.filed_at:%d %b %Y}."
        )
    if not selectors.request_ended(access_request):
        return NOT_ENDED
    return None


def _clean(data: dict[str, Any]) -> dict[str, str]:
    unknown = set(data) - set(CLOSEOUT_FIELDS)
    if unknown:
        raise Invalid({f: "Not a field of a close-out." for f in sorted(unknown)})
    values = {f: str(data.get(f) or "").strip() for f in CLOSEOUT_FIELDS}
    errors = {}
    if values["data_disposition"] not in DataDisposition.values:
        errors["data_disposition"] = (
            "Say whether the data were deleted or are kept under an agreement."
        )
    elif values["data_disposition"] == DataDisposition.KEPT and not values["agreement"]:
        errors["agreement"] = "Name the agreement the data are kept under."
    elif values["data_disposition"] == DataDisposition.DELETED and values["agreement"]:
        errors["agreement"] = "Name an agreement only when the data are kept."
    if not values["results"]:
        errors["results"] = (
            "Say what the project found and list its publications (or say there are none yet)."
        )
    for name in ("agreement", "results"):
        limit = CloseOut._meta.get_field(name).max_length
        if len(values[name]) > limit:
            errors.setdefault(name, f"At most {limit} characters.")
    if errors:
        raise Invalid(errors)
    return values


@transaction.atomic
def closeout_file(*, access_request: AccessRequest, actor, data: dict[str, Any]) -> CloseOut:
    """File the close-out of a request's project: the applicant only, once, after every grant
    has ended (or the request is closed)."""
    # The reviews first (the lock order of common): no approval can add a grant between our
    # check that the project ended and the close-out saying so.
    common.lock_reviews_of(access_request)
    access_request = common.lock_request(access_request)
    common.require_applicant(access_request, actor)
    refusal = closeout_refusal(access_request)
    if refusal:
        raise TransitionRefused(refusal)
    closeout = CloseOut.objects.create(request=access_request, filed_by=actor, **_clean(data))
    events.closeout_filed(closeout=closeout, actor=actor)
    return closeout


def closeouts_due(access_request: AccessRequest, datasets=None) -> list[tuple[Any, list]]:
    """The committees of `datasets` (the request's, by default) that require close-outs
    (`requires_closeout`), each with the applicant's earlier projects with it that ended
    without one: these block a new request's submission, and a change adding their datasets."""
    if datasets is None:
        datasets = access_request.datasets.select_related("committee")
    requiring = {d.committee_id: d.committee for d in datasets if d.committee.requires_closeout}
    if not requiring:
        return []
    missing = selectors.closeouts_missing(
        access_request.applicant_id, requiring, exclude=access_request.pk
    )
    return [(requiring[cid], earlier) for cid, earlier in missing.items()]


def closeouts_due_text(due: list[tuple[Any, list]]) -> str:
    """`closeouts_due` in words, for the submission's problems."""
    return " ".join(
        f"{committee.name} requires a close-out of each ended project before it accepts a "
        f"new request: file the close-out of "
        f"{', '.join(f'{r.reference} “{r.title}”' for r in earlier)} first."
        for committee, earlier in due
    )
