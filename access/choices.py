from django.db import models


class RequestStatus(models.TextChoices):
    """The applicant's side of a request. Committee progress lives on each Review."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    WITHDRAWN = "withdrawn", "Withdrawn"
    CLOSED = "closed", "Closed"


class RequestKind(models.TextChoices):
    """What a request is to the project it belongs to: its first application, or a later step
    linked to an approved request (`AccessRequest.parent`)."""

    INITIAL = "initial", "Initial request"
    RENEWAL = "renewal", "Renewal"
    AMENDMENT = "amendment", "Amendment"


class ReviewStatus(models.TextChoices):
    """One committee's review of a request (a request spanning committees has one per committee)."""

    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    RETURNED = "returned", "Returned for changes"
    RESUBMITTED = "resubmitted", "Resubmitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"
    CLOSED = "closed", "Closed"


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    RETURN = "return", "Return for changes"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ABSTAIN = "abstain", "Abstain"


class CommentVisibility(models.TextChoices):
    INTERNAL = "internal", "Internal to the committee"
    PUBLIC = "public", "Visible to the applicant"


class NotificationKind(models.TextChoices):
    SUBMITTED = "submitted", "Request submitted"
    RETURNED = "returned", "Request returned for changes"
    DECIDED = "decided", "Decision taken"
    REVOKED = "revoked", "Grant revoked"
    GRANT_EXPIRING = "grant_expiring", "Grant expiring"
    GRANT_EXPIRED = "grant_expired", "Grant expired"
    DRAFT_EXPIRING = "draft_expiring", "Draft about to expire"
    DRAFT_EXPIRED = "draft_expired", "Draft expired"
    INVITATION = "invitation", "Team invitation"
    TEAM_JOINED = "team_joined", "Joined a team"
    TEAM_LEFT = "team_left", "Left a team"
    COMMENT = "comment", "Comment from a committee"
    REPLY = "reply", "Reply from the applicant"
    REVIEW_CLOSED = "review_closed", "Review closed"
    REVIEW_REMINDER = "review_reminder", "Reviews waiting (daily digest)"
    EXPERT_INVITATION = "expert_invitation", "Invitation to give an expert opinion"


class VisaIgnoredReason(models.TextChoices):
    """Why a visa in a person's passport was not taken as their researcher status
    (accounts/passports.py; the ledger's `access.researcher_visa_ignored`)."""

    MALFORMED = "malformed", "Not a readable JWT"
    TOO_LARGE = "too_large", "Too large, or too many visas in the passport"
    UNTRUSTED_ISSUER = "untrusted_issuer", "Issuer not in TESSERA_TRUSTED_VISA_ISSUERS"
    JKU_MISMATCH = "jku_mismatch", "Header jku is not the one configured for the issuer"
    ALGORITHM = "algorithm", "Signature algorithm not allowed"
    KEYS_UNAVAILABLE = "keys_unavailable", "The issuer's JWKS could not be fetched"
    UNKNOWN_KEY = "unknown_key", "No key with the header's kid in the issuer's JWKS"
    BAD_SIGNATURE = "bad_signature", "Signature does not verify"
    EXPIRED = "expired", "Expired"
    INVALID_CLAIMS = "invalid_claims", "Required claims missing or invalid"
    SUBJECT_MISMATCH = "subject_mismatch", "Visa names another subject than the sign-in"
    NOT_RESEARCHER_STATUS = "not_researcher_status", "Not a ResearcherStatus visa"
    SELF_ASSERTED = "self_asserted", "Asserted by the person themselves"
    CONDITIONAL = "conditional", "Carries conditions (not supported)"


class DataDisposition(models.TextChoices):
    """What became of the data at the end of a project (its close-out)."""

    DELETED = "deleted", "Deleted"
    KEPT = "kept", "Kept under an agreement"


class InvitationStatus(models.TextChoices):
    """A team invitation's answer. Only an accepted one puts someone on the team."""

    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"
