"""Hostile input gets a 4xx, never a 500, on every kind of endpoint, signed in or not: JSON nested
a thousand deep, NUL characters wherever text comes in (fields, multipart, headers, cookies,
Basic credentials), and the API answers in JSON. (Far dates: tests/access/test_date_bounds.py;
upload names: tests/access/test_upload_names.py; every route at once, on PostgreSQL:
tests/test_bad_input_fuzz.py.)"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from access.models import AccessRequest
from governance import selectors
from tests import factories

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
NUL = "\x00"
PDF = b"%PDF-1.4\n%%EOF\n"

# (path, what it is): each kind of endpoint that takes a JSON body.
JSON_API = [
    "/api/v1/access-requests/",
    "/api/v1/consent/evaluate",
    "/api/v1/tokens/",
    "/api/v1/tokens/introspect",
]
OTHER_PATHS = ["/accounts/login/", "/admin/login/", "/requests/new/", "/datasets/", "/o/token/"]


@pytest.fixture(params=["anonymous", "researcher"])
def client(request, db):
    client = Client()
    if request.param == "researcher":
        client.force_login(factories.user("researcher"))
    return client


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def assert_json_400(response):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()


# --- deeply nested JSON -------------------------------------------------------------------------
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
@pytest.mark.parametrize("path", JSON_API)
def test_deep_json_to_the_api_is_a_json_400(client, path, body):
    response = client.post(path, body, content_type="application/json")
    if response.status_code in (401, 403):
        return  # refused before the body is read (anonymous): no parsing, no 500
    assert_json_400(response)


@pytest.mark.parametrize("path", OTHER_PATHS)
def test_deep_json_to_any_other_path_is_not_a_server_error(client, path):
    response = client.post(path, DEEP, content_type="application/json")
    assert response.status_code < 500


def test_deep_json_in_the_catalogue_purpose_parameter_is_a_json_400(client, dataset):
    response = client.get("/api/v1/datasets/", {"purpose": DEEP})
    assert_json_400(response)
    assert "purpose" in response.json()


def test_json_nested_within_the_limit_is_still_read(client, dataset):
    nested = '{"diseases": ["DOID:1324"], "x": ' + "[" * 20 + "]" * 20 + "}"
    response = client.get("/api/v1/datasets/", {"purpose": nested})
    assert response.status_code in (200, 400)
    assert "nested deeper" not in response.content.decode()


def test_deep_json_with_a_nul_inside_is_refused_not_crashed(client):
    body = "[" * 1000 + '"\\u0000"' + "]" * 1000
    response = client.post("/api/v1/consent/evaluate", body, content_type="application/json")
    assert response.status_code in (400, 403)


@pytest.mark.parametrize(
    ("path", "json_answer"), [("/api/v1/datasets/", True), ("/datasets/", False)]
)
def test_a_recursion_error_anywhere_is_a_400(client, dataset, monkeypatch, path, json_answer):
    def recurse(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(selectors, "dataset_list_public", recurse)
    response = client.get(path)
    assert response.status_code == 400
    if json_answer:
        assert_json_400(response)


# --- NUL characters -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/datasets/", {"q": f"lung{NUL}"}),
        ("/datasets/", {"disease": f"can{NUL}cer"}),
        ("/diseases/", {"q": f"ca{NUL}"}),
        ("/api/v1/datasets/", {"search": f"lung{NUL}"}),
    ],
)
def test_nul_in_a_search_box_is_a_400(client, path, query):
    response = client.get(path, query)
    assert response.status_code == 400
    assert next(iter(query)) in response.content.decode()


def test_nul_in_the_request_forms_search_box_is_a_400(client):
    response = client.get("/requests/diseases.json", {"q": f"ca{NUL}ncer"})
    assert response.status_code in (302, 400)  # anonymous: sent to the login page first


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/admin/login/", "/api/v1/access-requests/", "/requests/new/"]
)
def test_nul_in_a_multipart_form_field_is_a_400(client, path):
    response = client.post(
        path,
        {"username": f"res{NUL}earcher", "password": "demo", "title": f"T{NUL}"},
    )
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert_json_400(response)


def test_nul_in_the_name_of_a_multipart_file_field_is_a_400(client):
    upload = SimpleUploadedFile("approval.pdf", PDF, "application/pdf")
    response = client.post("/api/v1/consent/evaluate", {f"docu{NUL}ment": upload})
    assert_json_400(response)


def test_nul_inside_an_uploaded_file_is_left_alone(client):
    upload = SimpleUploadedFile("approval.pdf", PDF + b"\x00\x00", "application/pdf")
    response = client.post("/api/v1/consent/evaluate", {"document": upload})
    assert "Null characters" not in response.content.decode()


def _multipart(fields: dict) -> tuple[bytes, str]:
    return encode_multipart(BOUNDARY, fields), MULTIPART_CONTENT


def _urlencoded(fields: dict) -> tuple[str, str]:
    return urlencode(fields), "application/x-www-form-urlencoded"


@pytest.mark.parametrize("encode", [_multipart, _urlencoded], ids=["multipart", "urlencoded"])
def test_nul_in_a_patch_form_body_is_refused_before_any_lookup(researcher_draft, encode):
    # A dataset is looked up by accession before any field validation: on PostgreSQL a NUL
    # there was a DataError (first seen with the team's usernames, which the API no longer
    # takes). Django parses form bodies of POSTs only; PATCHes are read here too.
    client = Client()
    client.force_login(researcher_draft.applicant)
    body, content_type = encode({"datasets": f"TSR-DS-{NUL}000001"})
    response = client.patch(
        f"/api/v1/access-requests/{researcher_draft.pk}/", body, content_type=content_type
    )
    assert_json_400(response)
    assert response.json() == {"datasets": ["Null characters are not allowed."]}


@pytest.mark.parametrize("encode", [_multipart, _urlencoded], ids=["multipart", "urlencoded"])
def test_a_clean_patch_form_body_still_reaches_the_view(researcher_draft, encode):
    client = Client()
    client.force_login(researcher_draft.applicant)
    body, content_type = encode({"title": "Renamed"})
    response = client.patch(
        f"/api/v1/access-requests/{researcher_draft.pk}/", body, content_type=content_type
    )
    assert response.status_code == 200, response.content
    assert AccessRequest.objects.get(pk=researcher_draft.pk).title == "Renamed"


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_REQUESTED_WITH": f"x{NUL}"},
        {"HTTP_COOKIE": f"csrftoken=a{NUL}b"},
        {"HTTP_COOKIE": f"sessionid=a{NUL}b"},
        {"HTTP_AUTHORIZATION": f"Bearer a{NUL}b"},
        {"HTTP_USER_AGENT": f"fuzz{NUL}"},
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/datasets/", "/datasets/", "/admin/"])
def test_nul_in_a_header_or_cookie_is_a_400(client, path, headers):
    response = client.get(path, **headers)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert_json_400(response)


@pytest.mark.parametrize("path", ["/o/token/", "/o/revoke_token/", "/api/v1/tokens/introspect"])
@pytest.mark.parametrize(
    "credentials",
    [f"client{NUL}:secret", f"client:sec{NUL}ret", "client%00:secret", f"{NUL}:{NUL}"],
)
def test_nul_in_basic_credentials_is_a_json_400(client, path, credentials):
    response = client.post(
        path,
        {"grant_type": "client_credentials", "token": "x"},
        HTTP_AUTHORIZATION=basic(credentials),
    )
    assert_json_400(response)


def test_oauth_errors_keep_the_rfc_6749_shape(client):
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(f"a{NUL}:b")
    )
    assert response.json()["error"] == "invalid_request"


def test_ordinary_basic_credentials_still_reach_the_token_endpoint(client):
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic("nobody:x")
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.fixture
def researcher_draft(db, dataset):
    applicant = factories.user("applicant")
    draft = AccessRequest.objects.create(applicant=applicant, title="Draft")
    draft.datasets.add(dataset)
    return draft


def test_an_action_with_a_format_suffix_is_a_404_not_a_type_error(researcher_draft):
    client = Client()
    client.force_login(researcher_draft.applicant)
    response = client.post(f"/api/v1/access-requests/{researcher_draft.pk}/submit.json/")
    assert response.status_code == 404
