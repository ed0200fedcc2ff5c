"""Every page carries a strict Content-Security-Policy, and nothing Tessera renders needs an
exception to it: no inline style, no inline script without the request's nonce. The browser
journey (tests/e2e) proves the portal and the admin work under it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The pages' templates. Mail bodies (templates/notifications/) are not served under the policy:
# mail programs ignore style sheets, so those templates style inline on purpose.
MAILS = ROOT / "templates" / "notifications"
TEMPLATES = sorted(p for p in (ROOT / "templates").rglob("*.html") if MAILS not in p.parents)
# Python that renders HTML (admin columns, format_html): application code, not tests.
PYTHON = sorted(
    p for app in ("access", "audit", "config", "governance") for p in (ROOT / app).rglob("*.py")
)

DIRECTIVES = {
    "default-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = (part.strip().partition(" ") for part in header.split(";") if part.strip())
    return {name: value for name, _, value in parts}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/catalogue/", "/accounts/login/", "/admin/login/"])
def test_pages_carry_the_strict_policy(client, path):
    directives = policy(client.get(path))
    for name, value in DIRECTIVES.items():
        assert directives[name] == value, name
    # The nonce appears only on a page that used it for an inline script; none does today.
    assert re.fullmatch(r"'self'( 'nonce-[A-Za-z0-9+/=]+')?", directives["script-src"])
    assert "unsafe-inline" not in " ".join(directives.values())
    assert "unsafe-eval" not in " ".join(directives.values())


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_style(template):
    text = template.read_text(encoding="utf-8")
    assert not re.search(r"\bstyle\s*=", text, re.IGNORECASE), "use a class in a static style sheet"
    assert not re.search(r"<style\b", text, re.IGNORECASE), "move the rules to static/"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_without_the_nonce(template):
    for attributes in SCRIPT_TAG.findall(template.read_text(encoding="utf-8")):
        assert "src=" in attributes or 'nonce="{{ CSP_NONCE }}"' in attributes, attributes
    assert not re.search(r"\bon[a-z]+\s*=\s*[\"']", template.read_text(encoding="utf-8")), (
        "inline event handlers cannot carry a nonce"
    )


def test_python_that_renders_html_has_no_inline_style():
    offenders = [
        str(p.relative_to(ROOT))
        for p in PYTHON
        if re.search(r"\bstyle=[\"']", p.read_text("utf-8"))
    ]
    assert offenders == []


@pytest.mark.django_db
def test_swagger_ui_loads_its_start_up_script_from_a_url(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    tags = SCRIPT_TAG.findall(html)
    assert tags and all("src=" in attributes for attributes in tags)
    assert "<style" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_request_form_script_is_a_static_file(client, researcher):
    client.force_login(researcher)
    html = client.get("/requests/new/").content.decode()
    assert "/static/request-form.js" in html
    assert all("src=" in attributes for attributes in SCRIPT_TAG.findall(html))


@pytest.mark.django_db
def test_oauth_consent_page_may_redirect_its_form_to_the_client(client, researcher):
    # Consent posts to /o/authorize/ and is redirected to the client's redirect URI: a
    # form-action of 'self' would block that redirect. Every other directive stays.
    client.force_login(researcher)
    directives = policy(client.get("/o/authorize/?client_id=unknown&response_type=code"))
    assert "form-action" not in directives
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
