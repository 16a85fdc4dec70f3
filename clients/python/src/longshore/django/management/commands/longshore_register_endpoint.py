"""``manage.py longshore_register_endpoint``: registers ``{CALLBACK_URL}events/`` as an event
endpoint and prints its secret (shown once) with the line to put in the settings."""

from __future__ import annotations

from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from longshore.django._client import get_client
from longshore.django.conf import get_settings
from longshore.errors import LongshoreError

EVENTS_PATH = "events/"


class Command(BaseCommand):
    help = (
        "Registers LONGSHORE['CALLBACK_URL'] + 'events/' as a Longshore event endpoint and "
        "prints its signing secret for LONGSHORE['EVENT_SECRET']. If an endpoint with that URL "
        "exists it says so; --rotate gives it a new secret instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--event-types",
            default="",
            help="Comma-separated types or groups (email.*,document.ready); default: all.",
        )
        parser.add_argument("--description", default="Django app (longshore.django)")
        parser.add_argument(
            "--url", default="", help="The endpoint's URL (default: CALLBACK_URL + 'events/')."
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Rotate the secret of the existing endpoint (the old one keeps signing a day).",
        )
        parser.add_argument(
            "--quiet-secret",
            action="store_true",
            help="Print only the secret (for scripts: EVENT_SECRET=$(manage.py … --quiet-secret)).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        s = get_settings()
        url = options["url"] or (s.callback(EVENTS_PATH) if s.callback_url else "")
        if not url:
            raise CommandError(
                "LONGSHORE['CALLBACK_URL'] is not set (nor LONGSHORE_CALLBACK_URL): pass --url "
                "or set it to where Longshore reaches this app, e.g. "
                "'https://app.example.com/longshore/'."
            )
        types = [t.strip() for t in options["event_types"].split(",") if t.strip()]
        client = get_client()
        try:
            existing = [e for e in client.event_endpoints.list_all() if e.get("url") == url]
            if existing and not options["rotate"]:
                ep = existing[0]
                self.stdout.write(
                    f"An event endpoint for {url} exists already: {ep['id']} "
                    f"(enabled: {ep.get('enabled')}, types: "
                    f"{', '.join(ep.get('event_types') or []) or 'all'}).\n"
                    "Its secret was shown when it was created. To get a new one, run this "
                    "command again with --rotate (the old secret keeps signing for a day)."
                )
                return
            if existing:
                view: Any = client.event_endpoints.rotate_secret(existing[0]["id"])
                what = f"Rotated the secret of {view['id']} ({url})."
            else:
                body: dict[str, Any] = {"url": url, "description": options["description"]}
                if types:
                    body["event_types"] = types
                view = client.event_endpoints.create(cast(Any, body))
                what = f"Registered {view['id']} for {url}."
        except LongshoreError as exc:
            raise CommandError(f"Longshore refused: {exc}") from exc
        secret = view.get("secret", "")
        if options["quiet_secret"]:
            self.stdout.write(secret)
            return
        self.stdout.write(self.style.SUCCESS(what))
        self.stdout.write(
            "Its signing secret (shown once): keep it in the settings or the environment:\n"
            f"    LONGSHORE['EVENT_SECRET'] = \"{secret}\"\n"
            f"    export LONGSHORE_EVENT_SECRET='{secret}'"
        )
