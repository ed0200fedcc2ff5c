"""The demo's storage client and logins need a researcher's active grant (tests/access_world.py;
test_logins.py takes the token fixtures): uploads go to tmp_path as in tests/access."""

from tests.access.conftest import _media  # noqa: F401 (autouse: uploads go to tmp_path)
