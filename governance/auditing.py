"""Field-level change capture (django-auditlog) for the catalogue, beneath our ledger.

The ledger events written by `governance.services` carry the same diffs; auditlog keeps the
per-field history that the admin shows on each object.
"""

from auditlog.registry import auditlog

from audit.personal import personal_fields

from . import models as catalogue

for model in (
    catalogue.Organisation,
    catalogue.DataAccessCommittee,
    catalogue.CommitteeMembership,
    catalogue.LegalBasis,
    catalogue.AccessAgreement,
    catalogue.Dataset,
):
    # Names and e-mail addresses: auditlog keeps their fingerprint, never the value.
    auditlog.register(
        model,
        mask_fields=sorted(personal_fields(model._meta.label_lower)),
        mask_callable="audit.personal.mask",
    )
auditlog.register(catalogue.ConsentScope, m2m_fields={"modifiers", "diseases"})
