"""Fixtures for the env tests: a real loopback fleet of WordSim VM agents (uvicorn, HTTP)."""

from __future__ import annotations

import pytest

from lam_rl.env.client import VMClient
from lam_rl.env.fleet import serve_many

TOKEN = "test-token-0123456789"


@pytest.fixture(scope="module")
def fleet():
    f = serve_many(2, token=TOKEN)
    yield f
    f.stop()


@pytest.fixture
def client(fleet):
    with VMClient(
        fleet.urls[0], TOKEN, name=fleet.names[0], timeout_s=10, connect_retries=1, backoff_s=0.01
    ) as c:
        yield c
