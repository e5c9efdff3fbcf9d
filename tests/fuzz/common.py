"""What the fuzz files share: how many examples each test runs (its CI bound, or
``LAM_FUZZ_EXAMPLES=N`` for a long run) and JSON text with literals ``json.dumps`` refuses.

The whole fuzz suite stays within about 3 minutes in CI; a long run (e.g. ``LAM_FUZZ_EXAMPLES=1000``)
is how the counts in docs/reliability.md were measured.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings

SCALE = os.environ.get("LAM_FUZZ_EXAMPLES")


def examples(n: int) -> settings:
    """Hypothesis settings for ``n`` examples in CI: no deadline (a loaded machine is slow), fixtures
    shared across examples on purpose, and no example database written into the working directory."""
    return settings(
        max_examples=int(SCALE) if SCALE else n,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
        database=None,
    )


class Raw(str):
    """A literal spliced into the JSON text as is (NaN, 1e999, 5000-digit numbers, deep nesting, bad
    syntax): what ``json.dumps`` will not write but a model or a hostile client can."""


def json_text(value: Any, ensure_ascii: bool) -> str:
    """JSON text for ``value`` with its :class:`Raw` leaves spliced in verbatim."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(str(v))
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {k: swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        return v

    text = json.dumps(swap(value), ensure_ascii=ensure_ascii)
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{i}\x00"), raw, 1)
    return text
