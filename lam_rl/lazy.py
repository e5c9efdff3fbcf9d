"""Lazy package exports (PEP 562): a package names its public classes without importing their modules.

``lam_rl.store`` and ``lam_rl.models`` re-export classes whose modules import Lance, pyarrow or
torch; a config section beside them (``lam_rl.store.config``, ``lam_rl.models.config``) is imported
by every job's config loader, which must stay light. Their ``__init__`` declares the exports::

    __getattr__, __dir__ = lazy_exports(__name__, {"TrajectoryStore": "store", ...})

and ``from lam_rl.store import TrajectoryStore`` imports ``lam_rl.store.store`` on first use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``: ``exports`` maps a public name to the
    submodule (relative to the package) that defines it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
