"""Phase 0a: the task-plan corpus, the run's tokenizer and the starting model (LAM0).

    python -m jobs.taskplan config=tiny [taskplan.num_tasks=2000 taskplan.llm_base_url=http://...]

Writes task -> plan records (suite tasks, cleaned, deduplicated and evolved into harder ones) to
the store under the tag ``taskplan.tag``; trains the byte-level BPE tokenizer on the corpus and on
prompts/actions of tasks played in WordSim; saves and registers the base model.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

from jobs import run_job
from jobs.config import Config
from lam_rl.data.taskplan import build_corpus, tokenizer_texts
from lam_rl.models.bootstrap import ensure_base_model
from lam_rl.store import TrajectoryStore

if TYPE_CHECKING:
    from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.taskplan")


def done(cfg: Config) -> bool:
    from lam_rl.checkpoints import CheckpointRegistry
    from lam_rl.store.errors import StoreNotFound

    try:  # create=False: asking must not create an empty store
        store_ok = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False).has_tag(cfg.taskplan.tag)
    except StoreNotFound:
        return False
    return store_ok and CheckpointRegistry(cfg.run_dir / "checkpoints").latest("base") is not None


def check(cfg: Config) -> None:
    """The inputs phase 0a reads: a given model or tokenizer (a folder, or a hub id) must be loadable."""
    from lam_rl.models.factory import check_local_folder

    if cfg.model.name_or_path:
        check_local_folder(cfg.model.name_or_path, "model")
    if cfg.tokenizer.path:
        check_local_folder(cfg.tokenizer.path, "tokenizer")


def main(cfg: Config, tr: Tracker) -> None:
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir)
    if not store.has_tag(cfg.taskplan.tag):
        records, stats = build_corpus(cfg.taskplan, cfg.run.seed)
        store.add_taskplans(records)
        store.tag(cfg.taskplan.tag, source=sorted({r.source for r in records}), replace=True)
        tr.log({f"taskplan/{k}": v for k, v in asdict(stats).items()} | {"taskplan/records": len(records)})
        log.info("task-plan corpus: %d records (%s)", len(records), stats)
    plans = store.taskplans(tag=cfg.taskplan.tag, columns=["task", "plan"]).to_pylist()
    texts = [r["task"] + "\n" + "\n".join(r["plan"]) for r in plans]
    texts += list(tokenizer_texts(cfg.taskplan.tokenizer_samples, cfg.run.seed, cfg.agent))
    path, params = ensure_base_model(cfg.model, cfg.tokenizer, cfg.run_dir, cfg.run.seed, texts)
    tr.log({"model/parameters": params})
    tr.summary(records=len(plans), base_checkpoint=str(path), parameters=params)


if __name__ == "__main__":
    run_job(Config, main, name="taskplan", doc=__doc__, needs_ray=False, check=check)
