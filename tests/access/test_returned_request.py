"""A returned request (issue 13, part 3): the committee's questions and a reply box open the
request's page, the checklist has "Reply to the committee", and resubmission waits for a reply
written after the return."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from access.choices import ReviewStatus
from access.services import decisions as decision_services
from access.services import requests as request_services
from access.services import reviews as review_services
from core.exceptions import Invalid

from .test_portal import client_for, detail_url, flashes, text_of

pytestmark = pytest.mark.django_db

QUESTION = "Which cohort exactly, and who labels the slides?"


@pytest.fixture
def returned(submitted, other_chair, other_dataset):
    review = submitted.reviews.get(committee=other_dataset.committee)
    decision_services.decision_record(
        review=review, actor=other_chair, outcome="return", questions=QUESTION
    )
    return submitted


def reply(client, access_request, body="Cohort A; two pathologists label them."):
    return client.post(
        reverse("access:comment-add", kwargs={"pk": access_request.pk}),
        {"body": body, "from": "reply"},
    )


def checklist_item(html: str) -> str:
    return re.search(
        r'<li class="checklist__item[^"]*">\s*<span[^>]*>[^<]*</span>Reply to the committee.*?</li>',
        html,
        re.S,
    )[0]


def test_the_questions_and_the_reply_box_open_the_page(returned, researcher, other_committee):
    html = client_for(researcher).get(detail_url(returned)).content.decode()
    questions = html.index(QUESTION)
    box = html.index('id="reply"')
    datasets = html.index('<h2 id="datasets">')
    assert questions < datasets and box < datasets
    assert html.index('<h2 id="next-heading">') < questions
    assert f"{other_committee.name} returned the request with questions." in html
    assert re.search(r"Returned on <time[^>]*>\d{1,2} [A-Z][a-z]{2} \d{4}</time>", html)
    # One reply box on the page: the conversation points to it rather than repeating it.
    assert html.count('name="body"') == 1
    assert "the reply box at the top of the page" in html
    form = re.search(r'<div id="reply".*?</form>', html, re.S)[0]
    assert "csrfmiddlewaretoken" in form and 'name="from" value="reply"' in form


def test_the_checklist_says_reply_to_the_committee_until_a_reply(returned, researcher):
    client = client_for(researcher)
    html = client.get(detail_url(returned)).content.decode()
    item = checklist_item(html)
    assert "checklist__item--todo" in item and 'href="#reply"' in item
    assert "Everything needed is there" not in html

    response = reply(client, returned)
    assert response["Location"] == detail_url(returned) + "#reply"
    html = client.get(detail_url(returned)).content.decode()
    assert "checklist__item--done" in checklist_item(html)
    assert "Everything needed is there" in html
    assert "You have replied." in html


def test_resubmitting_without_a_reply_is_refused_with_a_link_to_the_reply_box(
    returned, researcher, other_dataset
):
    with pytest.raises(Invalid) as refused:
        request_services.request_resubmit(access_request=returned, actor=researcher)
    assert set(refused.value.field_errors) == {"reply"}
    client = client_for(researcher)
    response = client.post(reverse("access:request-resubmit", kwargs={"pk": returned.pk}))
    assert response["Location"] == detail_url(returned) + "#reply"
    message = next(m for m in flashes(response) if "not resubmitted" in m)
    assert f'<a href="{detail_url(returned)}#reply">Go to the reply box</a>' in message
    review = returned.reviews.get(committee=other_dataset.committee)
    assert review.status == ReviewStatus.RETURNED
    confirm = client.get(reverse("access:request-resubmit", kwargs={"pk": returned.pk}))
    assert (
        f'<a href="{detail_url(returned)}#reply">Reply to the committee' in confirm.content.decode()
    )


def test_after_a_reply_the_request_resubmits(returned, researcher, other_dataset):
    client = client_for(researcher)
    reply(client, returned)
    response = client.post(reverse("access:request-resubmit", kwargs={"pk": returned.pk}))
    assert any("Resubmitted" in m for m in flashes(response))
    review = returned.reviews.get(committee=other_dataset.committee)
    assert (review.status, review.round) == (ReviewStatus.RESUBMITTED, 2)


def test_a_message_written_before_the_return_is_no_reply(
    submitted, researcher, other_chair, other_dataset
):
    review_services.comment_add(access_request=submitted, actor=researcher, body="Any news?")
    review = submitted.reviews.get(committee=other_dataset.committee)
    decision_services.decision_record(
        review=review, actor=other_chair, outcome="return", questions=QUESTION
    )
    assert "reply" in request_services.submission_problems(submitted)


def test_a_second_return_needs_a_second_reply(returned, researcher, other_chair, other_dataset):
    review_services.comment_add(access_request=returned, actor=researcher, body="Cohort A.")
    request_services.request_resubmit(access_request=returned, actor=researcher)
    review = returned.reviews.get(committee=other_dataset.committee)
    decision_services.decision_record(
        review=review, actor=other_chair, outcome="return", questions="And the scanner?"
    )
    assert "reply" in request_services.submission_problems(returned)
    text = text_of(client_for(researcher).get(detail_url(returned)))
    assert "And the scanner?" in text


def test_a_team_member_reads_the_questions_without_a_reply_box(returned, teammate):
    html = client_for(teammate).get(detail_url(returned)).content.decode()
    assert QUESTION in html
    assert 'id="reply"' not in html
    assert "The applicant answers the committee's questions." in html


def test_a_draft_has_no_reply_item(draft, researcher):
    assert "reply" not in request_services.submission_problems(draft)
    assert (
        "Reply to the committee"
        not in client_for(researcher).get(detail_url(draft)).content.decode()
    )
