"""The access tests' own set-up (the access-request world itself is in tests/access_world.py):
uploads to a temporary folder for every test, and the submitted request's review by each
committee (the admin and its workspace)."""

from __future__ import annotations

import pytest

from .admin_support import approve_data, review_for, url


@pytest.fixture(autouse=True)
def _media(temporary_media):
    """Every test here may upload an ethics approval (make_draft): keep it in tmp_path."""


# --- the review of the submitted request, by each committee (the admin and its workspace) ---
@pytest.fixture
def review(submitted, committee):
    return review_for(submitted, committee)


@pytest.fixture
def other_review(submitted, other_committee):
    return review_for(submitted, other_committee)


@pytest.fixture
def approved(client, review, chair, dataset):
    client.force_login(chair)
    response = client.post(url("decide", review), approve_data(dataset))
    assert response.status_code == 302, response.content[:500]
    return review
