#!/usr/bin/env bash
# Runs the example against a local `longshore-api dev`:
#   LONGSHORE_API_URL=http://127.0.0.1:8080 LONGSHORE_API_KEY=lsk_… ./run.sh [addr:port]
# Creates .venv (the longshore package from this repository, with Django; the django-tasks
# backport where Python is older than 3.12, which Django 6 needs) on first use.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  # The first of these that really runs (a pyenv shim of a version not selected does not).
  python=
  for candidate in python3.13 python3.12 python3; do
    if "$candidate" -c 'import venv' >/dev/null 2>&1; then
      python=$candidate
      break
    fi
  done
  if [ -z "$python" ]; then
    echo "run.sh: needs Python 3.11 or newer with its venv module" >&2
    exit 1
  fi
  "$python" -m venv .venv
  .venv/bin/pip install --quiet -e "../../clients/python[django]" \
    "django-tasks==0.12.0; python_version < '3.12'"
fi
exec .venv/bin/python manage.py longshore_dev "$@"
