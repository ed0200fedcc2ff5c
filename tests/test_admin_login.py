import pytest

pytestmark = pytest.mark.django_db


def test_admin_login_page_answers_anonymous_visitors(client):
    assert client.get("/admin/login/").status_code == 200


def test_admin_index_sends_anonymous_visitors_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_non_staff_user_cannot_use_the_admin(client, researcher):
    client.force_login(researcher)
    assert client.get("/admin/governance/dataset/").status_code == 302
