"""``manage.py longshore_task_secret``: creates the tenant's HTTP-task signing secret
(``POST /v1/task-signing-secret``) and prints it for ``LONGSHORE['TASK_SECRET']``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from longshore.django._client import get_client
from longshore.errors import LongshoreError, NotFoundError


class Command(BaseCommand):
    help = (
        "Creates the signing secret Longshore signs HTTP-task callbacks with and prints it for "
        "LONGSHORE['TASK_SECRET']. If the tenant has one it says so; --rotate replaces it (the "
        "previous one keeps signing for a day: list both in TASK_SECRET meanwhile)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rotate", action="store_true", help="Replace an existing secret.")
        parser.add_argument(
            "--quiet-secret",
            action="store_true",
            help="Print only the secret (for scripts).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = get_client()
        try:
            try:
                current: Any = client.task_signing_secret.get()
            except NotFoundError:
                current = None
            if current and not options["rotate"]:
                self.stdout.write(
                    f"The tenant has a task signing secret already (created "
                    f"{current.get('created_at')}"
                    + (f", rotated {current['rotated_at']}" if current.get("rotated_at") else "")
                    + "). It was shown when it was created; run again with --rotate for a new "
                    "one (the previous one keeps signing for a day)."
                )
                return
            view: Any = client.task_signing_secret.create()
        except LongshoreError as exc:
            raise CommandError(f"Longshore refused: {exc}") from exc
        secret = view.get("secret", "")
        if options["quiet_secret"]:
            self.stdout.write(secret)
            return
        self.stdout.write(
            self.style.SUCCESS(
                "Rotated the task signing secret."
                if current
                else "Created the task signing secret."
            )
        )
        lines = [
            "Keep it (shown once) in the settings or the environment:",
            f"    LONGSHORE['TASK_SECRET'] = \"{secret}\"",
            f"    export LONGSHORE_TASK_SECRET='{secret}'",
        ]
        if current:
            lines.append(
                "Until the previous secret expires, requests carry both signatures: list the new "
                "one first, e.g. LONGSHORE['TASK_SECRET'] = [new, previous]."
            )
        self.stdout.write("\n".join(lines))
