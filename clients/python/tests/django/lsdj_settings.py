"""Settings of the Django test suite (``LONGSHORE`` is filled in by the session fixture once
Longshore and the live server run)."""

from __future__ import annotations

import importlib.util

import django

SECRET_KEY = "longshore-django-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "lsdj_app.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"  # the live server serves static files (and needs the setting)
MEDIA_URL = "/media/"

INSTALLED_APPS = ["django.contrib.contenttypes", "longshore.django", "lsdj_app"]
if django.VERSION < (6, 0):
    INSTALLED_APPS.append("django_tasks")  # the backport's checks and signals
HAS_ANYMAIL = importlib.util.find_spec("anymail") is not None
if HAS_ANYMAIL:
    INSTALLED_APPS.append("anymail")

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

DEFAULT_FROM_EMAIL = "Longshore Tests <tests@example.com>"
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "longshore.django.mail.EmailBackend"}}
else:
    EMAIL_BACKEND = "longshore.django.mail.EmailBackend"

TASKS = {
    "default": {
        "BACKEND": "longshore.django.tasks.LongshoreBackend",
        "QUEUES": ["default", "other"],
        "OPTIONS": {"MAX_ATTEMPTS": 3, "MIN_BACKOFF": "1s", "DISPATCH_DEADLINE": "30s"},
    },
    "oncommit": {
        "BACKEND": "longshore.django.tasks.LongshoreBackend",
        "OPTIONS": {"ENQUEUE_ON_COMMIT": True, "MIN_BACKOFF": "1s"},
    },
    "short": {
        "BACKEND": "longshore.django.tasks.LongshoreBackend",
        "OPTIONS": {
            "MAX_ATTEMPTS": 2,
            "MIN_BACKOFF": "1s",
            "QUEUE_PREFIX": "short-",
            "PERMANENT_EXCEPTIONS": ["lsdj_app.tasks.NeverRetryError"],
        },
    },
}

LONGSHORE: dict[str, object] = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"longshore": {"handlers": ["console"], "level": "WARNING"}},
}
