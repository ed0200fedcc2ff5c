"""Portal forms for access requests. They validate and shape input; services do every write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.text import capfirst

from core.exceptions import add_form_errors
from governance.choices import DatasetStatus, Ontology
from governance.countries import COUNTRY_CHOICES, COUNTRY_NAMES, country_code_for
from governance.models import Dataset, OntologyTerm

from .. import selectors
from ..answers import PURPOSE_FLAGS, REQUEST_FIELDS, SENSITIVE_FLAGS
from ..choices import DataDisposition, RequestStatus
from ..models import MAX_REQUESTED_MONTHS, AccessRequest, CloseOut
from ..services.team import REASON_MAX
from ..uploads import MAX_BYTES, check_ethics_document

# The answers a request form edits: every field the services accept except the upload, which
# the form handles separately.
ANSWER_FIELDS = [f for f in REQUEST_FIELDS if f != "ethics_document"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


# One checkbox for each purpose flag, labelled by the model (`verbose_name`).
PurposeFlagsForm = type(
    "PurposeFlagsForm",
    (forms.Form,),
    forms.fields_for_model(AccessRequest, fields=PURPOSE_FLAGS),
)


class AccessRequestForm(PurposeFlagsForm):
    """A draft's answers, its datasets (the cart) and its diseases. The team is not typed
    here: the applicant invites people by e-mail on the request's page (`InvitationForm`).

    Datasets and diseases are chosen with plain search buttons that post the whole form back
    (no JavaScript needed); `chosen_*` and the search results are rendered by the template as
    checkboxes, so nothing typed is lost on the round trip."""

    title = forms.CharField(label="Project title", max_length=300)
    lay_summary = forms.CharField(
        label="Lay summary",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the project is about, in words a member of the public understands.",
    )
    scientific_abstract = forms.CharField(
        label="Scientific abstract",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    datasets = forms.ModelMultipleChoiceField(
        label="Datasets",
        queryset=Dataset.objects.none(),  # set per form: selectors.dataset_cart_queryset
        to_field_name="accession",
        required=False,
        error_messages={
            "invalid_choice": "%(value)s is not in the catalogue.",
            "invalid_pk_value": "“%(pk)s” is not an accession.",
        },
    )
    dataset_q = forms.CharField(
        label="Find datasets to add",
        required=False,
        max_length=200,
        help_text="An accession such as TSR-DS-000001, or words from a title.",
    )
    diseases = forms.ModelMultipleChoiceField(
        label="Diseases",
        queryset=OntologyTerm.objects.filter(ontology=Ontology.DOID),
        to_field_name="curie",
        required=False,
        error_messages={"invalid_choice": "%(value)s is not a Human Disease Ontology term."},
    )
    disease_q = forms.CharField(
        label="Find a disease to add",
        required=False,
        max_length=100,
        help_text="A disease name such as “lung cancer”, or a DOID identifier such as DOID:1324.",
    )
    other_purpose = forms.CharField(
        label="Other purpose (always reviewed by a person)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Anything the choices above do not cover. A committee member always reads it; "
        "it cannot be checked automatically.",
    )
    # A list of names; the value sent is the ISO code. `clean_country` also takes a typed name
    # or code (a client without the list), and refuses anything else rather than cutting it.
    country = forms.CharField(
        label="Country where the data will be used",
        required=False,
        max_length=100,
        widget=forms.Select(choices=[("", "Not chosen yet"), *COUNTRY_CHOICES]),
    )
    requested_months = forms.IntegerField(
        label="Requested duration (months)",
        min_value=1,
        max_value=MAX_REQUESTED_MONTHS,
        initial=12,
        help_text=f"From 1 to {MAX_REQUESTED_MONTHS} months.",
        error_messages={
            "min_value": "Ask for at least 1 month.",
            "max_value": f"Ask for at most {MAX_REQUESTED_MONTHS} months.",
            "invalid": "Give a whole number of months.",
            "required": "Give the duration in months.",
        },
        widget=forms.NumberInput(attrs={"class": "input--short"}),
    )
    institution = forms.CharField(label="Institution", required=False, max_length=300)
    ethics_reference = forms.CharField(
        label="Ethics approval reference", required=False, max_length=200
    )
    ethics_expiry = forms.DateField(
        label="Ethics approval expires on",
        required=False,
        widget=DateInput(),
        input_formats=["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"],
        help_text="For example 2027-03-31.",
        error_messages={"invalid": "Give the date as year-month-day, for example 2027-03-31."},
        validators=AccessRequest._meta.get_field("ethics_expiry").validators,
    )
    ethics_document = forms.FileField(
        label="Ethics approval document",
        required=False,
        help_text=f"PDF, PNG or JPEG, at most {MAX_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
        ),
    )

    def __init__(
        self,
        *args,
        applicant,
        access_request: AccessRequest | None = None,
        locked: Iterable[str] = (),
        **kwargs,
    ):
        self.applicant = applicant
        self.access_request = access_request
        if access_request is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(access_request)
        super().__init__(*args, **kwargs)
        # The widget would list every dataset and disease; the template renders only the
        # chosen ones and the search results.
        self.fields["ethics_document"].widget = forms.FileInput(
            attrs=self.fields["ethics_document"].widget.attrs
        )
        if self.datasets_locked:
            del self.fields["datasets"]
            del self.fields["dataset_q"]
        else:
            self.fields["datasets"].queryset = selectors.dataset_cart_queryset(access_request)
        # Answers an approval relied on (`lifecycle.APPROVAL_FIELDS`, passed in while one
        # stands): shown disabled, never sent to the service, which would refuse them.
        self.locked = [f for f in self.fields if f in set(locked)]
        for name in self.locked:
            self.fields[name].disabled = True
        if "diseases" in self.locked:
            del self.fields["disease_q"]
        # A code stored before the list (e.g. "UK") is shown as it is, not silently dropped on
        # the next save: saving it again asks for a country from the list.
        stored = (self.initial.get("country") or "").strip()
        if stored and stored not in COUNTRY_NAMES:
            widget = self.fields["country"].widget
            widget.choices = [*widget.choices, (stored, f"{stored} (not a country code)")]

    def purpose_flags(self) -> list[forms.BoundField]:
        """The purpose flags' checkboxes but the sensitive ones, in `answers.PURPOSE_FLAGS` order."""
        return [self[name] for name in PURPOSE_FLAGS if name not in SENSITIVE_FLAGS]

    def sensitive_flags(self) -> list[forms.BoundField]:
        """The sensitive-research checkboxes (`matching.SENSITIVE_FLAGS`), asked on their own."""
        return [self[name] for name in SENSITIVE_FLAGS]

    @property
    def datasets_locked(self) -> bool:
        """A submitted request keeps its datasets (each committee reviews its own part)."""
        return self.access_request is not None and self.access_request.status != RequestStatus.DRAFT

    # --- the cart ---------------------------------------------------------------------------
    def _raw_list(self, name: str) -> list[str]:
        if self.is_bound:
            return [v for v in self.data.getlist(name) if v]
        initial = self.initial.get(name) or []
        return [getattr(v, "accession", None) or getattr(v, "curie", v) for v in initial]

    def chosen_datasets(self) -> list[Dataset]:
        if self.datasets_locked:
            return list(self.access_request.datasets.select_related("committee"))
        return selectors.datasets_for_cart(
            self._raw_list("datasets"), access_request=self.access_request
        )

    def chosen_diseases(self) -> list[OntologyTerm]:
        if "diseases" in self.locked:
            return list(self.access_request.diseases.order_by("label"))
        curies = self._raw_list("diseases")
        return list(
            OntologyTerm.objects.filter(ontology=Ontology.DOID, curie__in=curies).order_by("label")
        )

    def suppress_errors(self) -> None:
        """A search round trip shows the form as typed, without validating it yet."""
        self._errors = ErrorDict()
        self.cleaned_data = {}

    # --- validation -------------------------------------------------------------------------
    def clean_datasets(self):
        datasets = list(self.cleaned_data["datasets"])
        gone = [d.accession for d in datasets if d.status != DatasetStatus.PUBLISHED]
        if gone:
            raise ValidationError(
                "No longer in the catalogue: %(list)s. Untick it to continue.",
                params={"list": ", ".join(gone)},
            )
        return datasets

    def clean_country(self) -> str:
        value = self.cleaned_data["country"].strip()
        if not value or "country" in self.locked:  # locked: shown, never sent to the service
            return value
        code = country_code_for(value)
        if code is None:
            raise ValidationError("Choose the country from the list.")
        return code

    def clean_ethics_document(self):
        upload = self.cleaned_data.get("ethics_document")
        if upload:
            check_ethics_document(upload)
        return upload

    # --- to the services --------------------------------------------------------------------
    def service_kwargs(self) -> dict[str, Any]:
        data = {f: self.cleaned_data[f] for f in ANSWER_FIELDS if f not in self.locked}
        if self.cleaned_data.get("ethics_document") and "ethics_document" not in self.locked:
            data["ethics_document"] = self.cleaned_data["ethics_document"]
        kwargs: dict[str, Any] = {"data": data}
        if "diseases" not in self.locked:
            kwargs["diseases"] = self.cleaned_data["diseases"]
        if not self.datasets_locked:
            kwargs["datasets"] = self.cleaned_data["datasets"]
        return kwargs

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put a service's refusal next to the field it names (or at the top)."""
        add_form_errors(self, exc)


def initial_for(access_request: AccessRequest) -> dict[str, Any]:
    initial = {f: getattr(access_request, f) for f in ANSWER_FIELDS}
    initial["datasets"] = [d.accession for d in access_request.datasets.all()]
    initial["diseases"] = [d.curie for d in access_request.diseases.all()]
    return initial


class CommentForm(forms.Form):
    """The applicant's reply to the committees."""

    body = forms.CharField(
        label="Your reply to the committee",
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Write your reply before sending it."},
    )


class TeamDepartureForm(forms.Form):
    """The optional reason when a member leaves a team or is taken off it."""

    reason = forms.CharField(
        label="Reason (optional)",
        help_text="Recorded with the access that ends, and told to the member and the applicant.",
        max_length=REASON_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _closeout_label(name: str) -> str:
    return capfirst(CloseOut._meta.get_field(name).verbose_name)


class CloseOutForm(forms.Form):
    """The applicant's close-out at the end of a project (labels from the model); the service
    (`closeout_file`) checks it again and its field errors are shown here."""

    data_disposition = forms.ChoiceField(
        label=_closeout_label("data_disposition"),
        choices=DataDisposition.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Say whether the data were deleted or are kept under an agreement."
        },
    )
    agreement = forms.CharField(
        label=_closeout_label("agreement"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=CloseOut._meta.get_field("agreement").help_text,
    )
    results = forms.CharField(
        label=_closeout_label("results"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=CloseOut._meta.get_field("results").help_text,
        error_messages={
            "required": "Say what the project found and list its publications (or say there "
            "are none yet)."
        },
    )

    def add_service_errors(self, exc: BaseException) -> None:
        add_form_errors(self, exc)


class InvitationForm(forms.Form):
    """The applicant invites someone to the team by e-mail address."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        help_text="We send an invitation link there. Whoever opens it and signs in may accept.",
        error_messages={
            "required": "Give the e-mail address to invite.",
            "invalid": "Give a valid e-mail address.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class RenewalForm(forms.Form):
    """The applicant asks for more time on an approved request (`renewal_open`)."""

    months = forms.IntegerField(
        label="How many more months",
        min_value=1,
        max_value=MAX_REQUESTED_MONTHS,
        initial=12,
        help_text="Counted from the current end of your access. The committee may give less; "
        "access never lasts past your ethics approval or the dataset's retention end.",
        error_messages={
            "required": "Say how many more months you need.",
            "min_value": f"Ask for 1 to {MAX_REQUESTED_MONTHS} months.",
            "max_value": f"Ask for 1 to {MAX_REQUESTED_MONTHS} months.",
            "invalid": "Give a whole number of months.",
        },
    )
    progress_report = forms.CharField(
        label="Progress report",
        max_length=10000,
        help_text="What you have done with the data so far, and your publications.",
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": "Report on the project's progress: what was done with the data, and "
            "publications."
        },
    )
