"""The identity provider's settings come from the environment (read once, so each case runs
Django in a fresh process, as tests/test_settings.py does)."""

from __future__ import annotations

import secrets

from tests.test_settings import manage, production_env, python

OIDC_VARIABLES = (
    "TESSERA_OIDC_ISSUER",
    "TESSERA_OIDC_CLIENT_ID",
    "TESSERA_OIDC_CLIENT_SECRET",
    "TESSERA_OIDC_CLIENT_SECRET_FILE",
    "TESSERA_OIDC_NAME",
    "TESSERA_OIDC_SCOPES",
)
READ = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(repr((s.TESSERA_OIDC_ISSUER, s.TESSERA_OIDC_CLIENT_ID, s.TESSERA_OIDC_CLIENT_SECRET, "
    "s.TESSERA_OIDC_NAME, s.TESSERA_OIDC_SCOPES)))"
)


def env(**overrides):
    return production_env(**{**dict.fromkeys(OIDC_VARIABLES), **overrides})


def test_unset_the_provider_is_off():
    result = python(READ, env=env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(("", "", "", "Life Science Login", "openid profile email"))


def test_the_provider_and_its_secret_file(tmp_path):
    secret = secrets.token_urlsafe(24)
    (tmp_path / "oidc").write_text(secret + "\n")
    result = python(
        READ,
        env=env(
            TESSERA_OIDC_ISSUER="https://login.aai.lifescience-ri.eu/oidc/",
            TESSERA_OIDC_CLIENT_ID="tessera",
            TESSERA_OIDC_CLIENT_SECRET_FILE=str(tmp_path / "oidc"),
            TESSERA_OIDC_NAME="LS Login",
            TESSERA_OIDC_SCOPES="openid email",
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(
        ("https://login.aai.lifescience-ri.eu/oidc/", "tessera", secret, "LS Login", "openid email")
    )


def test_an_issuer_without_client_credentials_or_openid_refuses_to_start():
    issuer = "https://login.example.org"
    result = manage("check", env=env(TESSERA_OIDC_ISSUER=issuer))
    assert result.returncode != 0
    assert "set TESSERA_OIDC_CLIENT_ID and TESSERA_OIDC_CLIENT_SECRET" in result.stderr
    result = manage("check", env=env(TESSERA_OIDC_ISSUER=issuer, TESSERA_OIDC_CLIENT_ID="x"))
    assert result.returncode != 0
    assert "set TESSERA_OIDC_CLIENT_ID and TESSERA_OIDC_CLIENT_SECRET" in result.stderr
    result = manage(
        "check",
        env=env(
            TESSERA_OIDC_ISSUER=issuer,
            TESSERA_OIDC_CLIENT_ID="x",
            TESSERA_OIDC_CLIENT_SECRET="y",
            TESSERA_OIDC_SCOPES="email",
        ),
    )
    assert result.returncode != 0
    assert "TESSERA_OIDC_SCOPES must include openid" in result.stderr
