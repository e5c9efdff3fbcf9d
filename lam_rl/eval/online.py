"""Online evaluation metrics (docs/paper.md, "Metrics"; the paper's Table 4) from the trajectories a policy produced in VMs.

Task success rate by the verifier, completion time and steps per task, average step latency
(policy + VM time per step), invalid-action rate; overall and per task family. Infrastructure
failures (a VM that died, a policy server that did not answer) are reported apart and left out of
the rates: they say nothing about the policy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

INFRA_FAILURES = {"vm_error", "timeout", "policy_error"}


@dataclass
class OnlineReport:
    tasks: int = 0
    infra_failures: int = 0
    tsr: float = 0.0
    completion_s: float = 0.0
    steps_per_task: float = 0.0
    step_latency_ms: float = 0.0
    invalid_rate: float = 0.0
    by_family: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def online_report(outcomes: Iterable[dict[str, Any]], steps: Iterable[dict[str, Any]]) -> OnlineReport:
    """``outcomes``: rows with success, family, num_steps, num_invalid, duration_s, failure_kind;
    ``steps``: rows with traj_id, latency_ms, step_ms."""
    outs = list(outcomes)
    real = [o for o in outs if o.get("failure_kind") not in INFRA_FAILURES]
    rep = OnlineReport(tasks=len(real), infra_failures=len(outs) - len(real))
    if not real:
        return rep
    keep = {o["traj_id"] for o in real}
    lat = [
        float(s.get("latency_ms") or 0) + float(s.get("step_ms") or 0) for s in steps if s["traj_id"] in keep
    ]
    n_steps = sum(int(o["num_steps"]) for o in real)
    rep.tsr = sum(bool(o["success"]) for o in real) / len(real)
    rep.completion_s = sum(float(o["duration_s"]) for o in real) / len(real)
    rep.steps_per_task = n_steps / len(real)
    rep.step_latency_ms = sum(lat) / len(lat) if lat else 0.0
    rep.invalid_rate = sum(int(o["num_invalid"]) for o in real) / max(n_steps, 1)
    fams: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in real:
        fams[o["family"]].append(o)
    rep.by_family = {
        f: {
            "tasks": float(len(g)),
            "tsr": sum(bool(o["success"]) for o in g) / len(g),
            "steps_per_task": sum(int(o["num_steps"]) for o in g) / len(g),
        }
        for f, g in sorted(fams.items())
    }
    return rep
