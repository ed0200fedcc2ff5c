"""The OAuth scopes Tessera's API knows: the one definition, from which the OAuth provider's
settings, the API views' declarations, the admin and docs/oauth-clients.md derive theirs.

A token is limited to its scopes on top of what its person may do: a committee member's token
with `catalogue:read` alone cannot read that member's review queue. The privileged scopes are
for machine clients (the storage tier) and only for applications an administrator listed in
`tokens.ClientScopes`.
"""

from __future__ import annotations

CATALOGUE_READ = "catalogue:read"
REQUESTS_READ = "requests:read"
REQUESTS_WRITE = "requests:write"
COMMITTEE_REVIEW = "committee:review"
GRANTS_READ = "grants:read"
TOKENS_ISSUE = "tokens:issue"
AUDIT_READ = "audit:read"
REPORTS_READ = "reports:read"
INTROSPECTION = "introspection"
GA4GH_PASSPORT = "ga4gh_passport"

# Scopes any registered client may ask for; the person authorising it still limits it to what
# they themselves may do.
PUBLIC_SCOPES: dict[str, str] = {
    CATALOGUE_READ: "Read the public dataset catalogue",
    REQUESTS_READ: "Read your own access requests (as applicant or team member)",
    REQUESTS_WRITE: (
        "Draft, edit, submit, withdraw and comment on your access requests, accept their "
        "agreements and invite people to their teams"
    ),
    COMMITTEE_REVIEW: (
        "Act for your committees: read their requests, comment, vote, decide, close, revoke grants"
    ),
    GRANTS_READ: "Read your grants and your committees' grants",
    TOKENS_ISSUE: "Obtain storage access tokens for your active grants",
    AUDIT_READ: "Read the audit ledger (auditors only)",
    REPORTS_READ: (
        "Read committee reports (your committees', your datasets' committees', or as an auditor)"
    ),
}
# Scopes only for the applications listed in tokens.ClientScopes (by primary key).
PRIVILEGED_SCOPES: dict[str, str] = {
    INTROSPECTION: "Introspect Tessera access tokens (RFC 7662), read the revocation feed",
    GA4GH_PASSPORT: "Read people's GA4GH Passport visas",
}
SCOPES: dict[str, str] = {**PUBLIC_SCOPES, **PRIVILEGED_SCOPES}
DEFAULT_SCOPES: list[str] = [CATALOGUE_READ]
