"""Field-level change capture (django-auditlog) for the catalogue, beneath our ledger.

The ledger events written by `governance.services` carry the same diffs; auditlog keeps the
per-field history that the admin shows on each object.
"""

from auditlog.registry import auditlog

from audit.personal import personal_fields

from .models import (
    AccessAgreement,
    CommitteeMembership,
    ConsentScope,
    DataAccessCommittee,
    Dataset,
    LegalBasis,
    Organisation,
)

for model in (
    Organisation,
    DataAccessCommittee,
    CommitteeMembership,
    LegalBasis,
    AccessAgreement,
    Dataset,
):
    # Names and e-mail addresses: auditlog keeps their fingerprint, never the value.
    auditlog.register(
        model,
        mask_fields=sorted(personal_fields(model._meta.label_lower)),
        mask_callable="audit.personal.mask",
    )
auditlog.register(ConsentScope, m2m_fields={"modifiers", "diseases"})
