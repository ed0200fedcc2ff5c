"""The refusal hierarchy: each is also the Django exception it replaces, and says the same to
the API, the portal and the admin."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from access.lifecycle import AnswersLocked, TransitionRefused
from core.exceptions import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    add_form_errors,
    refusal,
    refusal_text,
)
from governance.consent import ConsentInputError
from governance.matching import MatchingError


def test_each_refusal_is_also_the_django_exception_that_meant_the_same():
    assert isinstance(Invalid("bad"), ValidationError)
    assert isinstance(Forbidden("no"), PermissionDenied)
    assert isinstance(NotFound("gone"), Http404)
    for error in (Invalid("bad"), Forbidden("no"), NotFound("gone"), Conflict("not now")):
        assert isinstance(error, ServiceError)
    assert [e.status for e in (Invalid(), Forbidden(), NotFound(), Conflict())] == [
        400,
        403,
        404,
        409,
    ]


def test_the_apps_own_refusals_are_in_the_hierarchy():
    assert issubclass(TransitionRefused, Conflict)
    assert issubclass(ConsentInputError, Invalid) and issubclass(ConsentInputError, ValueError)
    assert issubclass(MatchingError, Invalid) and issubclass(MatchingError, ValueError)
    locked = AnswersLocked(fields=["country"], committees=["Leeds DAC"])
    assert locked.body()["fields"] == ["country"]


def test_bad_input_by_field_names_the_fields_in_the_api_body():
    error = Invalid({"reason": "Say why.", "__all__": "Not like this."})
    assert error.body() == {"reason": ["Say why."], "non_field_errors": ["Not like this."]}
    assert Invalid("Say why.").body() == {"detail": ["Say why."]}
    assert str(error) == "reason: Say why.; __all__: Not like this."


def test_djangos_own_exceptions_are_read_as_refusals():
    assert isinstance(refusal(ValidationError({"a": "b"})), Invalid)
    assert refusal(PermissionDenied()).body() == {
        "detail": "You do not have permission to perform this action."
    }
    assert refusal(RuntimeError("boom")) is None


def test_a_consent_input_error_keeps_its_own_wording():
    error = ConsentInputError({"": "Say something.", "region": "Not a country."})
    assert str(error) == "input: Say something.; region: Not a country."
    assert error.errors == {"": "Say something.", "region": "Not a country."}


def test_a_form_gets_field_errors_next_to_their_field_and_the_rest_on_top():
    class Reason(forms.Form):
        reason = forms.CharField(required=False)

    form = Reason(data={})
    form.is_valid()
    add_form_errors(form, Invalid({"reason": "Say why.", "other": "Elsewhere."}))
    assert form.errors == {"reason": ["Say why."], "__all__": ["Elsewhere."]}
    form = Reason(data={})
    form.is_valid()
    add_form_errors(form, Conflict("Already revoked."))
    assert form.errors == {"__all__": ["Already revoked."]}
    assert refusal_text(Forbidden()) == "You do not have permission to perform this action."
