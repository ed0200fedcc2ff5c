"""Secrets come from NAME or the file NAME_FILE names, by one rule (core.secrets): stripped,
never both, an unreadable file refused by variable and path, never echoing a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.secrets import Secret, as_secret, read_secret, secret_text


def test_a_secret_given_inline_is_read_without_surrounding_whitespace():
    found = read_secret("API_TOKEN", environ={"API_TOKEN": "  s3cret\n"})
    assert found == Secret("s3cret", "API_TOKEN")
    assert found.origin == "API_TOKEN"


def test_a_secret_given_as_a_file_loses_its_trailing_newline_and_names_the_file(tmp_path):
    path = tmp_path / "api_token"
    path.write_text("s3cret\n")
    found = read_secret("API_TOKEN", environ={"API_TOKEN_FILE": str(path)})
    assert found.value == "s3cret"
    assert found.variable == "API_TOKEN_FILE"
    assert found.origin == f"API_TOKEN_FILE ({path})"


def test_a_secret_given_both_ways_is_refused_without_either_value(tmp_path):
    path = tmp_path / "api_token"
    path.write_text("from-the-file\n")
    environ = {"API_TOKEN": "from-the-variable", "API_TOKEN_FILE": str(path)}
    with pytest.raises(ImproperlyConfigured, match="Both API_TOKEN and API_TOKEN_FILE") as refused:
        read_secret("API_TOKEN", environ=environ)
    assert "from-the" not in str(refused.value)


def test_a_missing_secret_file_is_refused_naming_the_variable_and_path(tmp_path):
    path = tmp_path / "nowhere"
    with pytest.raises(ImproperlyConfigured, match=r"API_TOKEN_FILE names .*nowhere"):
        read_secret("API_TOKEN", environ={"API_TOKEN_FILE": str(path)})


def test_a_secret_file_that_cannot_be_read_is_refused(tmp_path):
    # A directory where the file should be (a mount gone wrong): open() fails whoever we are.
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        read_secret("API_TOKEN", environ={"API_TOKEN_FILE": str(tmp_path)})


def test_a_secret_file_that_is_not_text_is_refused_without_its_bytes(tmp_path):
    path = tmp_path / "api_token"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ImproperlyConfigured, match="not UTF-8") as refused:
        read_secret("API_TOKEN", environ={"API_TOKEN_FILE": str(path)})
    assert "binary" not in str(refused.value)


def test_a_blank_variable_counts_as_unset():
    assert read_secret("API_TOKEN", environ={}) is None
    assert read_secret("API_TOKEN", environ={"API_TOKEN": "  ", "API_TOKEN_FILE": ""}) is None
    assert secret_text("API_TOKEN", "fallback", environ={"API_TOKEN": " "}) == "fallback"


def test_a_blank_secret_file_is_refused_rather_than_falling_back_to_the_default(tmp_path):
    path = tmp_path / "database_url"
    path.write_text("\n")
    with pytest.raises(ImproperlyConfigured, match=r"DATABASE_URL_FILE names .* which is empty"):
        secret_text(
            "DATABASE_URL", "sqlite:///db.sqlite3", environ={"DATABASE_URL_FILE": str(path)}
        )


def test_secret_text_is_the_value_wherever_it_came_from(tmp_path):
    path = tmp_path / "api_token"
    path.write_text("from-the-file\n")
    assert secret_text("API_TOKEN", "fallback", environ={"API_TOKEN_FILE": str(path)}) == (
        "from-the-file"
    )
    assert secret_text("API_TOKEN", environ={"API_TOKEN": "inline"}) == "inline"


def test_the_value_stays_out_of_the_repr():
    assert "s3cret" not in repr(Secret("s3cret", "API_TOKEN"))


def test_a_plain_string_setting_counts_as_given_inline():
    assert as_secret(" s3cret ", "API_TOKEN") == Secret("s3cret", "API_TOKEN")
    kept = Secret("s3cret", "API_TOKEN_FILE", "/run/secrets/api_token")
    assert as_secret(kept, "API_TOKEN") is kept
    assert as_secret(None, "API_TOKEN") is None
    assert as_secret("", "API_TOKEN") is None


def test_settings_are_the_only_reader_of_secret_variables():
    # The key modules read settings; an environment lookup anywhere else would be a second rule.
    root = Path(__file__).resolve().parents[2]
    readers = [
        str(path.relative_to(root))
        for package in ("access", "audit", "config", "governance")
        for path in sorted((root / package).rglob("*.py"))
        if "os.environ.get(" in path.read_text(encoding="utf-8")
    ]
    assert readers == []
