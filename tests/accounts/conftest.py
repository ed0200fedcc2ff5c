"""The account tests build drafts and grants (tests/access_world.py): their uploads go to
tmp_path as in tests/access.
The OpenID provider process the sign-in tests use is in tests/conftest.py (the browser journey
signs in through it too)."""

from tests.access.conftest import _media  # noqa: F401 (autouse: uploads go to tmp_path)
