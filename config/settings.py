"""Tessera settings: one file, driven by the environment (django-environ).

With nothing set, Tessera runs on SQLite in the working tree, Celery tasks run eagerly and
DEBUG is on. Production sets TESSERA_ENV=production (DEBUG off, secure cookies, HSTS) and
provides SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and CELERY_BROKER_URL. Every secret may
instead be given as a file: SECRET_KEY_FILE=/run/secrets/secret_key, and so on. Secrets are
read here and only here, by core.secrets (one rule: NAME or NAME_FILE, never both); the key
modules (audit.signing, tokens.keys) read these settings, not the environment.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp import constants as csp_constants

from core import scopes as oauth_scopes
from core.caching import cache_config
from core.logs import logging_config
from core.secrets import read_secret, secret_text
from core.visa_issuers import parse_trusted_issuers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))


TESSERA_ENV = env.str("TESSERA_ENV", default="development")
PRODUCTION = TESSERA_ENV == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)

_dev_secret = "django-insecure-development-only-never-use-in-production"  # noqa: S105
SECRET_KEY = secret_text("SECRET_KEY", None if PRODUCTION else _dev_secret)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set in production")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed: the client address in
# the ledger, the login lockout and the throttles is the right-most address in that header
# that is not one of these (core/client_address.py). Empty: REMOTE_ADDR is the client.
TESSERA_TRUSTED_PROXIES = env.list("TESSERA_TRUSTED_PROXIES", default=[])
# Public base URL, used in links we hand out (dataset and committee URLs in visas, JWKS).
TESSERA_BASE_URL = env.str("TESSERA_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# How long a team invitation's link works (days); the link is signed and single use.
TESSERA_INVITATION_DAYS = env.int("TESSERA_INVITATION_DAYS", default=14)
# Invitations one person may send in 24 hours, withdrawn ones included (each is an e-mail carrying
# the applicant's name and title to any address: not a relay).
TESSERA_INVITATIONS_PER_DAY = env.int("TESSERA_INVITATIONS_PER_DAY", default=50)
# Days before a grant ends that its holder is first reminded (a last reminder comes 7 days before).
TESSERA_EXPIRY_REMINDER_DAYS = env.int("TESSERA_EXPIRY_REMINDER_DAYS", default=30)
# Days before a grant ends from which its applicant may ask for a renewal.
TESSERA_RENEWAL_WINDOW_DAYS = env.int("TESSERA_RENEWAL_WINDOW_DAYS", default=60)

INSTALLED_APPS = [
    # The admin site is the committee workspace (access/committee/site.py).
    "access.committee.apps.WorkspaceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc assets served locally, no CDN
    "guardian",
    "oauth2_provider",
    "auditlog",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "core",
    "audit",
    "governance",
    "access",
    "tokens",
    "accounts",
    "demo",
    "webhooks",
    "django_prometheus",
]

MIDDLEWARE = [
    # django-prometheus: counts every request first (its After middleware is near the end).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.ProbeMiddleware",  # /healthz, /readyz and /metrics before sessions and auth
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "audit.middleware.RequestContextMiddleware",
    "core.middleware.NulCharacterMiddleware",  # a 400, not PostgreSQL's DataError 500
    "core.middleware.BadInputMiddleware",  # RecursionError, SuspiciousOperation: a 400
    "tokens.introspection.IntrospectionMiddleware",  # the storage tier's hot path, before sessions
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): a device this session
    "accounts.middleware.StaffMfaMiddleware",  # staff with a password: a code before the admin
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.middleware.RefusalMiddleware",  # a refusal a view let through: its page and status
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Counts responses by view and status; inside it only axes, so a lockout counts as its 429.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the 429 page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # A deployment's own templates (e.g. its e-mails, templates/notifications/) come first.
        "DIRS": [*env.list("TESSERA_TEMPLATE_DIRS", default=[]), BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# SQLite in the working tree unless DATABASE_URL says otherwise (postgres://user@host:5432/name).
# URLs that may carry a password can be given as files too (DATABASE_URL_FILE, ...).
DATABASES = {
    "default": env.db_url_config(
        secret_text("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer holds the lock; IMMEDIATE takes the write lock
    # at BEGIN so that read-then-write transactions serialise instead of failing to upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
        "TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}"
    )
    # Django's supported PostgreSQL statement options (psycopg 3), off unless set: bind
    # parameters on the server, and prepare a statement once it has run `prepare_threshold`
    # times on a connection (psycopg only prepares what a server-binding cursor runs).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if env.bool("TESSERA_DB_SERVER_SIDE_BINDING", default=False):
        _options["server_side_binding"] = True
    if env.str("TESSERA_DB_PREPARE_THRESHOLD", default=""):
        _options["prepare_threshold"] = env.int("TESSERA_DB_PREPARE_THRESHOLD")
# The same backends, counted by django-prometheus (connections, queries, errors, durations).
# The token hot paths' own cursors (core/db.py) go around the wrapper, as they go around Django's.
DATABASE_ENGINE = DATABASES["default"]["ENGINE"]
if DATABASE_ENGINE == "django.db.backends.sqlite3":
    # The test database in memory, as Django makes it for its own SQLite engine: said here
    # because pytest-django recognises that engine by its name only, and would otherwise name
    # each xdist worker's database after the file (test_/path/db.sqlite3_gw0).
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}.get(DATABASE_ENGINE, DATABASE_ENGINE)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out client before checking
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates read the same to everyone: `3 Dec 2026` (never 12/03/2026). The locale's formats win over
# these settings, so config/formats/ sets the same for English.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "var" / "static")
# Uploads (ethics approvals, later) live outside the web root and are served by views that
# check permissions, never by the web server directly.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "uploads")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- REST API -------------------------------------------------------------------------------
# OAuth tokens are limited to the scopes each view declares (core/api_auth.py); a view that
# declares none refuses tokens. Throttles: `anon` per address, `user` per person, `client` per
# OAuth application (the storage tier polls at machine speed: keep its rate generous).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.api_auth.OAuth2Authentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "core.api_auth.TokenScopes",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api_auth.AnonThrottle",
        "core.api_auth.UserThrottle",
        "core.api_auth.ClientThrottle",
    ],
    # DRF's parsers, with a nesting limit on JSON (core/safejson.py): a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("TESSERA_THROTTLE_ANON", default="120/min"),
        "user": env.str("TESSERA_THROTTLE_USER", default="600/min"),
        "client": env.str("TESSERA_THROTTLE_CLIENT", default="6000/min"),
        "consent": env.str("TESSERA_THROTTLE_CONSENT", default="120/min"),
        "tokens": env.str("TESSERA_THROTTLE_TOKENS", default="120/min"),
    },
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # The browsable API (HTML forms over every endpoint) only while developing.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tessera API",
    "DESCRIPTION": (
        "Governance, consent and access requests for a large digital-pathology repository: "
        "the public dataset catalogue, consent evaluation, access requests, grants, tokens "
        "for the storage tier and the audit ledger."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs pages are public; they ignore OAuth tokens rather than check scopes.
    "SERVE_AUTHENTICATION": ["rest_framework.authentication.SessionAuthentication"],
    "COMPONENT_SPLIT_REQUEST": True,
    # /api/docs/ must work offline and without a third-party CDN seeing our users.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the consent-match outcome (approve/review/deny) wherever it appears, and one
    # for a team invitation's status.
    "ENUM_NAME_OVERRIDES": {
        "MatchOutcomeEnum": "governance.matching.OUTCOME_CHOICES",
        "InvitationStatusEnum": "access.choices.InvitationStatus",
        # A request's status appears in two components (a request, and the copy of one).
        "AccessStatusEnum": "access.choices.RequestStatus",
    },
}

# --- OAuth2 clients (storage tier, institutions' tooling) ------------------------------------
# Clients are registered by administrators only (the admin, `manage.py oauth_client_create`);
# /o/ serves authorize, token and revoke_token alone (tokens/oauth_urls.py). The scopes are
# defined once, in core/scopes.py (documented in docs/oauth-clients.md).
OAUTH2_PROVIDER = {
    "SCOPES": dict(oauth_scopes.SCOPES),
    "DEFAULT_SCOPES": list(oauth_scopes.DEFAULT_SCOPES),
    # introspection and ga4gh_passport only for the applications listed in tokens.ClientScopes.
    "SCOPES_BACKEND_CLASS": "tokens.oauth.ClientScopesBackend",
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    # Client secrets are stored hashed (django-oauth-toolkit >= 2 hashes by default).
    "PKCE_REQUIRED": True,
    # RFC 9700 (OAuth 2.0 Security BCP): no implicit or password grants, S256 PKCE only, no
    # tokens in query strings, `iss` in authorisation responses, tokens hashed at rest,
    # refresh-token replay revokes the family. Same posture in development and production.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Plain-http redirect URIs only for loopback development clients.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = secret_text("CELERY_BROKER_URL", "memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool(
    "CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://"
)
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged when it has run, not when it arrives: a worker killed mid-task (SIGKILL,
# the OOM killer) leaves it to be delivered again, and every task is idempotent (it loads its
# outbox row under a lock and does nothing when the row is done). One task at a time per process,
# so a killed process takes no prefetched task with it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A broker that is down or hung costs a publish a few seconds at most (core/broker.py: the
# notifications and webhooks wait in their outbox and the sweeps send them later). Workers and
# beat keep reconnecting for as long as the broker is away.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=3.0),
    # Redis: a task taken by a worker that died is delivered again after this many seconds.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # Workers look for such tasks every 10 s (kombu's default looks only every 100 s).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,  # one fresh connection after a broken pooled one (a restarted broker)
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # workers never give up on the broker
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Workers keep Django's LOGGING (LOG_FORMAT=json included) instead of Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # What the outbox still holds: mail that failed, and anything queued while the broker was down.
    "notifications-sweep": {
        "task": "access.tasks.notifications_sweep",
        "schedule": env.float("TESSERA_NOTIFICATION_SWEEP_SECONDS", default=60.0),
    },
    "drafts-expire": {"task": "access.tasks.drafts_expire", "schedule": 3600.0},
    "grants-expire": {"task": "access.tasks.grants_expire", "schedule": 3600.0},
    "invitations-expire": {"task": "access.tasks.invitations_expire", "schedule": 3600.0},
    # One mail a day to each person who chose the daily digest (access.services.notifications).
    "notifications-digest": {
        "task": "access.tasks.notifications_digest",
        "schedule": crontab(hour=env.int("TESSERA_DIGEST_HOUR", default=7), minute=0),
    },
    # The committee members' daily digest of reviews waiting for them (one a day per member).
    "review-reminders": {
        "task": "access.tasks.review_reminders_send",
        "schedule": crontab(hour=env.int("TESSERA_REVIEW_REMINDER_HOUR", default=7), minute=0),
    },
    # Fallback for the `audit_sequencer` process (see audit/ledger.py); idle when it runs.
    "audit-sequence": {"task": "audit.tasks.ledger_sequence", "schedule": 5.0},
    "audit-checkpoint": {
        "task": "audit.tasks.checkpoint_sign",
        "schedule": env.int("AUDIT_CHECKPOINT_MINUTES", default=10) * 60.0,
    },
    # Summaries of bounded events for windows that closed with no later event to flush them.
    "audit-bounded-flush": {"task": "audit.tasks.bounded_flush", "schedule": 60.0},
    # Webhook retries (exponential backoff) and anything queued while the broker was down.
    "webhooks-sweep": {
        "task": "webhooks.tasks.webhooks_sweep",
        "schedule": env.float("TESSERA_WEBHOOK_SWEEP_SECONDS", default=15.0),
    },
}

# Fault drills and tests only: seconds a notification's send waits, its row locked, before the
# mail leaves (a worker can then be killed mid-task). Leave at 0.
TESSERA_NOTIFICATION_SEND_PAUSE = env.float("TESSERA_NOTIFICATION_SEND_PAUSE", default=0.0)

# --- Webhooks (webhooks/, docs/webhooks.md) -------------------------------------------------
# Seconds an endpoint has to answer one delivery (connecting has 3 more); keep it short.
TESSERA_WEBHOOK_TIMEOUT = env.float("TESSERA_WEBHOOK_TIMEOUT", default=5.0)
# Hosts on the private network that may receive webhooks all the same (webhooks/policy.py).
TESSERA_WEBHOOK_ALLOWED_HOSTS = env.list("TESSERA_WEBHOOK_ALLOWED_HOSTS", default=[])
# Hours a delivery is retried (exponential backoff, at most an hour apart) before it is given up.
TESSERA_WEBHOOK_RETRY_HOURS = env.float("TESSERA_WEBHOOK_RETRY_HOURS", default=24.0)

# --- Caches ---------------------------------------------------------------------------------
# Redis (or a local memory) for throttle counts, consent decisions and ledger proofs. A Redis
# outage never fails a request (core/caching.py): a refused connection costs nothing, a hung
# Redis costs each cache call up to CACHE_TIMEOUT_SECONDS (two to four calls per API request).
CACHES = {
    "default": cache_config(
        secret_text("CACHE_URL", "locmemcache://tessera"),
        timeout=env.float("CACHE_TIMEOUT_SECONDS", default=0.5),
    )
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "tessera.cache"
# How long the consent decisions of one research purpose stay cached (governance.consent.
# scope_decisions). Any change they depend on makes a new key, so this only bounds memory.
TESSERA_CONSENT_CACHE_SECONDS = env.int("TESSERA_CONSENT_CACHE_SECONDS", default=24 * 3600)

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if not PRODUCTION
    else "django.core.mail.backends.smtp.EmailBackend",
)
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (development, tests).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = secret_text("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tessera@localhost")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    # Load-balancer and orchestrator probes reach the web nodes directly over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Sign-in lockout (django-axes) ------------------------------------------------------------
# Per account and address TESSERA_LOGIN_FAILURES_PER_ACCOUNT failures, per address (any account)
# TESSERA_LOGIN_FAILURES_PER_ADDRESS, then refusal for TESSERA_LOGIN_COOL_OFF_MINUTES, on the
# portal's and the admin's sign-in alike (core/lockout.py). A failure while locked out starts
# the cool-off again.
TESSERA_LOGIN_FAILURES_PER_ACCOUNT = env.int("TESSERA_LOGIN_FAILURES_PER_ACCOUNT", default=5)
TESSERA_LOGIN_FAILURES_PER_ADDRESS = env.int("TESSERA_LOGIN_FAILURES_PER_ADDRESS", default=30)
TESSERA_LOGIN_COOL_OFF_MINUTES = env.int("TESSERA_LOGIN_COOL_OFF_MINUTES", default=15)
# Failed sign-ins recorded in the ledger per address and cool-off window; the rest are counted
# and summarised by one `audit.events_suppressed` event when the window closes (audit/bounded.py).
TESSERA_LOGIN_FAILED_EVENTS_PER_ADDRESS = env.int(
    "TESSERA_LOGIN_FAILED_EVENTS_PER_ADDRESS", default=10
)
# --- Second factor for staff with a local password (accounts/mfa.py, django-otp TOTP) -----------
# On: a staff user who signed in with a password (not through the identity provider) verifies a
# code from an authenticator app, or enrols one, before any admin page. Default: on unless DEBUG.
TESSERA_STAFF_MFA = env.bool("TESSERA_STAFF_MFA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("TESSERA_MFA_ISSUER", default="Tessera")  # the name the app shows
AXES_HANDLER = "core.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = TESSERA_LOGIN_FAILURES_PER_ACCOUNT
AXES_COOLOFF_TIME = timedelta(minutes=TESSERA_LOGIN_COOL_OFF_MINUTES)
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
# A success does not reset the count: it would let one valid account clear its address's count.
AXES_RESET_ON_SUCCESS = False
# The ledger records every sign-in; axes' own success log would keep usernames and addresses.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# --- Content-Security-Policy (django-csp) ----------------------------------------------------
# Strict in every environment, so that the tests and the browser journey see what production
# sends: no inline script without the request's nonce, no inline style at all (no `style=`
# attributes either: tests/test_content_security_policy.py scans the templates).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", csp_constants.NONCE],
        "style-src": ["'self'"],
        # Swagger UI and the admin draw a few icons from data: URIs in their style sheets.
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Error pages ------------------------------------------------------------------------------
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"

# --- django-auditlog: field-level change capture beneath our ledger --------------------------
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = True  # the ledger keeps addresses; auditlog rows need not

# --- Logging: structured enough to grep, never a secret or a token ---------------------------
# LOG_FORMAT=json: one JSON object per line (python-json-logger, core/logs.py), and one line per
# request (`tessera.request`: method, path without its query, status, duration, request id and
# the person's pseudonym). "plain": the text lines below, no request lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise environ.ImproperlyConfigured("LOG_FORMAT must be plain or json")
LOGGING = logging_config(LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))
if LOG_FORMAT == "json":
    # After the request id is bound, around everything that can answer (sessions, auth, views).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("audit.middleware.RequestContextMiddleware") + 1,
        "audit.middleware.RequestLogMiddleware",
    )

# --- Operations: /metrics and /readyz (docs/operations.md) -----------------------------------
# The bearer token Prometheus sends to /metrics. Unset: only loopback clients may scrape.
TESSERA_METRICS_TOKEN = secret_text("TESSERA_METRICS_TOKEN", "") or ""
# /readyz answers 503 when one of these is passed: the age (seconds) of the oldest ledger event
# waiting for the sequencer, the e-mails due in the outbox and not sent, the seconds the broker
# may take to answer.
TESSERA_READY_LEDGER_LAG_SECONDS = env.int("TESSERA_READY_LEDGER_LAG_SECONDS", default=120)
TESSERA_READY_OUTBOX_BACKLOG = env.int("TESSERA_READY_OUTBOX_BACKLOG", default=1000)
TESSERA_READY_BROKER_TIMEOUT_SECONDS = env.float(
    "TESSERA_READY_BROKER_TIMEOUT_SECONDS", default=2.0
)

# --- Tessera --------------------------------------------------------------------------------
TESSERA = {
    "ONTOLOGY_DIR": BASE_DIR / "fixtures" / "ontologies",
    "ACCESSION_PREFIX": "TSR-DS-",
    "DEMO_PASSWORD": "demo",
}
AUDIT_CHECKPOINT_INTERVAL = timedelta(minutes=env.int("AUDIT_CHECKPOINT_MINUTES", default=10))
# The Ed25519 key that signs checkpoints (audit/signing.py parses it): a core.secrets.Secret, or
# None (then DEBUG generates a development key, production refuses to sign).
AUDIT_SIGNING_KEY = read_secret("AUDIT_SIGNING_KEY")
# Public keys of retired checkpoint-signing keys that audit_verify still trusts: base64 of the
# raw Ed25519 keys, comma-separated (or one per line in AUDIT_PREVIOUS_PUBLIC_KEYS_FILE).
AUDIT_PREVIOUS_PUBLIC_KEYS = [
    key.strip()
    for key in (secret_text("AUDIT_PREVIOUS_PUBLIC_KEYS") or "").replace("\n", ",").split(",")
    if key.strip()
]
# Where each signed checkpoint is also written, outside the database, so that `audit_verify
# --against` notices a restore from an older backup (docs/audit-ledger.md, "Restore from
# backup"): a file path (on another volume or host mount), rewritten atomically; and optionally
# a folder that keeps every one. Empty: not published.
AUDIT_CHECKPOINT_PUBLISH_PATH = env.str("AUDIT_CHECKPOINT_PUBLISH_PATH", default="")
AUDIT_CHECKPOINT_PUBLISH_HISTORY_DIR = env.str("AUDIT_CHECKPOINT_PUBLISH_HISTORY_DIR", default="")
# "inline": chain each event in its own transaction (complete at every commit; writers serialise).
# "batched": queue events, chained by `manage.py audit_sequencer` (see audit/ledger.py).
AUDIT_SEQUENCING = env.str(
    "AUDIT_SEQUENCING",
    default="batched"
    if DATABASE_ENGINE == "django.db.backends.postgresql" and not CELERY_TASK_ALWAYS_EAGER
    else "inline",
)
# Repeatable events a stranger can cause (refused actions, failed logins; audit/bounded.py):
# at most AUDIT_BOUNDED_LIMIT of one kind per actor and per address in each window of
# AUDIT_BOUNDED_WINDOW_SECONDS are written one by one, the rest as one summary per window.
AUDIT_BOUNDED_LIMIT = env.int("AUDIT_BOUNDED_LIMIT", default=10)
AUDIT_BOUNDED_WINDOW_SECONDS = env.int("AUDIT_BOUNDED_WINDOW_SECONDS", default=900)
# The key of the fingerprints that stand for names and e-mail addresses in the ledger and in
# auditlog (audit/personal.py); empty: derived from SECRET_KEY.
AUDIT_PERSONAL_FIELD_KEY = secret_text("AUDIT_PERSONAL_FIELD_KEY", "") or ""

# --- Sign-in with an identity provider (OpenID Connect; accounts/oidc.py) ------------------------
# Unset issuer: no provider button, local sign-in only, and /accounts/oidc/* answer 404. The
# provider's endpoints and keys come from <issuer>/.well-known/openid-configuration; the ID
# token's `iss` must equal TESSERA_OIDC_ISSUER exactly. Register
# <TESSERA_BASE_URL>/accounts/oidc/callback/ as the redirect URI and TESSERA_BASE_URL/ as the
# post-logout redirect URI with the provider (docs/deployment.md).
# Exactly as the provider writes it, trailing "/" included (ELIXIR AAI's has one; the discovery
# URL is built without doubling it).
TESSERA_OIDC_ISSUER = env.str("TESSERA_OIDC_ISSUER", default="").strip()
TESSERA_OIDC_CLIENT_ID = env.str("TESSERA_OIDC_CLIENT_ID", default="")
TESSERA_OIDC_CLIENT_SECRET = secret_text("TESSERA_OIDC_CLIENT_SECRET", "") or ""
TESSERA_OIDC_NAME = env.str("TESSERA_OIDC_NAME", default="Life Science Login")
TESSERA_OIDC_SCOPES = env.str("TESSERA_OIDC_SCOPES", default="openid profile email")
# Seconds to wait for the provider (discovery, keys, token and userinfo endpoints).
TESSERA_OIDC_TIMEOUT = env.int("TESSERA_OIDC_TIMEOUT_SECONDS", default=10)
if TESSERA_OIDC_ISSUER and not (TESSERA_OIDC_CLIENT_ID and TESSERA_OIDC_CLIENT_SECRET):
    # Tessera is a confidential client (client_secret_basic at the token endpoint, with PKCE).
    raise environ.ImproperlyConfigured(
        "TESSERA_OIDC_ISSUER is set: set TESSERA_OIDC_CLIENT_ID and TESSERA_OIDC_CLIENT_SECRET "
        "(or TESSERA_OIDC_CLIENT_SECRET_FILE) too"
    )
if TESSERA_OIDC_ISSUER and "openid" not in TESSERA_OIDC_SCOPES.split():
    raise environ.ImproperlyConfigured("TESSERA_OIDC_SCOPES must include openid")

# --- Tokens for the storage tier (tokens/: keys.py, keyring.py, issue.py, introspection.py) ----
# ES256 (default) or RS256. Changing it takes effect through `manage.py keys_rotate`; tokens of
# the old algorithm stop introspecting at once (they live an hour at most).
TESSERA_TOKEN_ALG = env.str("TESSERA_TOKEN_ALG", default="ES256")
# The key-encryption key of the signing keys at rest, and retired ones still accepted for
# decryption (comma-separated, or one per line in the file): core.secrets.Secret or None,
# parsed by tokens/keys.py, which names their origin (never their value) when they are wrong.
TESSERA_KEY_ENCRYPTION_KEY = read_secret("TESSERA_KEY_ENCRYPTION_KEY")
TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS = read_secret("TESSERA_PREVIOUS_KEY_ENCRYPTION_KEYS")
# The storage tier's identifiers; a token carries them all in `aud`, a verifier needs one.
TESSERA_TOKEN_AUDIENCE = env.list("TESSERA_TOKEN_AUDIENCE", default=["urn:tessera:storage"])
TESSERA_TOKEN_LIFETIME = timedelta(seconds=env.int("TESSERA_TOKEN_LIFETIME_SECONDS", default=3600))
TESSERA_VISA_LIFETIME = timedelta(seconds=env.int("TESSERA_VISA_LIFETIME_SECONDS", default=3600))
# JWKS caching rule: a verifier may cache the key set for TESSERA_JWKS_MAX_AGE, so a new key must
# be published at least that long before it signs. `keys_rotate` refuses to promote a next key
# younger than this; rotate every TESSERA_KEY_ROTATION_DAYS (cron / Celery beat).
TESSERA_JWKS_MAX_AGE = timedelta(seconds=env.int("TESSERA_JWKS_MAX_AGE_SECONDS", default=3600))
TESSERA_KEY_ROTATION_DAYS = env.int("TESSERA_KEY_ROTATION_DAYS", default=30)
# The token hot paths run their state query as a server-side prepared statement on PostgreSQL;
# turn off behind a connection pooler that cannot keep prepared statements.
TESSERA_PREPARED_STATEMENTS = env.bool("TESSERA_PREPARED_STATEMENTS", default=True)
# Token texts whose signature introspection already checked, per process (0 turns it off); see
# tokens.introspection._verified_claims for why this cannot delay a revocation.
TESSERA_VERIFIED_TOKEN_CACHE = env.int("TESSERA_VERIFIED_TOKEN_CACHE", default=4096)
# Where researchers fetch slides with their tokens (only shown in the portal's curl example).
TESSERA_STORAGE_URL = env.str("TESSERA_STORAGE_URL", default="https://storage.example.org")

# --- Researcher status from GA4GH passports (accounts/passports.py) ----------------------------
# The visa issuers whose ResearcherStatus visas Tessera believes: "iss|jku" pairs, separated by
# commas or newlines (core/visa_issuers.py). A visa counts only when its `iss` is listed and the
# `jku` in its header is exactly the one listed for it; keys are fetched from no other URL.
# Empty (the default): no visa is trusted.
TESSERA_TRUSTED_VISA_ISSUERS = parse_trusted_issuers(
    env.str("TESSERA_TRUSTED_VISA_ISSUERS", default=""), require_https=PRODUCTION
)
# The signature algorithms a visa may use; anything else (none, HS256, ...) is refused.
TESSERA_VISA_ALGORITHMS = env.list("TESSERA_VISA_ALGORITHMS", default=["RS256", "ES256"])
# How long a fetched JWKS is used before it is fetched again, and the fetch's timeout.
TESSERA_VISA_JWKS_LIFESPAN_SECONDS = env.int("TESSERA_VISA_JWKS_LIFESPAN_SECONDS", default=300)
TESSERA_VISA_JWKS_TIMEOUT_SECONDS = env.float("TESSERA_VISA_JWKS_TIMEOUT_SECONDS", default=5.0)
