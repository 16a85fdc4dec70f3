"""Settings validation (``manage.py check``) and the management commands."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from lsdj_helpers import poll

from longshore.django.conf import get_settings

GOOD = {
    "API_URL": "http://127.0.0.1:8080",
    "API_KEY": "lsk_01ABC_def",
    "TASK_SECRET": "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
    "EVENT_SECRET": "whsec_" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
    "CALLBACK_URL": "https://app.example.com/longshore/",
}


def longshore_messages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for m in run_checks(tags=["longshore"]):
        found.setdefault(m.id or "", []).append(m.msg)
    return found


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "API_URL",
        "API_KEY",
        "TASK_SECRET",
        "EVENT_SECRET",
        "CALLBACK_URL",
        "TIMEOUT",
        "SEND_DEFAULTS",
    ):
        monkeypatch.delenv(f"LONGSHORE_{name}", raising=False)
    return monkeypatch


def test_good_settings_pass(settings: Any, clean_env: Any) -> None:
    settings.LONGSHORE = dict(GOOD)
    assert longshore_messages() == {}


def test_missing_settings_are_named(settings: Any, clean_env: Any) -> None:
    settings.LONGSHORE = {}
    found = longshore_messages()
    assert "API_URL" in found["longshore.E001"][0]
    assert "API_KEY" in found["longshore.E003"][0]
    # the test settings configure LongshoreBackend task backends: they need these two
    assert any("TASK_SECRET" in m for m in found["longshore.E011"])
    assert any("CALLBACK_URL" in m for m in found["longshore.E012"])
    assert "EVENT_SECRET" in found["longshore.W001"][0]


@pytest.mark.parametrize(
    ("name", "value", "check_id", "words"),
    [
        ("API_URL", "localhost:8080", "longshore.E002", "API_URL"),
        ("API_KEY", "sk_live_123", "longshore.E004", "lsk_"),
        ("TASK_SECRET", "not-a-secret", "longshore.E005", "TASK_SECRET"),
        ("TASK_SECRET", [GOOD["TASK_SECRET"], "whsec_%%%"], "longshore.E005", "item 2"),
        ("EVENT_SECRET", "whsec_", "longshore.E006", "EVENT_SECRET"),
        ("CALLBACK_URL", "https://app.example.com/longshore", "longshore.E007", "end with '/'"),
        ("CALLBACK_URL", "app.example.com/longshore/", "longshore.E007", "CALLBACK_URL"),
        ("TIMEOUT", -1, "longshore.E008", "TIMEOUT"),
        ("SEND_DEFAULTS", {"tracks": True}, "longshore.E009", "'tracks'"),
        ("SEND_DEFAULTS", ["tags"], "longshore.E009", "SEND_DEFAULTS"),
        ("API_SECRET", "x", "longshore.E010", "'API_SECRET'"),
    ],
)
def test_bad_settings_are_named(
    settings: Any, clean_env: Any, name: str, value: Any, check_id: str, words: str
) -> None:
    settings.LONGSHORE = {**GOOD, name: value}
    found = longshore_messages()
    assert list(found) == [check_id], found
    assert words in found[check_id][0]
    assert name in found[check_id][0]


def test_environment_fills_what_the_dict_lacks(settings: Any, clean_env: Any) -> None:
    settings.LONGSHORE = {k: v for k, v in GOOD.items() if k != "API_KEY"}
    clean_env.setenv("LONGSHORE_API_KEY", "bad-key")
    clean_env.setenv("LONGSHORE_API_URL", "http://ignored.example.com")
    clean_env.setenv("LONGSHORE_SEND_DEFAULTS", '{"tags": ["env"]}')
    found = longshore_messages()
    assert list(found) == ["longshore.E004"]
    assert "LONGSHORE_API_KEY" in found["longshore.E004"][0]  # named as it was given
    s = get_settings()
    assert s.api_url == GOOD["API_URL"]  # the dict wins
    assert s.send_defaults == {"tags": ["env"]}


def test_bad_task_backend_options(settings: Any, clean_env: Any) -> None:
    settings.LONGSHORE = dict(GOOD)
    settings.TASKS = {
        "default": {
            "BACKEND": "longshore.django.tasks.LongshoreBackend",
            "OPTIONS": {"MAX_ATTEMPTS": 0, "MIN_BACKOF": "1s", "QUEUE_MAP": {"default": 3}},
        }
    }
    found = longshore_messages()
    messages = " | ".join(found["longshore.E013"])
    assert "MAX_ATTEMPTS" in messages
    assert "'MIN_BACKOF'" in messages
    assert "QUEUE_MAP['default']" in messages


def test_register_endpoint_command(django_stack: Any, api: Any, settings: Any) -> None:
    url = django_stack.callback_url + "events/"
    out = io.StringIO()
    # The session registered the live server's endpoint already: the command says so.
    call_command("longshore_register_endpoint", stdout=out)
    assert "exists already" in out.getvalue()
    assert django_stack.endpoint_id in out.getvalue()

    other = django_stack.callback_url.replace("/longshore/", "/elsewhere/") + "events/"
    out = io.StringIO()
    call_command(
        "longshore_register_endpoint", url=other, event_types="email.*,document.ready", stdout=out
    )
    secret = re.search(r"LONGSHORE\['EVENT_SECRET'\] = \"(whsec_[^\"]+)\"", out.getvalue())
    assert secret, out.getvalue()
    created = [e for e in api.event_endpoints.list_all() if e["url"] == other]
    assert len(created) == 1
    assert sorted(created[0]["event_types"]) == ["document.ready", "email.*"]

    out = io.StringIO()
    call_command("longshore_register_endpoint", url=other, rotate=True, stdout=out)
    rotated = re.search(r"(whsec_\S+?)\"", out.getvalue())
    assert rotated
    assert rotated.group(1) != secret.group(1)
    api.event_endpoints.delete(created[0]["id"])
    assert url  # the session's endpoint is left alone


def test_task_secret_command(django_stack: Any, settings: Any) -> None:
    out = io.StringIO()
    call_command("longshore_task_secret", stdout=out)
    assert "already" in out.getvalue()
    out = io.StringIO()
    call_command("longshore_task_secret", rotate=True, quiet_secret=True, stdout=out)
    new = out.getvalue().strip()
    assert new.startswith("whsec_")
    assert new != django_stack.task_secret
    # While the old secret overlaps, callbacks verify with either: keep both for the session.
    settings.LONGSHORE = {**settings.LONGSHORE, "TASK_SECRET": [new, django_stack.task_secret]}
    from lsdj_app import tasks

    result = tasks.add.enqueue(1, 1)

    def done() -> bool:
        result.refresh()
        return bool(result.is_finished)

    poll(done, what="the task")
    assert result.return_value == 2
