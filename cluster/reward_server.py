"""The reward-model server: a Ray Serve deployment that scores (state, action) pairs in batches.

- ``handle.score.remote(prompt, action)`` -> reward in [0, 1] (sigmoid of the RM head), batched
  across all callers (``cluster.batching.Batcher``).
- ``POST /v1/score`` ``{"items": [{"prompt": ..., "action": ...}, ...]}`` -> ``{"scores", "version"}``
  over HTTP with a bearer token; malformed requests get a 400 (413 for too many items) with one
  short line naming the problem, and never reach the model. Scored sequences are capped at
  ``max_len`` tokens (and the model's positions): a long prompt loses its oldest tokens, as in
  training; an action that cannot fit is refused.
- ``GET /v1/health`` reports the checkpoint and its version; ``swap_checkpoint`` moves every replica
  to a newer RM through the version board (as the policy server does).

(No ``from __future__ import annotations`` here: FastAPI must see the real body model types.)
"""

import asyncio
import logging
import threading
from dataclasses import asdict
from typing import Annotated, Any

import ray
from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from ray import serve

from cluster.batching import Batcher
from cluster.config import RewardServeConfig, ServeConfig
from cluster.serving import (
    ApiError,
    Text,
    follow_version_board,
    install_http_guards,
    read_token,
    require_token,
    start_serve,
    swap,
    valid_unicode,
    version_board,
)
from lam_rl.agent.generation import context_length
from lam_rl.algos.reward import RewardScorer

log = logging.getLogger(__name__)
api = FastAPI(title="lam-rl reward server", version="1")
install_http_guards(api)
APP_NAME = "reward"


class ScoreItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    prompt: Annotated[Text, Field(min_length=1, max_length=100_000)]
    action: Annotated[Text, Field(min_length=1, max_length=20_000)]


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[ScoreItem] = Field(min_length=1)


@serve.deployment(name="RewardServer")
@serve.ingress(api)
class RewardServer:
    def __init__(self, serve_cfg: dict[str, Any], token: str | None, app_name: str = APP_NAME) -> None:
        import torch

        self.cfg = RewardServeConfig(**serve_cfg)
        torch.set_num_threads(max(1, int(self.cfg.cpus_per_replica)))
        api.state.token = token
        self.scorer: RewardScorer | None = None
        self.max_len = self.cfg.max_len
        self.version: int | None = None
        self.path: str | None = None
        self.scored = 0
        self._lock = threading.Lock()
        self.batcher = Batcher(self._score_items, self.cfg.max_batch_size, self.cfg.batch_wait_ms / 1000.0)
        self.board = version_board(app_name)
        self._load(*ray.get(self.board.get.remote()))
        follow_version_board(self.board, lambda: self.version, self._load, every_s=0.5, role="reward")

    def _load(self, path: str, version: int) -> None:
        # no GPU asked for: the CPU, even where Ray leaves the node's GPUs visible
        scorer = RewardScorer(path, device=None if self.cfg.gpus_per_replica > 0 else "cpu")
        max_len = min(self.cfg.max_len, context_length(scorer.model.config, scorer.tokenizer))
        with self._lock:
            self.scorer, self.version, self.path, self.max_len = scorer, version, path, max_len
        self.board.ack.remote(serve.get_replica_context().replica_id.unique_id, version)

    def _run(self, prompts: list[str], actions: list[str]) -> tuple[list[float], int]:
        with self._lock:
            scorer, version, max_len = self.scorer, self.version, self.max_len
        assert scorer is not None and version is not None
        return scorer.score(prompts, actions, max_len=max_len), version

    def _action_error(self, action: str) -> str | None:
        """Why ``action`` cannot be scored (it and the turn's end must fit ``max_len``), or None."""
        with self._lock:
            scorer, max_len = self.scorer, self.max_len
        assert scorer is not None
        n = len(scorer.tokenizer(action, add_special_tokens=False)["input_ids"])
        if n + 3 > max_len:  # the action, its end-of-turn token and at least two prompt tokens
            return (
                f"the action is {n} tokens; the reward model scores actions of at most {max_len - 3} tokens"
            )
        return None

    def _score_items(self, items: list[tuple[str, str]]) -> list[tuple[float, int]]:
        self.scored += len(items)
        scores, version = self._run([p for p, _ in items], [a for _, a in items])
        return [(s, version) for s in scores]

    async def score(self, prompt: str, action: str) -> float:
        """Handle API: the reward in [0, 1] of ``action`` in the state ``prompt``; ``ValueError``
        (to this caller only) for an action that cannot fit."""
        valid_unicode(prompt)  # a bad item fails only its caller, never a batch
        error = self._action_error(valid_unicode(action))
        if error:
            raise ValueError(error)
        s, _ = await self.batcher.submit((prompt, action))
        return s

    async def info(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "path": self.path,
            "scored": self.scored,
            "batches": self.batcher.batches,
            "max_len": self.max_len,
        }

    @api.get("/v1/health")
    async def health(self) -> dict[str, Any]:
        return {"ok": self.scorer is not None, **(await self.info())}

    @api.post("/v1/score", dependencies=[Depends(require_token)])
    async def score_http(self, body: ScoreRequest) -> dict[str, Any]:
        if len(body.items) > self.cfg.max_items:
            raise ApiError(413, f"at most {self.cfg.max_items} items per request, got {len(body.items)}")
        errors = await asyncio.to_thread(lambda: [self._action_error(it.action) for it in body.items])
        for i, error in enumerate(errors):
            if error:
                raise ApiError(400, f"items[{i}].action: {error}", param=f"items[{i}].action")
        results = await asyncio.gather(*(self.batcher.submit((it.prompt, it.action)) for it in body.items))
        return {"scores": [s for s, _ in results], "version": results[0][1]}


def deploy(
    cfg: RewardServeConfig,
    checkpoint: str,
    version: int,
    *,
    http: ServeConfig,
    app_name: str = APP_NAME,
    route_prefix: str = "/rm",
):
    """Start the reward server app on ``checkpoint`` behind Serve's HTTP proxy (``http``: the job's
    ``serve`` section); returns its handle."""
    token = read_token(cfg.token_env, cfg.token_file)
    ray.get(version_board(app_name).set.remote(str(checkpoint), int(version)))
    start_serve(http)
    dep = RewardServer.options(
        num_replicas=cfg.num_replicas,
        max_ongoing_requests=max(64, 2 * cfg.max_batch_size),
        ray_actor_options={"num_cpus": cfg.cpus_per_replica, "num_gpus": cfg.gpus_per_replica},
    )
    return serve.run(
        dep.bind(asdict(cfg), token, app_name), name=app_name, route_prefix=route_prefix, blocking=False
    )


def swap_checkpoint(
    checkpoint: str, version: int, *, app_name: str = APP_NAME, replicas: int = 1, timeout_s: float = 120.0
) -> None:
    """Point every replica of a running app at a newer checkpoint; wait until they serve it."""
    swap(app_name, checkpoint, version, replicas=replicas, timeout_s=timeout_s)
