"""Every write of the access-request journey, one module per entity it owns:

- `requests`: drafting, agreements, submission, withdrawal, resubmission, the ethics
  attachment, idle drafts;
- `reviews`: the committee's panel and conflicts of interest, starting, comments, votes,
  recusals, deputy deciders, closing;
- `team`: the team by invitation (send, withdraw, accept, decline, expiry), and leaving it
  (removal by the applicant, a member leaving; after an approval their grants end with it);
- `closeouts`: the close-out at the end of a project;
- `decisions`: `decision_record` and what follows from it;
- `grants`: grant creation, revocation and expiry;
- `notifications`: the outbox and its delivery;
- `researcher_status`: a person's researcher status from verified GA4GH visas, and the
  visas that were ignored;
- `common`: the row locks and the review transition the others share.

Each service locks what it reads-then-writes, checks the actor's right, writes the change and
its ledger event in one transaction, and queues notifications that leave only after commit.
Callers import the module that owns a function (`from access.services import requests as
request_services`); this package re-exports nothing.

Rule: no `QuerySet.update()` / `bulk_update()` on audited models here (it would bypass
django-auditlog and our events); save instances one by one.
"""
