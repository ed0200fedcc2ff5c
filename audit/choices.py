from django.db import models


class ActorKind(models.TextChoices):
    USER = "user", "User"
    CLIENT = "client", "OAuth client"
    SYSTEM = "system", "System"


class EventType(models.TextChoices):
    """Every kind of event the ledger records, grouped by area (the part before the first dot)."""

    # auth
    LOGIN = "auth.login", "Login"
    LOGIN_FAILED = "auth.login_failed", "Failed login"
    LOGIN_LOCKED_OUT = "auth.login_locked_out", "Sign-in locked out after repeated failures"
    LOGOUT = "auth.logout", "Logout"
    ACCESS_REFUSED = "auth.access_refused", "Access refused"
    PERMISSION_GRANTED = "auth.permission_granted", "Permission granted"
    PERMISSION_REVOKED = "auth.permission_revoked", "Permission revoked"
    # admin
    ADMIN_ACTION = "admin.action", "Admin action"
    # governance
    ORGANISATION_CREATED = "governance.organisation_created", "Organisation created"
    ORGANISATION_CHANGED = "governance.organisation_changed", "Organisation changed"
    STEWARD_ADDED = "governance.steward_added", "Steward added"
    STEWARD_REMOVED = "governance.steward_removed", "Steward removed"
    DATASET_CREATED = "governance.dataset_created", "Dataset created"
    DATASET_CHANGED = "governance.dataset_changed", "Dataset changed"
    DATASET_PUBLISHED = "governance.dataset_published", "Dataset published"
    DATASET_RETIRED = "governance.dataset_retired", "Dataset retired"
    CONSENT_SCOPE_CREATED = "governance.consent_scope_created", "Consent scope created"
    CONSENT_SCOPE_CHANGED = "governance.consent_scope_changed", "Consent scope changed"
    LEGAL_BASIS_CREATED = "governance.legal_basis_created", "Legal basis created"
    LEGAL_BASIS_CHANGED = "governance.legal_basis_changed", "Legal basis changed"
    COMMITTEE_CREATED = "governance.committee_created", "Committee created"
    COMMITTEE_CHANGED = "governance.committee_changed", "Committee changed"
    MEMBERSHIP_ADDED = "governance.membership_added", "Committee member added"
    MEMBERSHIP_CHANGED = "governance.membership_changed", "Committee member's role changed"
    MEMBERSHIP_REMOVED = "governance.membership_removed", "Committee member removed"
    AGREEMENT_CREATED = "governance.agreement_created", "Agreement version drafted"
    AGREEMENT_CHANGED = "governance.agreement_changed", "Agreement draft changed"
    AGREEMENT_PUBLISHED = "governance.agreement_published", "Agreement version published"
    ONTOLOGY_LOADED = "governance.ontology_loaded", "Ontologies loaded"
    # access requests
    REQUEST_CREATED = "access.request_created", "Access request drafted"
    REQUEST_CHANGED = "access.request_changed", "Access request changed"
    REQUEST_SUBMITTED = "access.request_submitted", "Access request submitted"
    REQUEST_WITHDRAWN = "access.request_withdrawn", "Access request withdrawn"
    REQUEST_RESUBMITTED = "access.request_resubmitted", "Access request resubmitted"
    REQUEST_CLOSED = "access.request_closed", "Access request closed"
    REQUEST_EXPIRED = "access.request_expired", "Idle draft expired"
    REQUEST_COPIED = "access.request_copied", "Access request copied as a new draft"
    CLOSEOUT_FILED = "access.closeout_filed", "Project close-out filed"
    ATTACHMENT_VIEWED = "access.attachment_viewed", "Ethics approval document viewed"
    AGREEMENT_ACCEPTED = "access.agreement_accepted", "Agreement accepted"
    CONSENT_MATCHED = "access.consent_matched", "Consent match recorded"
    CONSENT_REEVALUATED = (
        "access.consent_reevaluated",
        "Consent matches re-evaluated with the current engine",
    )
    REVIEW_STARTED = "access.review_started", "Review started"
    REVIEW_CLOSED = "access.review_closed", "Review closed"
    COMMENT_ADDED = "access.comment_added", "Comment added"
    VOTE_CAST = "access.vote_cast", "Vote cast"
    RECUSAL_DECLARED = "access.recusal_declared", "Conflict of interest declared (recusal)"
    DEPUTY_APPOINTED = "access.deputy_appointed", "Deputy decider appointed"
    DECISION_RECORDED = "access.decision_recorded", "Decision recorded"
    GRANT_CREATED = "access.grant_created", "Grant created"
    GRANT_REVOKED = "access.grant_revoked", "Grant revoked"
    PERSON_BARRED = "access.person_barred", "Person barred by a committee"
    EXPERT_INVITED = "access.expert_invited", "Outside expert invited"
    EXPERT_JOINED = "access.expert_joined", "Outside expert joined a review"
    EXPERT_ENDED = "access.expert_ended", "Outside expert's access ended"
    GRANT_EXPIRED = "access.grant_expired", "Grant expired"
    GRANT_EXTENDED = "access.grant_extended", "Grant extended by a renewal"
    RENEWAL_REQUESTED = "access.renewal_requested", "Renewal asked for"
    AMENDMENT_OPENED = "access.amendment_opened", "Amendment started"
    AMENDMENT_APPLIED = "access.amendment_applied", "Amendment applied to its project"
    NOTIFICATION_QUEUED = "access.notification_queued", "Notification queued"
    NOTIFICATION_PREFERENCE_CHANGED = (
        "access.notification_preference_changed",
        "Own choice of immediate e-mail or a daily digest changed",
    )
    RESEARCHER_STATUS_RECORDED = (
        "access.researcher_status_recorded",
        "Researcher status recorded from a trusted visa",
    )
    RESEARCHER_VISA_IGNORED = "access.researcher_visa_ignored", "Visa ignored, not trusted"
    INVITATION_SENT = "access.invitation_sent", "Team invitation sent"
    INVITATION_WITHDRAWN = "access.invitation_withdrawn", "Team invitation withdrawn"
    INVITATION_ACCEPTED = "access.invitation_accepted", "Team invitation accepted"
    INVITATION_DECLINED = "access.invitation_declined", "Team invitation declined"
    INVITATION_EXPIRED = "access.invitation_expired", "Team invitation expired"
    TEAM_MEMBER_REMOVED = "access.team_member_removed", "Team member removed"
    TEAM_MEMBER_LEFT = "access.team_member_left", "Team member left"
    # audit
    CHECKPOINT_SIGNED = "audit.checkpoint_signed", "Checkpoint signed"
    LEDGER_EXPORTED = "audit.ledger_exported", "Ledger exported"
    FIELD_CHANGE = "audit.field_change", "Field-level change (django-auditlog)"
    EVENTS_SUPPRESSED = "audit.events_suppressed", "Further events of a kind not recorded singly"
    # tokens for the storage tier (tokens.issue, tokens.visas, tokens.revocation, tokens.keyring)
    TOKEN_ISSUED = "tokens.issued", "Access token issued"
    TOKEN_INTROSPECTED = "tokens.introspected", "Token introspected"
    TOKEN_REVOKED = "tokens.revoked", "Tokens revoked"
    VISA_ISSUED = "tokens.visa_issued", "GA4GH visa issued"
    KEY_ROTATED = "tokens.key_rotated", "Signing keys rotated"
    KEY_COMPROMISED = "tokens.key_compromised", "Signing key taken out of service (compromised)"
    KEYS_REENCRYPTED = "tokens.keys_reencrypted", "Signing keys re-encrypted under a new KEK"
    USER_SUSPENDED = "auth.user_suspended", "User suspended"
    USER_REINSTATED = "auth.user_reinstated", "User reinstated"
    CLIENT_SCOPES_CHANGED = "auth.client_scopes_changed", "OAuth client's scopes changed"
    CLIENT_REGISTERED = "auth.client_registered", "OAuth client registered"
    # people's identities at OpenID providers (accounts.services)
    ACCOUNT_CREATED = "auth.account_created", "Account created at first sign-in (identity provider)"
    IDENTITY_SIGNED_IN = "auth.identity_signed_in", "Signed in with an identity provider"
    IDENTITY_LINKED = "auth.identity_linked", "Identity at a provider linked to an account"
    IDENTITY_SIGN_IN_FAILED = "auth.identity_sign_in_failed", "Sign-in with a provider failed"
    # a person's own account: their profile, password reset, second factor (accounts.profile,
    # accounts.passwords, accounts.mfa)
    PROFILE_CHANGED = "auth.profile_changed", "Own profile changed (name, ORCID iD)"
    PASSWORD_RESET_REQUESTED = "auth.password_reset_requested", "Password reset requested"
    PASSWORD_RESET_COMPLETED = "auth.password_reset_completed", "Password changed by reset link"
    MFA_ENROLLED = "auth.mfa_enrolled", "Authenticator app (TOTP) enrolled"
    MFA_VERIFIED = "auth.mfa_verified", "Second factor verified"
    MFA_FAILED = "auth.mfa_failed", "Second factor refused"
    MFA_RESET = "auth.mfa_reset", "Authenticator apps removed (lost device)"
    # entitlement webhooks: subscriptions and retries (webhooks.services)
    WEBHOOK_SUBSCRIBED = "webhooks.subscribed", "Webhook endpoint subscribed"
    WEBHOOK_SUBSCRIPTION_CHANGED = "webhooks.subscription_changed", "Webhook subscription changed"
    WEBHOOK_RETRIED = "webhooks.retried", "Webhook deliveries retried now"
