"""Settings of the example: everything Longshore needs comes from the environment
(``LONGSHORE_API_URL``, ``LONGSHORE_API_KEY``; ``manage.py longshore_dev`` adds the secrets and
the callback URL), so the ``LONGSHORE`` dict below only holds what is not a secret."""

from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"  # noqa: S105
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "example.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "longshore.django",  # checks and commands
    "shop",
]
if django.VERSION < (6, 0):
    INSTALLED_APPS.append("django_tasks")  # the Tasks backport on Django 5.2

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}

DEFAULT_FROM_EMAIL = "Example Shop <shop@example.com>"
# Mail goes through Longshore (MAILERS from Django 6.1 on, EMAIL_BACKEND before).
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "longshore.django.mail.EmailBackend"}}
else:
    EMAIL_BACKEND = "longshore.django.mail.EmailBackend"

TASKS = {
    "default": {
        "BACKEND": "longshore.django.tasks.LongshoreBackend",
        "OPTIONS": {"MAX_ATTEMPTS": 3, "MIN_BACKOFF": "2s", "ENQUEUE_ON_COMMIT": True},
    }
}

LONGSHORE = {
    "SEND_DEFAULTS": {"tags": ["example"], "metadata": {"app": "example-shop"}},
}
