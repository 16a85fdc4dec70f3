"""Session fixtures shared by every suite under tests/ (the Django suite included).

- ``smtp_sink``: a real SMTP server (aiosmtpd) collecting messages (:class:`SmtpSink`).
- ``longshore``: a real ``longshore-api dev`` sending mail to that sink (:class:`LongshoreStack`).
- ``client`` / ``async_client``: :class:`longshore.Client` / :class:`longshore.AsyncClient`
  configured for that stack.
- ``admin`` / ``async_admin``: :class:`longshore.AdminClient` / :class:`longshore.AsyncAdminClient`
  with the stack's operator key.

Note for suites using pytest-django: its ``client`` and ``async_client`` fixtures (Django's test
clients) are shadowed by the ones below for everything under tests/. A conftest deeper down that
wants Django's back re-exports them: ``from pytest_django.fixtures import client, async_client``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

from longshore_stack import LongshoreStack, SmtpSink

if TYPE_CHECKING:
    from longshore import AdminClient, AsyncAdminClient, AsyncClient, Client


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def longshore(smtp_sink: SmtpSink) -> Iterator[LongshoreStack]:
    with LongshoreStack(smtp_port=smtp_sink.port) as stack:
        yield stack


@pytest.fixture
def client(longshore: LongshoreStack) -> Iterator[Client]:
    from longshore import Client

    with Client(longshore.api_url, longshore.api_key) as c:
        yield c


@pytest.fixture
async def async_client(longshore: LongshoreStack) -> AsyncIterator[AsyncClient]:
    from longshore import AsyncClient

    async with AsyncClient(longshore.api_url, longshore.api_key) as c:
        yield c


@pytest.fixture
def admin(longshore: LongshoreStack) -> Iterator[AdminClient]:
    from longshore import AdminClient

    with AdminClient(longshore.api_url, longshore.admin_key) as c:
        yield c


@pytest.fixture
async def async_admin(longshore: LongshoreStack) -> AsyncIterator[AsyncAdminClient]:
    from longshore import AsyncAdminClient

    async with AsyncAdminClient(longshore.api_url, longshore.admin_key) as c:
        yield c
