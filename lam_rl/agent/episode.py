"""One episode: reset -> (observe -> act -> ground -> step)* -> evaluate, as a store Trajectory.

This is the environment runner a rollout worker calls (and anyone can call without Ray). VM
and policy infrastructure failures propagate as exceptions (``VMError``, ``PolicyError``) so the
caller can retry the task elsewhere; everything the policy does wrong (malformed output, unknown
control, impossible action) is recorded in the trajectory and counted, never raised. A raw answer
is stored as valid Unicode (lone surrogates replaced) and at most ``MAX_RAW_CHARS`` long.
A step keeps the arguments that ran (argument labels resolved to their text) in ``args`` and the
labels the answer gave in ``extra["arg_labels"]``; a label that names no candidate is an invalid
answer, like an unparseable one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import TypeAdapter

from lam_rl.agent.grounding import ground
from lam_rl.agent.parse import MAX_ANSWER_CHARS
from lam_rl.agent.policy import Policy
from lam_rl.env.protocol import Control, Observation, TaskSpec, clip, scrub
from lam_rl.store.records import Outcome, StepRecord, Trajectory

_CONTROLS = TypeAdapter(list[Control])
MAX_RAW_CHARS = MAX_ANSWER_CHARS
"""Characters of a raw answer kept in its step (longer answers are invalid anyway)."""


def _storable(raw: str | None) -> str | None:
    """``raw`` as the store can hold it: valid Unicode, clipped."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raw = repr(raw)
    return scrub(clip(raw, MAX_RAW_CHARS))


@dataclass
class EpisodeLimits:
    max_steps: int = 12
    max_invalid: int = 3  # consecutive invalid answers that end an episode


def run_episode(
    vm,
    policy: Policy,
    task: TaskSpec,
    *,
    traj_id: str,
    phase: str,
    split: str = "train",
    attempt: int = 0,
    limits: EpisodeLimits | None = None,
    worker: str = "",
    vm_name: str = "",
) -> Trajectory:
    """Play ``task`` on ``vm`` (a VMClient) with ``policy``; return the whole trajectory."""
    limits = limits or EpisodeLimits()
    t0 = time.perf_counter()
    obs: Observation = vm.reset(task)
    policy.reset(task)
    steps: list[StepRecord] = []
    invalid_run = num_invalid = 0
    failure: str | None = None
    finished = False
    for i in range(limits.max_steps):
        out = policy.act(obs)
        controls = _CONTROLS.dump_python(obs.controls)  # one call, not one model_dump per control
        base = {
            "step": i,
            "request": task.request,
            "controls": controls,
            "canvas": obs.canvas,
            "raw": _storable(out.raw),
            "latency_ms": out.latency_ms,
        }
        d = out.decision
        grounded = ground(d, obs, out.args) if out.valid and d is not None else None
        if grounded is None or grounded.invalid:  # unparseable, or an argument label naming no candidate
            num_invalid += 1
            invalid_run += 1
            why = clip(str(out.error if grounded is None else grounded.error), 300)
            steps.append(StepRecord(**base, valid=False, ok=False, error=f"invalid output: {why}"))
            if invalid_run >= limits.max_invalid:
                failure = "invalid_action"
                break
            continue
        assert d is not None
        invalid_run = 0
        rec = StepRecord(
            **base,
            thought=d.thought,
            control_label=grounded.control.label if grounded.control else d.control_label,
            control_text=grounded.control.text if grounded.control else d.control_name,
            function=d.function,
            args=dict(grounded.args),
            status=d.status,
            plan=list(d.plan),
            extra={"arg_labels": dict(grounded.arg_labels)} if grounded.arg_labels else {},
        )
        if d.function and grounded.action is None:
            rec.ok, rec.error = False, f"grounding: {grounded.error}"
        elif grounded.action is not None:
            ts = time.perf_counter()
            result = vm.step(grounded.action)
            rec.step_ms = (time.perf_counter() - ts) * 1000
            rec.ok, rec.error = result.ok, result.error
            obs = result.observation
        policy.record(d.model_copy(update={"args": dict(grounded.args)}), grounded.control)
        steps.append(rec)
        if d.status == "FINISH":
            finished = True
            break
    verdict = vm.evaluate()
    success = verdict.complete == "yes"
    if not success and failure is None:
        failure = "task_failed" if finished else "step_limit"
    outcome = Outcome.of_task(
        task,
        traj_id=traj_id,
        complete=verdict.complete,
        reason=verdict.reason,
        sub_scores=dict(verdict.sub_scores),
        failure_kind=None if success else failure,
        split=split,
        phase=phase,
        policy=policy.name,
        policy_version=int(getattr(policy, "version", 0) or 0),
        attempt=attempt,
        num_steps=len(steps),
        num_invalid=num_invalid,
        duration_s=time.perf_counter() - t0,
        worker=worker,
        vm=vm_name,
    )
    return Trajectory(outcome=outcome, steps=steps)


def infra_failure(
    task: TaskSpec,
    *,
    traj_id: str,
    phase: str,
    policy: str,
    kind: str,
    reason: str,
    split: str = "train",
    attempt: int = 0,
    worker: str = "",
    vm_name: str = "",
) -> Trajectory:
    """The one outcome of a task whose retries were exhausted by infrastructure failures (no steps)."""
    return Trajectory(
        outcome=Outcome.of_task(
            task,
            traj_id=traj_id,
            complete="unsure",
            reason=reason,
            failure_kind=kind,
            split=split,
            phase=phase,
            policy=policy,
            attempt=attempt,
            worker=worker,
            vm=vm_name,
        ),
        steps=[],
    )
