"""The portal catalogue matches a stated research purpose against every listed dataset."""

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue_world(committee, organisation):
    lung = factories.dataset(
        committee=committee,
        controller=organisation,
        title="Lung cancer cohort",
        consent_scope=factories.consent_scope("DS", diseases=["DOID:1324"]),
    )
    heart = factories.dataset(
        committee=committee,
        controller=organisation,
        title="Heart failure cohort",
        consent_scope=factories.consent_scope("DS", diseases=["DOID:114"]),
    )
    noncommercial = factories.dataset(
        committee=committee,
        controller=organisation,
        title="Non-commercial archive",
        consent_scope=factories.consent_scope("GRU", modifiers=["NCU"]),
    )
    return lung, heart, noncommercial


def test_each_dataset_shows_whether_it_fits_with_reasons(client, catalogue_world):
    page = client.get(
        "/datasets/", {"p-diseases": "DOID:1324", "p-commercial": "on"}
    ).content.decode()
    assert "Title, and whether it fits your purpose" in page
    assert page.count("Does not fit") == 2  # heart (other disease), non-commercial (NCU)
    assert page.count(">Fits<") == 1
    assert "non-commercial" in page.lower()


def test_each_verdict_stands_in_its_own_datasets_row(client, catalogue_world):
    lung, heart, noncommercial = catalogue_world
    page = client.get(
        "/datasets/", {"p-diseases": "DOID:1324", "p-commercial": "on"}
    ).content.decode()
    rows = {
        dataset: next(row for row in page.split("<tr>") if f">{dataset.accession}<" in row)
        for dataset in (lung, heart, noncommercial)
    }
    assert ">Fits<" in rows[lung] and "Does not fit" not in rows[lung]
    assert "Does not fit" in rows[heart] and ">Fits<" not in rows[heart]
    assert "Does not fit" in rows[noncommercial]


def test_disease_may_be_given_by_exact_name(client, catalogue_world):
    page = client.get(
        "/datasets/", {"p-diseases": "lung cancer", "p-match": "approve"}
    ).content.decode()
    assert "Lung cancer cohort" in page and "Heart failure cohort" not in page


def test_only_fitting_datasets_can_be_listed(client, catalogue_world):
    page = client.get(
        "/datasets/", {"p-diseases": "DOID:114", "p-match": "approve"}
    ).content.decode()
    assert "Heart failure cohort" in page and "Lung cancer cohort" not in page


def test_unknown_disease_is_an_error_next_to_the_field_not_a_500(client, catalogue_world):
    response = client.get("/datasets/", {"p-diseases": "DOID:99999999"})
    assert response.status_code == 200
    assert "No disease “DOID:99999999”" in response.content.decode()
    assert "Lung cancer cohort" not in response.content.decode()


def test_bad_country_is_named(client, catalogue_world):
    response = client.get("/datasets/", {"p-country": "ZZ", "p-methods_development": "on"})
    assert response.status_code == 200
    assert "Choose the country from the list." in response.content.decode()


def test_matching_costs_a_constant_number_of_queries(
    client, committee, organisation, django_assert_max_num_queries
):
    def add(count, prefix, permission, **scope):
        for i in range(count):
            factories.dataset(
                committee=committee,
                controller=organisation,
                title=f"{prefix}{i}",
                consent_scope=factories.consent_scope(permission, **scope),
            )

    add(3, "A", "DS", diseases=["DOID:1324"])
    with django_assert_max_num_queries(20) as few:
        client.get("/datasets/", {"p-diseases": "DOID:162"})
    add(12, "B", "HMB", modifiers=["NCU"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/datasets/", {"p-diseases": "DOID:162"})


@pytest.fixture
def eu_only(committee, organisation):
    return factories.dataset(
        committee=committee,
        controller=organisation,
        title="EU-only cohort",
        consent_scope=factories.consent_scope("GRU", modifiers=["GS"], region=["EU"]),
    )


def test_the_country_is_chosen_by_name_and_matched_by_its_code(client, eu_only):
    page = client.get("/datasets/", {"p-country": "NL", "p-match": "approve"}).content.decode()
    assert '<option value="NL" selected>Netherlands</option>' in page
    assert "EU-only cohort" in page  # the Netherlands is inside the EU
    # Niger ("NE", what a two-letter box once kept of "Netherlands") is outside it
    page = client.get("/datasets/", {"p-country": "NE", "p-match": "approve"}).content.decode()
    assert "EU-only cohort" not in page


@pytest.mark.parametrize("typed", ["Netherlands", "netherlands", "nl", " The Netherlands "])
def test_a_typed_country_name_or_code_is_taken_not_cut(client, eu_only, typed):
    response = client.get("/datasets/", {"p-country": typed, "p-match": "approve"})
    page = response.content.decode()
    if typed.strip() == "The Netherlands":  # not a name on the list: refused, never guessed
        assert "Choose the country from the list." in page
        assert "EU-only cohort" not in page
    else:
        assert '<option value="NL" selected>Netherlands</option>' in page
        assert "EU-only cohort" in page
