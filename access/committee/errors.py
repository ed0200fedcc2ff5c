"""What the committee's workspace adds to the project's refusal handling.

A service refuses with a `core.exceptions` error (`REFUSALS`); the workspace shows it as an error
on the form (`core.exceptions.add_form_errors`) or a message on the page (`refusal_text`), never
as a 500, and a refused person (404 for a review they may not see, 403 where a service said no)
goes to the ledger (`record_refusal`). A custom view asked with the wrong method answers 405.
"""

from __future__ import annotations

from audit.refusals import access_refused_record


class MethodNotAllowed(Exception):
    """Raised by a custom admin view after its 404 check; answered with a 405."""


def record_refusal(request, action: str, status: int) -> None:
    """A refused committee action or review page, in the ledger (bounded, audit/refusals.py):
    a 404 for a review the person may not see, 403 where a service refused the person."""
    access_refused_record(
        who=request.user,
        action=f"admin.{action}",
        method=request.method,
        path=request.path,
        status=status,
    )
