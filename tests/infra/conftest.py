"""Fixtures of the infra tests: the installed tools (a missing tool fails, never skips) and one
manifest validator (the CRD schemas load once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lam_rl.deploy.manifests import ManifestValidator
from lam_rl.deploy.tools import INSTALL_HINT, Tools

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def tools() -> Tools:
    found = Tools.find()
    missing = found.missing()
    if missing:
        pytest.fail(f"infra tools missing under {found.home}: {', '.join(missing)}; {INSTALL_HINT}")
    return found


@pytest.fixture(scope="session")
def validator(tools: Tools) -> ManifestValidator:
    return ManifestValidator(tools=tools)
