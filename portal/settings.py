"""Settings for the partner portal, read from the environment.

Every setting is documented in README.md and listed in .env.example. Values come from the process
environment, then from the file named by DJANGO_ENV_FILE (default: `.env` beside manage.py, if it
exists). An empty value counts as unset. With DJANGO_DEBUG off (the default) the process refuses
to start unless the settings in _REQUIRED_IN_PRODUCTION are set and valid.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from cryptography.fernet import Fernet
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from portal.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


class _EnvFile(environ.Env):  # type: ignore[misc]
    ENVIRON: dict[str, str] = {}  # read_env() fills this instead of os.environ


def _settings_environment() -> dict[str, str]:
    """The env file's values under the process environment's. An empty value counts as unset
    ("SETTING=" in a half-filled file means "use the default"), wherever it stands."""
    named = os.environ.get("DJANGO_ENV_FILE", "").strip()
    env_file = BASE_DIR / (named or ".env")
    if named and not env_file.is_file():
        raise ImproperlyConfigured(f"DJANGO_ENV_FILE names {env_file}, which is not a file.")
    if env_file.is_file():
        _EnvFile.read_env(env_file)
    merged = {**_EnvFile.ENVIRON, **{k: v for k, v in os.environ.items() if v.strip()}}
    return {name: value for name, value in merged.items() if value.strip()}


env = environ.Env()
env.ENVIRON = _settings_environment()
env.escape_proxy = True  # a value starting with "$" names another variable; "\$" is a literal $


def _path(name: str, default: Path) -> Path:
    """A path setting; relative paths are taken from the project folder, not the working one."""
    value: str = env.str(name, default=str(default))
    return (BASE_DIR / value).resolve()


DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Where the embedded broker lives when no REDIS_URL is given (development only).
DATA_DIR = _path("DATA_DIR", BASE_DIR / "var")

_REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS",
    "PUBLIC_BASE_URL",
    "DATABASE_URL",
    "REDIS_URL",
)
if not DEBUG:
    _missing = [name for name in _REQUIRED_IN_PRODUCTION if name not in env.ENVIRON]
    if _missing:
        raise ImproperlyConfigured(
            "Refusing to start with DJANGO_DEBUG off: set "
            + ", ".join(_missing)
            + " (see .env.example), or set DJANGO_DEBUG=true for local development."
        )

SECRET_KEY = env.str("SECRET_KEY", default="development-only-secret-key-do-not-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The address end clients and 360Dialog reach this portal at, without a trailing slash. Used to
# build the partner webhook URL and the IO redirect URL.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
if not PUBLIC_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        "PUBLIC_BASE_URL must be an absolute URL such as https://onboarding.example.com."
    )

# Field encryption: Fernet keys, newest first. The first encrypts; all of them decrypt, so a key
# can be rotated in by putting it first and running `manage.py rotate_encryption_keys`.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated, newest first (README.md: Rotate the encryption key)."
        ) from None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "rest_framework",
    "axes",  # admin login throttling
    "portal",
    "events",  # the domain's events (the outbox), below every app that records them
    "clients",
    "channels",
    "webhooks",
    "audit",
    "api",  # the partner's REST API (/api/v1/)
    "outbound",  # signed events to the partner's platform
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served as our own static files
    "console",  # the account managers' console in the admin (after the apps it extends)
    "hubsim",  # only its `hubsim` command: the simulator runs as a process of its own
]

MIDDLEWARE = [
    "portal.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Webhook deliveries leave the stack here (see the class).
    "portal.middleware.WebhookMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.AdminTenantScopeMiddleware",
    # Last: answers a locked-out login attempt (django-axes).
    "axes.middleware.AxesMiddleware",
]

# Scripts only from our origin or with this response's nonce; styles from our origin, plus
# inline ones (the partner's brand colours, the admin's style attributes); nothing may frame us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "https:", "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL only: exactly-once key provisioning rests on its row locks (SQLite has none). A
# Unix socket folder may stand in the host, percent-encoded (`make demo`'s embedded server).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/portal"),
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must name a PostgreSQL database (postgres://...).")
DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"])
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No JIT compilation: its planning estimate fires on the console's aggregates over large
# tables and spends more time compiling (100-200 ms) than the query then runs.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
# Parameters are bound on the server, and a statement that has run five times on a connection
# is prepared there (psycopg's threshold): the worker runs the same few dozen statements for every
# event and key, and PostgreSQL then stops parsing and planning them each time (its CPU per
# burst fell by a third, the worker's by a sixth). The webhook INSERT (webhooks.services) is
# prepared at its first run. Turn it off behind a pooler that cannot keep prepared statements
# (PgBouncer in transaction mode before 1.21): Django's defaults then bind on the client and
# prepare nothing.
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = True
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
# The webhook receiver commits its row before answering; it must not run inside a request-wide
# transaction, so ATOMIC_REQUESTS stays off and services open their own transactions.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Partner API call records are written on a connection of their own (same database), so a
# failed call stays recorded when the transaction of the code that made it rolls back.
DATABASES["partner_api_calls"] = {
    **DATABASES["default"],
    "OPTIONS": dict(DATABASES["default"]["OPTIONS"]),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Admin logins: django-axes counts wrong passwords per user name and address. After
# ADMIN_LOGIN_ATTEMPTS wrong ones in a row, the next wrong one locks that pair out for
# ADMIN_LOGIN_COOLOFF_MINUTES (or until `manage.py axes_reset`). A right password resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_ATTEMPTS", default=5) + 1
AXES_COOLOFF_TIME = timedelta(minutes=env.float("ADMIN_LOGIN_COOLOFF_MINUTES", default=30.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "portal.client_ip.client_ip"
AXES_ENABLE_ADMIN = False  # lockouts are managed with `manage.py axes_reset`
AXES_VERBOSE = False
# Behind this many proxies that append the client's address to X-Forwarded-For, the address
# the nearest one saw is the client's (login throttling, rate limits); 0: REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("pt", "Português")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = _path("STATIC_ROOT", BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATICFILES_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Only behind a proxy that sets this header itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- E-mail ---------------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="onboarding@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ---------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
_BROKER_DIR = DATA_DIR / "broker"
# Without Redis, an embedded broker on the file system serves a real worker process (for the
# demo and a first run); it is not meant for production.
CELERY_BROKER_URL = (
    env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://localhost/"
)
CELERY_RESULT_BACKEND = (
    env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL or f"file://{DATA_DIR / 'results'}"
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "control_folder": str(_BROKER_DIR / "control"),
    }
else:
    # Longer than any task's hard time limit, so a late-acked task is never redelivered while it
    # still runs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # Publishing fails at once when Redis is down, instead of retrying for seconds: a
        # webhook is stored first and answered 200 either way, and the sweep enqueues it later.
        "max_retries": 0,
        "socket_connect_timeout": 2,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# webhooks: fast, store-and-process; hub: Partner API calls; default: everything else.
CELERY_TASK_QUEUES = [
    Queue("default", routing_key="default"),
    Queue("webhooks", routing_key="webhooks"),
    Queue("hub", routing_key="hub"),
    # Events to partners' URLs: a slow receiver must not hold up webhooks or the Partner API.
    Queue("outbound", routing_key="outbound"),
]
CELERY_TASK_ROUTES = {
    # The sweep runs on time during a webhook backlog (it reads the backlog; it is not in it).
    "webhooks.sweep": {"queue": "default"},
    "webhooks.*": {"queue": "webhooks"},
    # Every channels task talks to the Partner API.
    "channels.*": {"queue": "hub"},
    "outbound.*": {"queue": "outbound"},
}
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
# Celery's Django fixup closes every database connection before and after each task unless this
# is set: a new PostgreSQL session (a forked backend, its caches cold) for every task cost more
# than most tasks. With it, the fixup closes them every this many tasks only; in between they
# are treated as after a request (portal/celery.py): kept for CONN_MAX_AGE, checked, replaced
# when broken.
CELERY_DB_REUSE_MAX = 1000
# The workers' CPU priority, as a nice value (0-19): 10 on cores shared with the web server, so
# that a webhook's answer comes before applying one while a backlog drains. 0 (the default)
# keeps the priority the worker was started with. At any value, Celery's Redis transport can
# stop a worker when the broker drops while it acknowledges a task (more often seen at 10), so
# run it under a supervisor that restarts it.
WORKER_NICE = env.int("WORKER_NICE", default=0)
if not 0 <= WORKER_NICE <= 19:
    raise ImproperlyConfigured("WORKER_NICE must be between 0 and 19.")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Proves beat and a worker are alive end to end; beat's container health check watches it.
    "heartbeat": {"task": "portal.ping", "schedule": 60.0, "options": {"ignore_result": True}},
    # Re-enqueues webhooks left unprocessed (broker down, worker killed) and retries failed ones.
    "webhook-sweep": {"task": "webhooks.sweep", "schedule": 60.0},
    # Sends outbound events whose delivery is due (retries, or a broker that was down).
    "outbound-sweep": {"task": "outbound.sweep", "schedule": 60.0},
    # Sends e-mails that could not be sent at once.
    "notification-sweep": {"task": "clients.send_unsent_notifications", "schedule": 60.0},
    # Ends unconfirmed token-less returns and abandoned signups (status `expired`).
    "onboarding-expiry": {"task": "clients.expire_onboardings", "schedule": 10 * 60.0},
    # Applies what webhooks missed, from the Partner API.
    "reconcile": {"task": "channels.reconcile_all", "schedule": 15 * 60.0},
    # Flags stuck onboardings, clears those that moved, mails each partner's managers a digest.
    "stuck-onboardings": {"task": "console.flag_stuck_onboardings", "schedule": 5 * 60.0},
    # Keeps the console home page's funnel and charts fresh (every partner, all partners, each
    # window) before HOME_FIGURES_SECONDS runs out, so a page load almost never computes them.
    "home-figures": {
        "task": "console.refresh_home_figures",
        "schedule": 60.0,
        "options": {"expires": 55.0},
    },
}

# --- 360Dialog webhooks and the Partner API -------------------------------------------------------
# Bodies over this many bytes are refused with 413 before they are read.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=256 * 1024)
# Seconds a process remembers which partner a webhook URL's token names (and that an unknown one
# is unknown): a rotated token or a deactivated partner is refused within this time.
WEBHOOK_PARTNER_CACHE_SECONDS = env.float("WEBHOOK_PARTNER_CACHE_SECONDS", default=5.0)
# A webhook still unprocessed this many seconds after it was enqueued, and not waiting in the
# queue any more, is enqueued again by the sweep.
WEBHOOK_SWEEP_AFTER_SECONDS = env.int("WEBHOOK_SWEEP_AFTER_SECONDS", default=60)
# The queue webhook processing goes to (CELERY_TASK_ROUTES); the sweep reads its backlog.
WEBHOOK_QUEUE = "webhooks"
# The relay (`manage.py relay`, portal/relay.py) publishes committed rows to the workers: what it
# runs, the PostgreSQL channel domain events notify, rows claimed per pass, events per
# processing task, the longest wait between two looks (and so the longest a stored webhook
# delivery, which sends no notification, waits for the relay), and the pause between passes
# while rows keep coming (a burst is published as fewer, larger tasks).
RELAYS = [
    "webhooks.relay.webhook_events_relay",
    "outbound.services.domain_events_relay",
]
RELAY_CHANNEL = "portal_relay"  # portal migration 0007's trigger function names it too
RELAY_BATCH = env.int("RELAY_BATCH", default=500)
RELAY_TASK_EVENTS = env.int("RELAY_TASK_EVENTS", default=20)
RELAY_IDLE_SECONDS = env.float("RELAY_IDLE_SECONDS", default=0.2)
RELAY_LINGER_SECONDS = env.float("RELAY_LINGER_SECONDS", default=0.05)
# Processing attempts before a failing webhook is left `failed` for an account manager.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=5)
# First pause before a retry (webhooks, Partner API calls); each further retry doubles it.
RETRY_BACKOFF_SECONDS = env.float("RETRY_BACKOFF_SECONDS", default=30.0)
# Partner API calls before provisioning a key is given up (429, 5xx, transport errors only).
PARTNER_API_MAX_RETRIES = env.int("PARTNER_API_MAX_RETRIES", default=8)
# While a channel's key provisioning is queued or running, events about the channel queue no
# second one; after this many seconds one is queued again (a message the broker lost).
API_KEY_REQUEST_SECONDS = env.int("API_KEY_REQUEST_SECONDS", default=600)
CELERY_TIMEZONE = TIME_ZONE

# --- Rate limits on the public pages ------------------------------------------------------------
# Counters live in the cache: Redis (REDIS_URL) in production; without Redis (development) a
# folder in DATA_DIR. Each limit is "count/seconds", per client address (see
# TRUSTED_PROXY_COUNT) and per partner; over one, the page answers 429 with Retry-After.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "portal",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    )
}
# A return without our token that the Partner API has not confirmed within this many hours
# expires (beat's onboarding-expiry).
UNVERIFIED_RETURN_HOURS = env.float("UNVERIFIED_RETURN_HOURS", default=24.0)
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)
RATE_LIMITS = {
    "signup_ip": env.str("RATE_LIMIT_SIGNUP_IP", default="20/600"),
    "signup_partner": env.str("RATE_LIMIT_SIGNUP_PARTNER", default="300/60"),
    "launch_ip": env.str("RATE_LIMIT_LAUNCH_IP", default="30/600"),
    "launch_partner": env.str("RATE_LIMIT_LAUNCH_PARTNER", default="300/60"),
    "return_ip": env.str("RATE_LIMIT_RETURN_IP", default="20/600"),
    "return_partner": env.str("RATE_LIMIT_RETURN_PARTNER", default="120/60"),
    "status_ip": env.str("RATE_LIMIT_STATUS_IP", default="600/600"),
    "status_partner": env.str("RATE_LIMIT_STATUS_PARTNER", default="3000/60"),
    "beacon_ip": env.str("RATE_LIMIT_BEACON_IP", default="60/600"),
    "beacon_partner": env.str("RATE_LIMIT_BEACON_PARTNER", default="3000/60"),
}
for _name, _rate in RATE_LIMITS.items():
    _count, _, _seconds = _rate.partition("/")
    if not (_count.isdigit() and _seconds.isdigit() and int(_seconds) > 0):
        raise ImproperlyConfigured(
            f"RATE_LIMIT_{_name.upper()} must be count/seconds, e.g. 20/600; got {_rate!r}."
        )

# --- The end client's status page ---------------------------------------------------------------
# The page polls its status JSON every `first` seconds, slower with time up to every `longest`,
# and stops after `stop_after` seconds with a "Check again" button (the stuck thresholds below
# decide when it says a step is taking longer than usual).
STATUS_POLL_SECONDS = {
    "first": env.int("STATUS_POLL_FIRST_SECONDS", default=3),
    "longest": env.int("STATUS_POLL_LONGEST_SECONDS", default=60),
    "stop_after": env.int("STATUS_POLL_STOP_SECONDS", default=30 * 60),
}

# --- The account managers' console ---------------------------------------------------------------
# An onboarding is stuck after this many minutes in one state (partners may set their own in the
# admin): returned with no number, a number not running, running without a key, no permission
# on Direct Payment. A final key error is stuck at once.
# The console's funnel and charts are computed at most this often per partner set and window
# (they read every onboarding of the window); the page says as of when. 0: every request.
HOME_FIGURES_SECONDS = env.int("HOME_FIGURES_SECONDS", default=60)
STUCK_THRESHOLDS_MINUTES = {
    "returned_no_channel": env.int("STUCK_RETURNED_NO_CHANNEL_MINUTES", default=30),
    "channel_not_running": env.int("STUCK_CHANNEL_NOT_RUNNING_MINUTES", default=24 * 60),
    "running_no_key": env.int("STUCK_RUNNING_NO_KEY_MINUTES", default=10),
    "permission_missing": env.int("STUCK_PERMISSION_MISSING_MINUTES", default=24 * 60),
}
# Revealing a channel's API key in the console: at most this many per user ("count/seconds").
KEY_REVEAL_RATE_LIMIT = env.str("KEY_REVEAL_RATE_LIMIT", default="5/3600")

# --- REST framework -------------------------------------------------------------------------------
# The partner API: per-partner bearer tokens (api.ApiToken), errors as RFC 9457 problem
# documents, per-token throttles counted in the cache (Redis). Rates are "count/period" with a
# period of s, m, h or d.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_RATE_LIMIT", default="600/m"),
        "api_key": env.str("API_KEY_READ_RATE_LIMIT", default="30/h"),
    },
    "UNAUTHENTICATED_USER": None,
}
# Outbound events: first pause before a retry (doubling, with jitter, for about a day); plain
# http:// and these networks (otherwise refused: loopback, private, link-local) only for
# development and tests.
OUTBOUND_RETRY_BASE_SECONDS = env.float("OUTBOUND_RETRY_BASE_SECONDS", default=30.0)
OUTBOUND_ALLOW_HTTP = env.bool("OUTBOUND_ALLOW_HTTP", default=DEBUG)
OUTBOUND_ALLOWED_NETWORKS = env.list(
    "OUTBOUND_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else []
)
# An unfinished onboarding unchanged for this long counts as stuck (the API's `stuck` filter).
API_STUCK_AFTER_HOURS = env.float("API_STUCK_AFTER_HOURS", default=24.0)
SPECTACULAR_SETTINGS = {
    "TITLE": "Partner portal API",
    "DESCRIPTION": (
        "Onboardings, clients, channels, invites, API keys and events of one partner. "
        "Authenticate with `Authorization: Bearer <token>`; errors are RFC 9457 problem "
        "documents (application/problem+json)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "OnboardingStatusEnum": "clients.models.Onboarding.Status",
        "ChannelStatusEnum": "channels.models.Channel.Status",
    },
}

# --- Metrics (Prometheus) -------------------------------------------------------------------------
# GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`; without a token it answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A Celery worker serves its own counters here ("host:port"; empty: not at all). Internal
# addresses only: it has no authentication. PROMETHEUS_MULTIPROC_DIR (read by prometheus-client
# itself) makes every process on a host report into one folder, summed by either endpoint.
METRICS_WORKER_ADDRESS = env.str("METRICS_WORKER_ADDRESS", default="")

# --- Logging: one JSON object per line on stdout --------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or console.")
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
