"""How many examples each fuzz test runs: its CI bound, or ``LAM_FUZZ_EXAMPLES=N`` for a long run.

The whole fuzz suite stays within about 3 minutes in CI; a long run (e.g. ``LAM_FUZZ_EXAMPLES=1000``)
is how the counts in docs/reliability.md were measured.
"""

from __future__ import annotations

import os

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
