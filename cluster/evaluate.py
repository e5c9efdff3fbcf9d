"""Evaluation of LAM1..LAM4 and the expert: offline (Table 3 shape) and online in VMs (Table 4).

Results go to ``<run dir>/eval/results.json`` (the report reads them) and to W&B tables; online
trajectories are tagged ``eval-<model>`` in the store so ``lam-rl view`` can show any of them.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cluster import policy_server
from cluster.collect import checkpoint_spec, expert_spec, run_rollouts
from cluster.rollout import WorkItem
from lam_rl.checkpoints import CheckpointRegistry, is_complete_hf
from lam_rl.config import ConfigError
from lam_rl.store import TrajectoryStore

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)
APP = "policy-eval"


def models_to_evaluate(cfg: Config) -> dict[str, tuple[str, int]]:
    """name -> (checkpoint path, version) for the configured models that exist."""
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    found: dict[str, tuple[str, int]] = {}
    for name in cfg.eval.models:
        if "/" in name:
            if not is_complete_hf(name):
                raise ConfigError(f"eval.models: {name} is not a complete checkpoint folder")
            found[Path(name).name] = (name, 0)
            continue
        entry = registry.latest(name)
        if entry is None:
            log.warning("evaluation: no checkpoint '%s' yet; skipped", name)
        else:
            found[name] = (entry.path, entry.version)
    return found


def reference(cfg: Config) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Reference steps and task specs (by traj_id) of the held-out tasks."""
    from lam_rl.data.selection import STEP_COLUMNS

    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    tag = cfg.collect.eval_tag
    if not store.has_tag(tag):
        raise ConfigError(f"store tag '{tag}' does not exist; run jobs.collect (phase 0b) first")
    outs = store.outcomes(tag=tag, success=True, columns=["traj_id", "task"]).to_pylist()
    outs.sort(key=lambda r: r["traj_id"])
    if cfg.eval.max_tasks:
        outs = outs[: cfg.eval.max_tasks]
    tasks = {o["traj_id"]: json.loads(o["task"]) for o in outs}
    steps = store.steps(tag=tag, traj_id=list(tasks), columns=STEP_COLUMNS).to_pylist()
    return steps, tasks


def offline(cfg: Config, models: dict[str, tuple[str, int]], steps, tasks) -> dict[str, dict[str, Any]]:
    from lam_rl.agent.generation import Generator
    from lam_rl.data.sft import agent_builder
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.env.protocol import TaskSpec
    from lam_rl.eval.offline import evaluate_lm, evaluate_policy_offline

    out: dict[str, dict[str, Any]] = {}
    for name, (path, _) in models.items():
        gen = Generator(path, dtype=cfg.policy.dtype)
        builder = agent_builder(cfg.agent, gen.tokenizer)
        rep = evaluate_lm(
            steps,
            builder,
            lambda prompts, g=gen: [
                x.text for x in g.generate(prompts, max_new_tokens=cfg.eval.max_new_tokens)
            ],
            batch_size=cfg.eval.batch_size,
        )
        out[name] = rep.as_dict()
        log.info("offline %s: SSR %.3f TSR %.3f", name, rep.ssr, rep.tsr)
    if cfg.eval.expert:

        def make_expert(first_row, seed=[cfg.run.seed]):  # noqa: B006 - a counter across trajectories
            seed[0] += 1
            e = ExpertPolicy(cfg.expert, seed=seed[0])
            e.reset(TaskSpec.model_validate(tasks[first_row["traj_id"]]))
            return e

        out["expert"] = evaluate_policy_offline(steps, make_expert).as_dict()
    return out


def online(
    cfg: Config, models: dict[str, tuple[str, int]], tasks, tracker=None
) -> dict[str, dict[str, dict[str, Any]]]:
    """split -> model -> online metrics; one rollout run per model plays every split's tasks."""
    from lam_rl.env.tasks.paraphrase import split_tasks
    from lam_rl.eval.online import STEP_COLUMNS, online_report
    from lam_rl.eval.paired import task_successes

    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir)
    specs: list[tuple[str, dict[str, Any], tuple[str, int] | None]] = [
        (name, checkpoint_spec(cfg, name, f"{path}/tokenizer.json", app=APP), (path, version))
        for name, (path, version) in models.items()
    ]
    if cfg.eval.expert:
        specs.append(("expert", expert_spec(cfg, cfg.run.seed + 99), None))
    worded = {split: split_tasks(split, tasks) for split in cfg.eval.splits}
    out: dict[str, dict[str, dict[str, Any]]] = {split: {} for split in cfg.eval.splits}
    deployed = False
    try:
        for name, spec, ckpt in specs:
            # the checkpoint version is part of the id: a re-trained model is evaluated afresh, while
            # an interrupted evaluation of the same version resumes where it stopped
            run_id = f"{name}@v{ckpt[1]}" if ckpt is not None else name
            # plain ids as before (eval:<model>@v<n>:<task>); other splits: eval:<model>@v<n>:<split>:<task>
            by_split = {
                split: [
                    WorkItem(
                        f"eval:{run_id}:{'' if split == 'plain' else split + ':'}{t['task_id']}",
                        t,
                        split="eval",
                    )
                    for t in ts.values()
                ]
                for split, ts in worded.items()
            }
            items = [i for its in by_split.values() for i in its]
            have = store.committed([i.traj_id for i in items])
            todo = [i for i in items if i.traj_id not in have]
            if todo:
                if ckpt is not None:
                    if not deployed:
                        policy_server.deploy(
                            cfg.policy, ckpt[0], ckpt[1], http=cfg.serve, app_name=APP, route_prefix=f"/{APP}"
                        )
                        deployed = True
                    else:
                        policy_server.swap_checkpoint(
                            ckpt[0], ckpt[1], app_name=APP, replicas=cfg.policy.num_replicas
                        )
                run_rollouts(
                    cfg, todo, spec, phase=f"eval-{name}", tracker=tracker, desc=f"online eval {name}"
                )
            tag = f"{cfg.eval.tag_prefix}-{name}"
            store.tag(tag, phase=f"eval-{name}", replace=True)
            for split, its in by_split.items():
                ids = [i.traj_id for i in its]
                outs = store.outcomes(
                    traj_id=ids,
                    columns=[
                        "traj_id",
                        "success",
                        "family",
                        "num_steps",
                        "num_invalid",
                        "duration_s",
                        "failure_kind",
                        "task",  # the failure classes compare the steps with the task's reference
                    ],
                ).to_pylist()
                st = store.steps(traj_id=ids, columns=list(STEP_COLUMNS), allow_empty=True).to_pylist()
                rep = online_report(outs, st)
                # task id -> solved (infrastructure failures left out): what the paired comparisons pair
                task_of = {i.traj_id: i.task["task_id"] for i in its}
                out[split][name] = rep.as_dict() | {"tag": tag, "per_task": task_successes(outs, task_of)}
                log.info(
                    "online %s (%s): TSR %.3f, %.1f steps/task, %.0f ms/step",
                    name,
                    split,
                    rep.tsr,
                    rep.steps_per_task,
                    rep.step_latency_ms,
                )
    finally:
        if deployed:
            policy_server.shutdown(APP)
    return out


def evaluate(cfg: Config, tracker=None) -> dict[str, Any]:
    models = models_to_evaluate(cfg)
    steps, tasks = reference(cfg)
    if tracker is not None:  # W&B lineage: the checkpoints evaluated, the reference trajectories
        tracker.use_inputs(
            checkpoints=[p for p, _ in models.values()],
            registry=CheckpointRegistry(cfg.run_dir / "checkpoints"),
            store=TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False),
            tags=[cfg.collect.eval_tag],
        )
    results: dict[str, Any] = {
        "models": {k: {"path": p, "version": v} for k, (p, v) in models.items()},
        "reference": {"tasks": len(tasks), "steps": len(steps)},
        "created_at": time.time(),
    }
    if cfg.eval.offline:
        results["offline"] = offline(cfg, models, steps, tasks)
    if cfg.eval.online:
        from lam_rl.env.tasks.paraphrase import split_gaps
        from lam_rl.eval.paired import compare_splits

        by_split = online(cfg, models, tasks, tracker)
        for split, rows in by_split.items():  # plain: "online" (Table 4); others: "online_<split>"
            results["online" if split == "plain" else f"online_{split}"] = rows
        if len(by_split) > 1:
            results["online_splits"] = split_gaps(by_split)
        # LAM1 -> LAM2 -> LAM3 -> LAM4 and LAM4 vs the expert, task by task, per split (lam_rl/eval/paired.py)
        results["paired"] = compare_splits(by_split, seed=cfg.run.seed)
    out = cfg.run_dir / "eval" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    if tracker is not None:
        log_tables(tracker, results)
    return results


OFFLINE_COLS = [
    "object_acc",
    "operation_acc",
    "status_acc",
    "ssr",
    "tsr",
    "arg_acc",
    "tsr_args",
    "invalid_rate",
]
ONLINE_COLS = ["tsr", "completion_s", "steps_per_task", "step_latency_ms", "invalid_rate", "tasks"]


def log_tables(tracker, results: dict[str, Any]) -> None:
    for kind, cols in (("offline", OFFLINE_COLS), ("online", ONLINE_COLS)):
        rows = results.get(kind) or {}
        if rows:
            tracker.table(
                f"eval/{kind}", ["model", *cols], [[m, *(r.get(c) for c in cols)] for m, r in rows.items()]
            )
            for m, r in rows.items():
                tracker.summary(**{f"{kind}/{m}/{c}": r.get(c) for c in cols})
                failures = r.get("failures") or {}  # online: failed episodes per class (eval/online.py)
                tracker.summary(**{f"{kind}/{m}/failures/{k}": v for k, v in failures.items()})
    splits = results.get("online_splits") or {}
    if splits:  # task success per request wording, and the gap
        cols = list(next(iter(splits.values())))
        tracker.table(
            "eval/online_splits",
            ["model", *cols],
            [[m, *(r.get(c) for c in cols)] for m, r in splits.items()],
        )
        for m, r in splits.items():
            tracker.summary(**{f"online_splits/{m}/{c}": v for c, v in r.items()})
    paired = results.get("paired") or {}
    if paired:  # the paired comparisons: a table and their p-values, differences and intervals
        from lam_rl.eval.paired import HEADER, summary_values, table_rows

        tracker.table("eval/paired", HEADER, table_rows(paired))
        tracker.summary(**summary_values(paired))
    fams = sorted({f for r in (results.get("online") or {}).values() for f in r.get("by_family", {})})
    if fams:
        models = list(results["online"])
        tracker.table(
            "eval/online_by_family",
            ["family", *models],
            [[f, *(results["online"][m]["by_family"].get(f, {}).get("tsr") for m in models)] for f in fams],
        )
