"""Production settings: `check --deploy` is clean when the operator sets the required
environment, and the service refuses to start without a secret key. Each case runs Django in
a fresh process, because settings are read once at start-up."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.contrib.staticfiles import finders
from rest_framework.settings import api_settings

ROOT = Path(__file__).resolve().parent.parent
# Variables the test process may carry that would change what production settings read.
INHERITED = {
    "DEBUG",
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "CELERY_BROKER_URL",
    "CELERY_BROKER_URL_FILE",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "DJANGO_SETTINGS_MODULE",
    "AUDIT_SIGNING_KEY",
    "AUDIT_SIGNING_KEY_FILE",
    "TESSERA_KEY_ENCRYPTION_KEY",
    "TESSERA_KEY_ENCRYPTION_KEY_FILE",
    "TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS",
    "TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS_FILE",
    "TESSERA_TRUSTED_VISA_ISSUERS",
    "TESSERA_STAFF_MFA",
}


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "TESSERA_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "tessera.example.org",
            # Never contacted: `check` without --database does not open a connection.
            "DATABASE_URL": "postgres://tessera@db.invalid:5432/tessera",
            "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
            # Throwaway keys, generated per run: never real ones, never in the repo.
            "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "TESSERA_KEY_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "manage.py", *args], env=env)


def python(code: str, *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -c code` in the project, with only `env` as its environment."""
    return _run([sys.executable, "-c", code], env=env)


def _run(argv: list[str], *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, our own code
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_deploy_check_is_clean_with_the_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output and "ERRORS" not in output


def test_deploy_check_reads_the_secret_key_from_a_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(64) + "\n")
    env = production_env(SECRET_KEY=None, SECRET_KEY_FILE=str(key_file))
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_database_url_with_its_password_can_come_from_a_file(tmp_path):
    url_file = tmp_path / "database_url"
    url_file.write_text("postgres://tessera:s3cret@db.invalid:5432/tessera\n")
    env = production_env(DATABASE_URL=None, DATABASE_URL_FILE=str(url_file))
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; print(db['NAME'], db['PASSWORD'], db['HOST'])"
    )
    result = python(code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tessera s3cret db.invalid"


TRUSTED_VISA_ISSUERS = (
    "import django; django.setup(); from django.conf import settings; "
    "print(sorted(settings.TESSERA_TRUSTED_VISA_ISSUERS.items()))"
)


def test_production_reads_the_trusted_visa_issuers_and_refuses_a_plain_http_jku():
    ok = production_env(
        TESSERA_TRUSTED_VISA_ISSUERS="https://login.example.org/oidc/|https://login.example.org/jwk"
    )
    result = python(TRUSTED_VISA_ISSUERS, env=ok)
    assert result.returncode == 0, result.stderr
    assert "('https://login.example.org/oidc/', 'https://login.example.org/jwk')" in result.stdout
    plain = production_env(
        TESSERA_TRUSTED_VISA_ISSUERS="https://login.example.org/oidc/|http://login.example.org/jwk"
    )
    result = python(TRUSTED_VISA_ISSUERS, env=plain)
    assert result.returncode != 0
    assert "TESSERA_TRUSTED_VISA_ISSUERS" in result.stderr and "https" in result.stderr


STAFF_MFA = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.TESSERA_STAFF_MFA)"
)


def test_staff_mfa_is_on_in_production_unless_turned_off_and_off_in_development():
    on = python(STAFF_MFA, env=production_env())
    assert (on.returncode, on.stdout.strip()) == (0, "True"), on.stderr
    off = python(STAFF_MFA, env=production_env(TESSERA_STAFF_MFA="false"))
    assert (off.returncode, off.stdout.strip()) == (0, "False"), off.stderr
    development = production_env(TESSERA_ENV=None)
    dev = python(STAFF_MFA, env=development)
    assert (dev.returncode, dev.stdout.strip()) == (0, "False"), dev.stderr


KEYS_IN_USE = (
    "import base64, django; django.setup(); from tokens import keyring; from audit import signing; "
    "print(base64.b64encode(keyring.kek()).decode()); print(signing.signing_key().source); "
    "print(signing.public_key_raw_b64())"
)


def test_production_keys_can_come_from_files(tmp_path):
    kek = base64.b64encode(secrets.token_bytes(32)).decode()
    audit_key = Ed25519PrivateKey.generate()
    (tmp_path / "kek").write_text(kek + "\n")
    (tmp_path / "audit.pem").write_bytes(
        audit_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = production_env(
        AUDIT_SIGNING_KEY=None,
        AUDIT_SIGNING_KEY_FILE=str(tmp_path / "audit.pem"),
        TESSERA_KEY_ENCRYPTION_KEY=None,
        TESSERA_KEY_ENCRYPTION_KEY_FILE=str(tmp_path / "kek"),
    )
    assert manage("check", "--deploy", "--fail-level", "WARNING", env=env).returncode == 0
    result = python(KEYS_IN_USE, env=env)
    assert result.returncode == 0, result.stderr
    public = audit_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert result.stdout.split() == [
        kek,
        "AUDIT_SIGNING_KEY_FILE",
        base64.b64encode(public).decode(),
    ]


def test_production_refuses_to_start_with_a_secret_given_both_ways(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(64) + "\n")
    result = manage("check", env=production_env(SECRET_KEY_FILE=str(key_file)))
    assert result.returncode != 0
    assert "Both SECRET_KEY and SECRET_KEY_FILE are set" in result.stderr


def test_production_refuses_to_start_with_a_key_file_it_cannot_read(tmp_path):
    missing = tmp_path / "audit.pem"
    env = production_env(AUDIT_SIGNING_KEY=None, AUDIT_SIGNING_KEY_FILE=str(missing))
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"AUDIT_SIGNING_KEY_FILE names {missing}, which cannot be read" in result.stderr


def test_deploy_check_does_flag_a_weak_secret_key():
    # Proves the clean result above comes from a check that looks at what we set.
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(SECRET_KEY="short")
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_without_secret_key_refuses_to_start():
    result = manage("check", env=production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


PROBE = """
import django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="tessera.example.org")
for path in ("/healthz", "/api/v1/datasets/"):
    print(path, client.get(path).status_code)
"""


def test_health_probe_over_plain_http_is_answered_while_the_rest_redirects_to_https():
    result = subprocess.run(  # noqa: S603 - fixed argv, our own code
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["/healthz 200", "/api/v1/datasets/ 301"]


@pytest.mark.parametrize(
    "asset",
    [
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    ],
)
def test_swagger_ui_loads_its_assets_from_our_own_static_files(client, asset):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/static/{asset}" in html
    assert "cdn.jsdelivr.net" not in html
    assert finders.find(asset), f"{asset} is not among the static files"


def test_deploy_check_names_each_missing_production_key():
    env = production_env(AUDIT_SIGNING_KEY=None, TESSERA_KEY_ENCRYPTION_KEY=None)
    result = manage("check", "--deploy", env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "tessera.E001" in output and "AUDIT_SIGNING_KEY is not set" in output
    assert "tessera.E002" in output and "TESSERA_KEY_ENCRYPTION_KEY is not set" in output


@pytest.mark.parametrize("as_file", [False, True])
def test_retired_checkpoint_keys_come_from_the_environment_and_are_trusted(tmp_path, as_file):
    retired = [
        base64.b64encode(
            Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        ).decode()
        for _ in range(2)
    ]
    if as_file:
        keys_file = tmp_path / "previous_keys"
        keys_file.write_text("\n".join(retired) + "\n")
        env = production_env(AUDIT_PREVIOUS_PUBLIC_KEYS_FILE=str(keys_file))
    else:
        env = production_env(AUDIT_PREVIOUS_PUBLIC_KEYS=" , ".join(retired))
    code = (
        "import django; django.setup(); from audit import signing, verification; "
        "trusted = verification.trusted_public_keys(); "
        f"print(len(trusted), all(signing.key_id(k) in trusted for k in {retired!r}))"
    )
    result = python(code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3 True"


def test_production_api_renders_json_only_not_the_browsable_api():
    code = (
        "import django; django.setup(); from rest_framework.settings import api_settings; "
        "print([c.__name__ for c in api_settings.DEFAULT_RENDERER_CLASSES])"
    )
    result = python(code, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['JSONRenderer']"


def test_development_keeps_the_browsable_api():
    # Settings are read with DEBUG on in development (pytest turns DEBUG off only later).
    names = [c.__name__ for c in api_settings.DEFAULT_RENDERER_CLASSES]
    assert names == ["JSONRenderer", "BrowsableAPIRenderer"]


CSP_PROBE = """
import django
django.setup()
from django.test import Client
response = Client(HTTP_HOST="tessera.example.org").get("/accounts/login/", secure=True)
print(response.status_code)
print(response["Content-Security-Policy"])
"""


def test_production_sends_the_content_security_policy():
    result = python(CSP_PROBE, env=production_env())
    assert result.returncode == 0, result.stderr
    status, header = result.stdout.strip().split("\n")[-2:]
    assert status == "200"
    assert "default-src 'self'" in header and "frame-ancestors 'none'" in header
    assert "style-src 'self'" in header and "unsafe-inline" not in header


LOCKOUT_SETTINGS = """
import django
django.setup()
from django.conf import settings
print(settings.TESSERA_TRUSTED_PROXIES, settings.TESSERA_LOGIN_FAILURES_PER_ACCOUNT,
      settings.TESSERA_LOGIN_FAILURES_PER_ADDRESS, settings.AXES_COOLOFF_TIME)
"""


def test_trusted_proxies_and_lockout_limits_come_from_the_environment():
    env = production_env(
        TESSERA_TRUSTED_PROXIES="127.0.0.1,10.0.0.0/8",
        TESSERA_LOGIN_FAILURES_PER_ACCOUNT="3",
        TESSERA_LOGIN_FAILURES_PER_ADDRESS="50",
        TESSERA_LOGIN_COOL_OFF_MINUTES="30",
    )
    result = python(LOCKOUT_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['127.0.0.1', '10.0.0.0/8'] 3 50 0:30:00"
