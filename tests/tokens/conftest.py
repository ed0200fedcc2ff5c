"""The token tests build drafts and grants (tests/access_world.py): their uploads go to
tmp_path as in tests/access."""

from tests.access.conftest import _media  # noqa: F401 (autouse: uploads go to tmp_path)
