"""The access-request world of tests/access/conftest.py, for the token tests (a grant needs a
request, its committee's approval and its agreements)."""

from tests.access.conftest import (  # noqa: F401 (fixtures)
    _media,
    agreement,
    draft,
    other_agreement,
    other_chair,
    submitted,
    teammate,
)
