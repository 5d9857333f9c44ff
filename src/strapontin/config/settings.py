"""Deploy settings, read from the environment (domain settings live in the database).

Every variable has a default that runs the demo on SQLite under ``var/``; production sets
``SECRET_KEY``, ``DATABASE_URL``, ``EMAIL_URL``, ``BASE_URL`` and ``ALLOWED_HOSTS``.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STRAPONTIN_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret_key() -> str:
    """A key kept under var/ so the demo and tests need no configuration."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", BASE_URL)
# Bookings one client address may attempt per 10 minutes (web and API each). Campus NAT can
# put a whole library behind one address: raise it there, the per-patron limits still hold.
BOOKINGS_PER_CLIENT = int(os.environ.get("BOOKINGS_PER_CLIENT", "30"))
# How many reverse proxies append to X-Forwarded-For in front of the app (0: ignore it).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# Set when a reverse proxy terminates TLS and sends X-Forwarded-Proto.
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if BASE_URL.startswith("https://"):
    # Served over HTTPS: cookies never travel in clear, plain HTTP redirects to HTTPS (the
    # health check excepted, for probes inside the network), and browsers are told to come
    # back over HTTPS only (HSTS; set HSTS_SECONDS=0 while trying a new domain out).
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    # Listed so that /api/v1/docs serves Swagger UI from our own static files, not a CDN.
    "ninja",
    "strapontin.config",
    "strapontin.core",
    "strapontin.venues",
    "strapontin.reservations",
    "strapontin.public",
    "strapontin.desk",
    "strapontin.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "strapontin.config.urls"
WSGI_APPLICATION = "strapontin.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "strapontin.public.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'strapontin.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# Persistent connections: SQLite's too, which opened a connection (and set its PRAGMAs) per
# request.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", "60"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so check-and-insert cannot interleave (I1);
    # WAL lets readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    # A file, not :memory:, so live-server threads in tests use real separate connections.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # An unreachable server fails the request in seconds (a 503), instead of hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    )
    # The statements written once for bookings (core/rows.py) are prepared after five runs
    # (core/pipeline.py reads psycopg's setting); "off" for a pooler that cannot keep
    # prepared statements (docs/deployment.md).
    prepare_threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "5")
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
        None if prepare_threshold in ("", "off") else int(prepare_threshold)
    )
    # Once prepared, a statement keeps one plan: each reads one place, one patron or one day
    # through the same index whatever the values. PostgreSQL's "auto" planned two of the
    # booking's statements again at every run (their generic estimate a hair above the custom
    # one): a third of its CPU per booking. Django binds its own queries on the client, so
    # only the statements of core/pipeline.py are prepared.
    options = DATABASES["default"]["OPTIONS"]
    options["options"] = f"{options.get('options', '')} -c plan_cache_mode=force_generic_plan"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions ------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The browser that booked remembers the patron for a year ("Mes réservations").
SESSION_COOKIE_AGE = 365 * 24 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Background tasks -----------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- E-mail ---------------------------------------------------------------------------------
# A message a worker claimed and never marked sent (it died) is sent again after this delay.
# Workers look for new messages every second; with this set, each commit that wrote one also
# queues a delivery task (the tests, whose tasks run at once: e-mails right after the commit).
OUTBOX_SEND_AFTER_COMMIT = env_bool("OUTBOX_SEND_AFTER_COMMIT", False)
OUTBOX_STALE_LOCK_SECONDS = int(os.environ.get("OUTBOX_STALE_LOCK_SECONDS", "300"))
EMAIL_URL = os.environ.get("EMAIL_URL", "")
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "Strapontin <noreply@strapontin.localhost>"
)
if EMAIL_URL:
    _email = urlsplit(EMAIL_URL)
    _email_options = parse_qs(_email.query)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email.hostname or "localhost",
                "port": _email.port or (465 if _email.scheme == "smtps" else 25),
                "username": unquote(_email.username or ""),
                "password": unquote(_email.password or ""),
                "use_ssl": _email.scheme == "smtps",
                "use_tls": _email.scheme == "smtp+tls" or "tls" in _email_options,
                "timeout": 20,
            },
        }
    }
else:
    # The demo keeps every e-mail and shows it in the browser: nothing leaves the machine.
    MAILERS = {"default": {"BACKEND": "strapontin.reservations.mailbox.DemoMailboxBackend"}}
DEMO_MAILBOX = not EMAIL_URL

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

#: The accessibility statement the footer links to (Markdown): each deployment publishes its
#: own; the default is the project's, docs/accessibilite.md of a clone.
ACCESSIBILITY_STATEMENT = Path(
    os.environ.get("STRAPONTIN_ACCESSIBILITY_STATEMENT")
    or PACKAGE_DIR.parent.parent / "docs" / "accessibilite.md"
)

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Hashed names (site.3f2a….css) and gzip copies, written by collectstatic (which `serve` and
# `demo` run): whitenoise then serves them with a one-year, immutable cache lifetime.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# While developing (DEBUG), straight from the apps' static folders, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django_tasks_db": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
    },
}
