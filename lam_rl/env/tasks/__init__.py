"""The task suite: families of Word tasks with request phrasings, reference plans and actions,
verifiers, near misses, composites, and a content-disjoint train/eval split.

    list_families() -> list[FamilyInfo]
    get_family(name) -> Family
    make_task(family, seed) -> TaskSpec                 # deterministic; family "composite" too
    sample_tasks(n, seed, split="train", families=None, composite_fraction=0.0) -> list[TaskSpec]
    task_split(task) -> "train" | "eval"                # a hash of content, never of the seed
    reference_actions(task) -> list[Decision]           # the reference steps, FINISH on the last
    near_miss_actions(task) -> list[Decision]           # a plausible wrong run (tests, data)
    initial_state(task) -> AppState                     # the template document (+ family setup)
    verify(task, before, after) -> Verdict
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lam_rl.config import ConfigError
from lam_rl.env.protocol import Decision, TaskSpec, Verdict
from lam_rl.env.tasks import design_layout, home, insert, objects, paragraph, review_refs, view_file  # noqa: F401 - registers families
from lam_rl.env.tasks.base import REGISTRY, Checks, Family, compress, describe
from lam_rl.env.tasks.composite import COMPOSITE, build_composite, part_steps
from lam_rl.env.wordsim.state import AppState
from lam_rl.env.wordsim.templates import build_template, template_fingerprint

__all__ = [
    "COMPOSITE",
    "EVAL_FRACTION",
    "FamilyInfo",
    "Family",
    "list_families",
    "get_family",
    "make_task",
    "make_composite",
    "sample_tasks",
    "task_split",
    "content_key",
    "reference_actions",
    "near_miss_actions",
    "initial_state",
    "verify",
    "plan_for",
]

EVAL_FRACTION = 0.15
"""Share of task *contents* held out for evaluation (decided by a hash, see task_split)."""
SPLITS = ("train", "eval", "all")
TAB_ORDER = (
    "File",
    "Home",
    "Insert",
    "Design",
    "Layout",
    "References",
    "Review",
    "View",
    "Table Design",
    "Table Layout",
    "Shape Format",
)


@dataclass(frozen=True)
class FamilyInfo:
    name: str
    tabs: tuple[str, ...]
    dialogs: tuple[str, ...]
    description: str
    phrasings: int
    templates: tuple[str, ...]
    steps: int  # reference steps of a typical instance (seed 0)
    composable: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tabs": list(self.tabs),
            "dialogs": list(self.dialogs),
            "description": self.description,
            "phrasings": self.phrasings,
            "templates": list(self.templates),
            "steps": self.steps,
            "composable": self.composable,
        }


def get_family(name: str) -> Family:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown task family {name!r}; `lam-rl env tasks` lists them (e.g. {', '.join(list(REGISTRY)[:4])})"
        ) from None


def list_families() -> list[FamilyInfo]:
    def order(f: Family) -> tuple[int, str]:
        return (TAB_ORDER.index(f.tabs[0]) if f.tabs[0] in TAB_ORDER else 99, f.name)

    return [
        FamilyInfo(
            f.name,
            f.tabs,
            f.dialogs,
            f.description,
            len(f.phrasings),
            f.templates,
            len(reference_actions(make_task(f.name, 0))),
            f.composable,
        )
        for f in sorted(REGISTRY.values(), key=order)
    ]


# ------------------------------------------------------------------------------ instances


def plan_for(steps: list[Decision]) -> list[str]:
    return [f"{i + 1}. {describe(d)}" for i, d in enumerate(steps)]


def _steps(task: TaskSpec, near: bool = False) -> list[Decision]:
    if task.family == COMPOSITE:
        return compress(part_steps(task.params["parts"], near_first=near))
    fam = get_family(task.family)
    return compress(fam.near_miss(task.params) if near else fam.steps(task.params))


def make_task(family: str, seed: int) -> TaskSpec:
    """The instance ``seed`` of ``family`` (deterministic: same arguments, same task)."""
    if family == COMPOSITE:
        return make_composite(seed)
    fam = get_family(family)
    rng = random.Random(f"{family}:{seed}")
    for _ in range(30):
        template = rng.choice(fam.templates)
        tseed = rng.randrange(1_000_000)
        state = AppState(build_template(template, tseed))
        try:
            params = fam.sample(rng, state)
            break
        except ValueError:
            continue
    else:  # pragma: no cover - every family samples from its templates
        raise ValueError(f"family {family} could not sample parameters")
    request = fam.request(params, rng.randrange(len(fam.phrasings)))
    task = TaskSpec(
        task_id=f"{family}-{seed}",
        family=family,
        template=template,
        seed=tseed,
        request=request,
        params=params,
    )
    task.plan = plan_for(_steps(task))
    return task


def make_composite(seed: int, families: list[str] | None = None, n_parts: int | None = None) -> TaskSpec:
    template, tseed, parts, request = build_composite(seed, families, n_parts)
    task = TaskSpec(
        task_id=f"{COMPOSITE}-{seed}",
        family=COMPOSITE,
        template=template,
        seed=tseed,
        request=request,
        params={"parts": parts},
    )
    task.plan = plan_for(_steps(task))
    return task


@lru_cache(maxsize=4096)
def _fingerprint(template: str, seed: int) -> str:
    return template_fingerprint(build_template(template, seed))


def content_key(task: TaskSpec) -> str:
    """What makes two instances the same task: family, parameters and template *content*."""
    if task.family == COMPOSITE:
        params: Any = [[p["family"], p["params"]] for p in task.params.get("parts", [])]
    else:
        params = task.params
    body = json.dumps(
        [task.family, task.template, _fingerprint(task.template, task.seed), params],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def task_split(task: TaskSpec) -> str:
    """'eval' for a fixed ~15% of task contents, 'train' for the rest; the seed plays no part."""
    h = int(content_key(task)[:8], 16)
    return "eval" if h % 10_000 < EVAL_FRACTION * 10_000 else "train"


# Each use of a run's seed draws its own task sample: collection uses the seed itself; the other
# streams add a fixed offset so that they never repeat collection's draw.
SEED_OFFSETS = {"collect": 0, "held_out": 1, "tokenizer": 7, "online": 11}


def stream_seed(seed: int, stream: str) -> int:
    """The ``sample_tasks`` seed of ``stream`` (a key of ``SEED_OFFSETS``) for the run seed ``seed``."""
    return seed + SEED_OFFSETS[stream]


def sample_tasks(
    n: int,
    seed: int,
    *,
    split: str = "train",
    families: list[str] | None = None,
    composite_fraction: float = 0.0,
) -> list[TaskSpec]:
    """``n`` distinct tasks of ``split``, families drawn uniformly, a share of composites."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if not 0.0 <= composite_fraction <= 1.0:
        raise ConfigError(f"composite_fraction must be in [0, 1], got {composite_fraction}")
    names = list(families) if families else list(REGISTRY)
    for name in names:
        get_family(name)
    if composite_fraction > 0 and sum(REGISTRY[x].composable for x in names) < 2:
        raise ConfigError("composite tasks need at least two composable families among `families`")
    rng = random.Random(f"sample:{seed}:{split}")
    out: list[TaskSpec] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 100 * n + 1000:
            raise ConfigError(
                f"found only {len(out)} distinct {split} tasks of {names[:5]}...; ask for fewer"
            )
        s = rng.randrange(2**31)
        if composite_fraction > 0 and rng.random() < composite_fraction:
            try:
                t = make_composite(s, names)
            except ValueError:
                continue
        else:
            t = make_task(rng.choice(names), s)
        if split != "all" and task_split(t) != split:
            continue
        key = content_key(t)
        if key in seen:
            continue
        seen.add(key)
        out.append(t)
    return out


# ------------------------------------------------------------------------------ acting and judging

THOUGHT = {
    "select_text": "Select the text to change",
    "select_table": "Select the table first",
    "summary": "Report the answer",
}


def thought_for(d: Decision, last: bool) -> str:
    name, ctype, fn = d.control_name, d.control_type, d.function
    if fn in THOUGHT:
        t = THOUGHT[fn]
    elif fn == "click_input" and ctype == "TabItem":
        t = f"Open the {name} tab"
    elif fn == "click_input" and ctype in ("ListItem", "MenuItem", "RadioButton", "TreeItem"):
        t = f"Choose {name}"
    elif fn == "click_input":
        t = f"Click {name}"
    elif fn == "set_edit_text":
        t = f"Enter the value in {name}"
    elif fn == "keyboard_input":
        t = "Use the keyboard" if any(c in d.args.get("keys", "") for c in "{^%+~") else "Type the text"
    else:
        t = fn
    return t + (" to finish" if last else "")


def reference_actions(task: TaskSpec) -> list[Decision]:
    """The reference steps with thought, remaining plan and status (FINISH on the last)."""
    steps = _steps(task)
    plan = plan_for(steps)
    n = len(steps)
    return [
        d.model_copy(
            update={
                "thought": thought_for(d, i == n - 1),
                "plan": plan[i + 1 :],
                "status": "FINISH" if i == n - 1 else "CONTINUE",
            }
        )
        for i, d in enumerate(steps)
    ]


def near_miss_actions(task: TaskSpec) -> list[Decision]:
    """A plausible but wrong run (italic for bold, the wrong menu entry, ...), FINISH on the last."""
    steps = _steps(task, near=True)
    return [
        d.model_copy(update={"status": "FINISH" if i == len(steps) - 1 else "CONTINUE"})
        for i, d in enumerate(steps)
    ]


def initial_state(task: TaskSpec) -> AppState:
    """The state a VM is reset to: the template document, plus the family's setup.

    Parameters a setup cannot use (a task from the wire holds anything) raise ValueError."""
    state = AppState(build_template(task.template, task.seed))
    try:
        if task.family == COMPOSITE:
            for part in task.params.get("parts", []):
                fam = REGISTRY.get(part.get("family"))
                if fam is not None and fam.setup is not None:
                    fam.setup(part["params"], state)
        elif task.family in REGISTRY and REGISTRY[task.family].setup is not None:
            REGISTRY[task.family].setup(task.params, state)  # type: ignore[misc]
    except (AttributeError, TypeError, IndexError) as e:
        raise ValueError(f"bad parameters for {task.family}: {type(e).__name__}") from None
    return state


def verify(task: TaskSpec, before: AppState, after: AppState) -> Verdict:
    """Judge the final state against the task: complete yes/no with a reason and sub-scores."""
    ck = Checks()
    bad_params = (KeyError, TypeError, IndexError, AttributeError, ValueError)
    if task.family == COMPOSITE:
        try:
            for i, part in enumerate(task.params.get("parts", [])):
                fam = REGISTRY.get(part.get("family"))
                if fam is None:
                    return Verdict(complete="unsure", reason=f"no verifier for family {part.get('family')!r}")
                sub = Checks()
                fam.verify(part["params"], before, after, sub)
                ck.merge(sub, f"{i + 1}.")
        except bad_params as e:
            return Verdict(
                complete="unsure", reason=f"cannot verify with these parameters: {type(e).__name__}"
            )
    elif task.family in REGISTRY:
        try:
            REGISTRY[task.family].verify(task.params, before, after, ck)
        except bad_params as e:
            return Verdict(
                complete="unsure", reason=f"cannot verify with these parameters: {type(e).__name__}"
            )
    else:
        return Verdict(complete="unsure", reason=f"no verifier for family {task.family!r}")
    if ck.complete:
        return Verdict(
            complete="yes", reason="all checks passed: " + ", ".join(ck.scores), sub_scores=ck.scores
        )
    return Verdict(complete="no", reason="; ".join(ck.reasons), sub_scores=ck.scores)
