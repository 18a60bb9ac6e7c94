"""Fixtures for the Teams tests: the identity stand-ins over https, a loopback Bot Connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.bot_connector import FakeConnector
from tests.fakes.identity import FakeIdentity, make_tls
from tests.fakes.server import LoopbackServer


@pytest.fixture
async def identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeIdentity]:
    """OpenID metadata, signing keys and a tenant token endpoint, over https; the CA that signed its
    certificate is the one ``SSL_CERT_FILE`` names, as an installer would set it."""
    tls = make_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))
    fake = FakeIdentity()
    async with LoopbackServer(
        fake.app, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key), timeout_graceful_shutdown=1
    ) as url:
        fake.url = url
        yield fake


@pytest.fixture
async def connector(identity: FakeIdentity) -> AsyncIterator[FakeConnector]:
    """The Bot Connector; it accepts only tokens the identity stand-in issued."""
    fake = FakeConnector()
    fake.check_token = identity.accepts
    async with LoopbackServer(fake.app, timeout_graceful_shutdown=1) as url:
        fake.url = url + "/"
        yield fake
