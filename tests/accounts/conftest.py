"""The account tests build drafts and grants (tests/access_world.py): their uploads go to
tmp_path as in tests/access. And a real OpenID provider process for the sign-in tests."""

import pytest

from tests.access.conftest import _media  # noqa: F401 (autouse: uploads go to tmp_path)

from .oidc_support import configure, start_provider


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID provider process for the whole session (tests/accounts/oidc_support.py)."""
    provider = start_provider()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def oidc_provider_expired():
    """A second provider whose tokens (ID tokens included) expired ten minutes before they
    were issued (`--token-max-age=-600`): as close to a replayed, expired ID token as the mock
    allows, and signed with its own real key."""
    provider = start_provider("--token-max-age=-600")
    yield provider
    provider.stop()


@pytest.fixture
def oidc(settings, oidc_provider):
    """Tessera configured with the session's provider."""
    configure(settings, oidc_provider.url)
    return oidc_provider
