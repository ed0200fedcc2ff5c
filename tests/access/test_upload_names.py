"""Uploaded ethics approvals are stored under the extension of their sniffed type, never the
client's, so a hostile file name can neither break the upload nor choose how it is stored; and
the JSON API answers an unreadable request in JSON."""

from __future__ import annotations

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from access.models import AccessRequest, ethics_upload_path
from access.services import requests as request_services

from .test_portal import PDF, form_data

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
LONG_EXTENSION = "x." + "a" * 95


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stored_name(access_request: AccessRequest) -> str:
    access_request.refresh_from_db()
    return access_request.ethics_document.name


def api_create(client, dataset, upload):
    return client.post(
        "/api/v1/access-requests/",
        {"title": "Uploads", "datasets": [dataset.accession], "ethics_document": upload},
    )


def test_a_95_character_extension_from_the_api_is_stored_as_pdf(researcher, dataset, agreement):
    response = api_create(
        client_for(researcher), dataset, SimpleUploadedFile(LONG_EXTENSION, PDF, "application/pdf")
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    name = stored_name(AccessRequest.objects.get(pk=response.json()["id"]))
    assert name.startswith("ethics/")
    assert name.endswith(".pdf")
    assert "aaaa" not in name


@pytest.mark.parametrize(
    ("client_name", "content", "stored_extension"),
    [
        ("scan.pdf", PNG, ".png"),
        ("approval.exe", PDF, ".pdf"),
        ("approval", PDF, ".pdf"),
        ("../../../../etc/passwd.pdf", PNG, ".png"),
    ],
)
def test_the_stored_extension_is_the_sniffed_types(
    researcher, dataset, agreement, client_name, content, stored_extension
):
    response = api_create(
        client_for(researcher), dataset, SimpleUploadedFile(client_name, content, "text/plain")
    )
    assert response.status_code == 201, response.content
    name = stored_name(AccessRequest.objects.get(pk=response.json()["id"]))
    assert name.startswith("ethics/")
    assert name.endswith(stored_extension)
    assert ".." not in name


def test_the_portal_form_stores_the_sniffed_extension(researcher, dataset, agreement):
    data = form_data([dataset])
    data["ethics_document"] = SimpleUploadedFile(LONG_EXTENSION, PDF, "application/pdf")
    response = client_for(researcher).post(reverse("access:request-create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    name = stored_name(AccessRequest.objects.get())
    assert name.endswith(".pdf")
    assert "aaaa" not in name


def test_a_client_extension_never_reaches_storage_even_past_the_checks():
    assert ethics_upload_path(None, LONG_EXTENSION).endswith(".bin")
    assert ethics_upload_path(None, "approval.PDF").endswith(".pdf")
    assert ethics_upload_path(None, "approval.html").endswith(".bin")


def test_an_unreadable_api_request_is_a_json_400_not_django_s_html_page(researcher, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = client_for(researcher).post(
        "/api/v1/access-requests/", {f"field{i}": "x" for i in range(20)}
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()


def test_a_suspicious_operation_in_an_api_view_is_a_json_400(
    researcher, dataset, agreement, monkeypatch
):
    def refuse(**kwargs):
        raise SuspiciousFileOperation("Detected path traversal attempt in '/etc/passwd'")

    monkeypatch.setattr(request_services, "request_create", refuse)
    response = client_for(researcher).post(
        "/api/v1/access-requests/",
        {"title": "x", "datasets": [dataset.accession]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The request could not be read."}
