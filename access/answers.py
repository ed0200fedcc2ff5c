"""The answers an access request holds, named once: the services, the portal form, the API, the
admin's review page, the lifecycle's locked answers and the consent engine's purpose derive their
lists from these. Their labels are the model fields' `verbose_name`s, never a list of their own.

Pure: no database, so `access.lifecycle` can import it.
"""

from __future__ import annotations

from governance.matching import PURPOSE_FLAGS as ENGINE_PURPOSE_FLAGS
from governance.matching import SENSITIVE_FLAGS as ENGINE_SENSITIVE_FLAGS

# The engine's flag that a request does not ask: it is true while the request's ethics
# reference is given and its expiry not passed (`access.matching.purpose_for_request`).
ETHICS_FLAG = "ethics_approval"
# The research purpose's yes/no answers: each is a BooleanField of `AccessRequest` named as the
# engine's flag it feeds.
PURPOSE_FLAGS: tuple[str, ...] = tuple(f for f in ENGINE_PURPOSE_FLAGS if f != ETHICS_FLAG)
# Those of them that mark sensitive research: the engine sends each to a committee, and the
# form and the review page show them apart.
SENSITIVE_FLAGS: tuple[str, ...] = tuple(ENGINE_SENSITIVE_FLAGS)
# The research purpose besides its diseases (a relation): the flags and the free text, which
# feeds the engine's `other`.
PURPOSE_ANSWERS: tuple[str, ...] = (*PURPOSE_FLAGS, "other_purpose")
ETHICS_ANSWERS: tuple[str, ...] = ("ethics_reference", "ethics_expiry", "ethics_document")
# Every answer the services accept in `data`; the relations (datasets, diseases, team members)
# are passed as arguments of their own.
REQUEST_FIELDS: tuple[str, ...] = (
    "title",
    "lay_summary",
    "scientific_abstract",
    *PURPOSE_ANSWERS,
    "country",
    "requested_months",
    "institution",
    *ETHICS_ANSWERS,
)
