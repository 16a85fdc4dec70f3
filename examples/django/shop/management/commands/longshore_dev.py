"""``manage.py longshore_dev``: everything the example needs from a local ``longshore-api dev``,
then the development server.

1. checks ``LONGSHORE_API_URL`` and ``LONGSHORE_API_KEY`` (printed by ``longshore-api dev``);
2. sets ``LONGSHORE_CALLBACK_URL`` to ``http://<addr:port>/longshore/`` unless set;
3. creates the task signing secret and registers ``<callback>events/`` as an event endpoint,
   once per API key (kept in ``.longshore-dev.json``, as a real app keeps them in its settings);
4. migrates the SQLite database and runs ``runserver``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from longshore.django._client import get_client
from longshore.django.conf import get_settings

STATE = Path(settings.BASE_DIR) / ".longshore-dev.json"


class Command(BaseCommand):
    help = "Registers the example with longshore-api dev (secrets, event endpoint) and runs it."
    # The checks would stop on the secrets this command is about to create; runserver checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        addrport = options["addrport"]
        s = get_settings()
        if not s.api_url or not s.api_key:
            raise CommandError(
                "set LONGSHORE_API_URL and LONGSHORE_API_KEY to what `longshore-api dev` printed"
            )
        callback = os.environ.setdefault("LONGSHORE_CALLBACK_URL", f"http://{addrport}/longshore/")
        ident = hashlib.sha256(f"{s.api_url} {s.api_key} {callback}".encode()).hexdigest()[:16]
        state = json.loads(STATE.read_text()) if STATE.exists() else {}
        if ident not in state:
            client = get_client()
            task_secret = client.task_signing_secret.create()["secret"]
            url = callback + "events/"
            existing = [e for e in client.event_endpoints.list_all() if e["url"] == url]
            if existing:
                event_secret = client.event_endpoints.rotate_secret(existing[0]["id"])["secret"]
            else:
                endpoint = client.event_endpoints.create({"url": url, "description": "example"})
                event_secret = endpoint["secret"]
            state[ident] = {"task_secret": task_secret, "event_secret": event_secret}
            STATE.write_text(json.dumps(state, indent=1))
            self.stdout.write(f"Registered with {s.api_url}: task secret and {url}")
        os.environ["LONGSHORE_TASK_SECRET"] = state[ident]["task_secret"]
        os.environ["LONGSHORE_EVENT_SECRET"] = state[ident]["event_secret"]
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(self.style.SUCCESS(f"Open http://{addrport}/"))
        call_command("runserver", addrport, use_reloader=False)
