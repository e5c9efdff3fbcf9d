"""Composite tasks: two or three families in one request on one document (the paper's "data
evolution" makes harder tasks the same way). Parts must not interfere: no part may change what
another part's verifier guards (``Family.touches`` / ``Family.guards``)."""

from __future__ import annotations

import random
from typing import Any

from lam_rl.env.protocol import Decision
from lam_rl.env.tasks.base import REGISTRY, Family, compress
from lam_rl.env.wordsim.state import AppState
from lam_rl.env.wordsim.templates import build_template

COMPOSITE = "composite"
CONNECTORS = (" Then ", " After that, ", " Also, ", " Next, ")
MAX_STEPS = 10


def compatible(a: Family, b: Family) -> bool:
    return (
        a.name != b.name
        and not (a.touches & (b.touches | b.guards))
        and not (b.touches & (a.touches | a.guards))
    )


def _lower_first(s: str) -> str:
    if len(s) > 1 and s[0].isupper() and s[1].islower():
        return s[0].lower() + s[1:]
    return s


def join_requests(requests: list[str], rng: random.Random) -> str:
    out = requests[0]
    for r in requests[1:]:
        con = rng.choice(CONNECTORS)
        out = out.rstrip() + con + _lower_first(r)
    return out


def part_steps(parts: list[dict[str, Any]], near_first: bool = False) -> list[Decision]:
    steps: list[Decision] = []
    for i, part in enumerate(parts):
        fam = REGISTRY[part["family"]]
        steps.extend(fam.near_miss(part["params"]) if near_first and i == 0 else fam.steps(part["params"]))
    return steps


def build_composite(
    seed: int, names: list[str] | None = None, n_parts: int | None = None
) -> tuple[str, int, list[dict[str, Any]], str]:
    """(template, template seed, parts, request) of a composite instance; deterministic in ``seed``."""
    pool = [REGISTRY[n] for n in (names or list(REGISTRY)) if REGISTRY[n].composable]
    if len(pool) < 2:
        raise ValueError("composite tasks need at least two composable families")
    rng = random.Random(f"{COMPOSITE}:{seed}")
    for _ in range(100):
        k = n_parts or rng.choice((2, 2, 3))
        first = rng.choice(pool)
        template = rng.choice(first.templates)
        chosen = [first]
        while len(chosen) < k:
            cands = [f for f in pool if template in f.templates and all(compatible(f, c) for c in chosen)]
            if not cands:
                break
            chosen.append(rng.choice(cands))
        if len(chosen) < 2:
            continue
        chosen.sort(key=lambda f: f.last)
        tseed = rng.randrange(1_000_000)
        state = AppState(build_template(template, tseed))
        parts: list[dict[str, Any]] = []
        try:
            for fam in chosen:
                params = fam.sample(rng, state)
                if fam.setup is not None:
                    fam.setup(params, state)
                parts.append(
                    {"family": fam.name, "params": params, "phrasing": rng.randrange(len(fam.phrasings))}
                )
        except ValueError:
            continue
        while len(parts) > 2 and len(compress(part_steps(parts))) > MAX_STEPS:
            parts.pop()
        if len(compress(part_steps(parts))) > MAX_STEPS:
            continue
        requests = [REGISTRY[p["family"]].request(p["params"], p["phrasing"]) for p in parts]
        return template, tseed, parts, join_requests(requests, rng)
    raise ValueError(f"could not build a composite task from {len(pool)} families")
