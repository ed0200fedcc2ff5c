"""Who the ledger names: a person's pseudonym, read through the user's `pseudonym` relation
(once per user object, not at all when a query brought it along), never an attribute stuck
onto the user."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from audit.actors import actor_for, pseudonym_for
from audit.choices import ActorKind
from audit.models import ActorPseudonym
from tests import factories

User = get_user_model()


def _fresh(user):
    return User.objects.get(pk=user.pk)


def test_a_person_is_named_by_the_same_pseudonym_from_any_copy_of_their_user(researcher):
    first = pseudonym_for(researcher)
    assert pseudonym_for(_fresh(researcher)) == first
    assert actor_for(_fresh(researcher)) == actor_for(researcher)
    assert (actor_for(researcher).id, actor_for(researcher).kind) == (first, ActorKind.USER)
    assert ActorPseudonym.objects.get(user=researcher).pseudonym == first


def test_a_person_named_for_the_first_time_gets_one_pseudonym_row(db):
    person = factories.user()
    assert not ActorPseudonym.objects.filter(user=person).exists()
    name = pseudonym_for(person)
    assert pseudonym_for(person) == pseudonym_for(_fresh(person)) == name
    assert list(ActorPseudonym.objects.filter(user=person).values_list("pseudonym", flat=True)) == [
        name
    ]


def test_the_events_of_one_action_read_the_pseudonym_once(researcher, django_assert_num_queries):
    pseudonym_for(researcher)
    user = _fresh(researcher)
    with django_assert_num_queries(1):
        names = {pseudonym_for(user), actor_for(user).id, pseudonym_for(user)}
    assert len(names) == 1


def test_a_first_naming_costs_what_get_or_create_costs(db, django_assert_num_queries):
    person = factories.user()
    # The read that finds no row, then the row's INSERT in a savepoint (SAVEPOINT, INSERT,
    # RELEASE); after that, nothing.
    with django_assert_num_queries(4):
        pseudonym_for(person)
    with django_assert_num_queries(0):
        pseudonym_for(person)


def test_a_user_loaded_with_its_pseudonym_is_named_without_a_query(
    researcher, django_assert_num_queries
):
    name = pseudonym_for(researcher)
    loaded = User.objects.select_related("pseudonym").get(pk=researcher.pk)
    with django_assert_num_queries(0):
        assert pseudonym_for(loaded) == actor_for(loaded).id == name


def test_a_user_reached_from_their_pseudonym_is_named_without_a_query(
    researcher, django_assert_num_queries
):
    # The passport endpoint finds its subject this way.
    name = pseudonym_for(researcher)
    row = ActorPseudonym.objects.select_related("user").get(pseudonym=name)
    with django_assert_num_queries(0):
        assert pseudonym_for(row.user) == name


def test_a_pseudonym_created_meanwhile_through_another_copy_is_the_one_used(db):
    person = factories.user()
    looked_earlier = _fresh(person)
    assert not hasattr(looked_earlier, "pseudonym")  # read now: no row yet, and it remembers
    name = pseudonym_for(_fresh(person))  # created through another copy of the user
    assert pseudonym_for(looked_earlier) == name
    assert ActorPseudonym.objects.filter(user=person).count() == 1


def test_naming_a_person_adds_no_attribute_to_their_user(researcher):
    user = _fresh(researcher)
    before = set(vars(user))
    pseudonym_for(user)
    actor_for(user)
    assert set(vars(user)) == before
