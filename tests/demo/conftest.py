"""The access-request world of tests/access/conftest.py for the demo's storage client and
logins (they need a researcher's active grant; test_logins.py takes the token fixtures)."""

from tests.access.conftest import (  # noqa: F401 (fixtures)
    _media,
    agreement,
    draft,
    other_agreement,
    submitted,
    teammate,
)
