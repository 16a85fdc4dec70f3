#!/usr/bin/env bash
# Runs the example against a local `longshore-api dev`:
#   LONGSHORE_API_URL=http://127.0.0.1:8080 LONGSHORE_API_KEY=lsk_… ./run.sh [addr:port]
# Creates .venv (the longshore package from this repository, with Django; the django-tasks
# backport where Python is older than 3.12, which Django 6 needs) on first use.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python=$(command -v python3.13 || command -v python3.12 || command -v python3)
  "$python" -m venv .venv
  .venv/bin/pip install --quiet -e "../../clients/python[django]" \
    "django-tasks==0.12.0; python_version < '3.12'"
fi
exec .venv/bin/python manage.py longshore_dev "$@"
