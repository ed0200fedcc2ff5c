"""The portal's token page (issue 13, part 3): a GET goes to My access, a reload issues no new
token, the expiry is stated as a time, copy buttons come from a static script."""

# ruff: noqa: F401, F811  (fixtures are imported from token_support, then used as parameters)

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tokens.models import IssuedToken

from .token_support import api_client, grant, token_keys

pytestmark = pytest.mark.django_db


def _form_id(page: str) -> str:
    return re.search(r'name="form_id" value="([^"]+)"', page)[1]


def _token_in(html: str) -> str | None:
    found = re.search(r'<textarea id="token"[^>]*>([^<]+)</textarea>', html)
    return found[1].strip() if found else None


def test_a_get_goes_to_my_access_with_a_hint_and_issues_nothing(grant, researcher):
    client = api_client(researcher)
    response = client.get(reverse("tokens:grant-token", kwargs={"pk": grant.pk}), follow=True)
    assert response.redirect_chain == [(reverse("access:grant-list"), 302)]
    assert any("Get a token" in str(m) for m in get_messages(response.wsgi_request))
    assert not IssuedToken.objects.exists()


def test_a_reload_issues_no_new_token_and_says_so(grant, researcher):
    client = api_client(researcher)
    url = reverse("tokens:grant-token", kwargs={"pk": grant.pk})
    form_id = _form_id(client.get(reverse("access:grant-list")).content.decode())
    first = client.post(url, {"form_id": form_id})
    assert first.status_code == 200 and _token_in(first.content.decode())
    row = IssuedToken.objects.get()

    again = client.post(url, {"form_id": form_id})  # what the browser's reload sends
    html = again.content.decode()
    assert again.status_code == 200
    assert IssuedToken.objects.count() == 1
    assert _token_in(html) is None
    assert "no new token was issued" in html
    assert f"{row.expires_at:%H:%M} UTC" in html  # the first one's end, as a time

    # The page offers a fresh form: pressing it on purpose gets a new token.
    fresh = _form_id(html)
    assert fresh != form_id
    assert _token_in(client.post(url, {"form_id": fresh}).content.decode())
    assert IssuedToken.objects.count() == 2


def test_the_same_form_id_from_another_session_is_a_fresh_form(grant, researcher):
    url = reverse("tokens:grant-token", kwargs={"pk": grant.pk})
    first, second = api_client(researcher), api_client(researcher)
    form_id = _form_id(first.get(reverse("access:grant-list")).content.decode())
    assert _token_in(first.post(url, {"form_id": form_id}).content.decode())
    assert _token_in(second.post(url, {"form_id": form_id}).content.decode())


def test_every_visit_to_my_access_gives_a_new_form_id(grant, researcher):
    client = api_client(researcher)
    ids = {_form_id(client.get(reverse("access:grant-list")).content.decode()) for _ in range(3)}
    assert len(ids) == 3


def test_the_expiry_is_a_time_and_the_copy_buttons_use_a_static_script(grant, researcher):
    client = api_client(researcher)
    html = client.post(reverse("tokens:grant-token", kwargs={"pk": grant.pk})).content.decode()
    row = IssuedToken.objects.get()
    assert f"<strong>{row.expires_at:%H:%M} UTC</strong> on {row.expires_at:%-d %B %Y}" in html
    assert re.search(r"\(in \d+ minutes?\)", html)
    assert re.search(r'<button type="button"[^>]*data-copy="token" hidden>Copy the token', html)
    assert 'data-copy="curl-example"' in html and 'id="curl-example"' in html
    assert re.search(r'<script src="/static/copy-button\.js" defer></script>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "no inline script (CSP)"
    assert finders.find("copy-button.js")
    assert 'class="command"' in html  # the curl line wraps (static/access.css)
    css = Path(finders.find("access.css")).read_text(encoding="utf-8")
    assert re.search(r"\.command[^{]*\{[^}]*white-space: pre-wrap", css)
