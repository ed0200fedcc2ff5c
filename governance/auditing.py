"""Field-level change capture (django-auditlog) for the catalogue, beneath our ledger.

The ledger events written by `governance.services` carry the same diffs; auditlog keeps the
per-field history that the admin shows on each object.
"""

from auditlog.registry import auditlog

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
    auditlog.register(model)
auditlog.register(ConsentScope, m2m_fields={"modifiers", "diseases"})
