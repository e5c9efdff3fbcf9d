"""The policy server: a Ray Serve deployment that batches generation for many rollout workers.

- ``handle.generate.remote(prompt, version=None)`` -> ``{"text", "version", ...}`` for workers in
  the cluster (dynamic batching with ``cluster.batching.Batcher``; requests of a batch may pin
  different loaded versions and are grouped by version).
- ``POST /v1/chat/completions`` (OpenAI-compatible, bearer token) so a trained LAM plugs into UFO
  or any agent speaking that API; ``GET /v1/models``; ``GET /v1/health``.
- Hot swap: ``swap_checkpoint`` posts a new target (path, version) on a small named actor, the
  version board; every replica follows it from a background thread, loads the new checkpoint
  beside the old one, switches atomically and acknowledges. No replica restarts, no request is
  dropped, and the previous version stays loaded so episodes pinned to it finish on it.

(No ``from __future__ import annotations`` here: FastAPI must see the real body model types.)
"""

import contextlib
import logging
import os
import threading
import time
import uuid
from typing import Any

import ray
from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field
from ray import serve

from cluster.batching import Batcher
from cluster.serving import read_token, require_token, swap, version_board
from lam_rl.agent.config import PolicyServeConfig
from lam_rl.agent.generation import Generator

log = logging.getLogger(__name__)
api = FastAPI(title="lam-rl policy server", version="1")


class ChatMessage(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0.0, le=5.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1, le=4096)
    seed: int | None = None


@serve.deployment(name="PolicyServer")
@serve.ingress(api)
class PolicyServer:
    def __init__(
        self, serve_cfg: dict[str, Any], token: str | None, model_name: str = "lam", app_name: str = "policy"
    ) -> None:
        import torch

        self.cfg = PolicyServeConfig(**serve_cfg)
        self.model_name = model_name
        torch.set_num_threads(max(1, int(self.cfg.cpus_per_replica)))
        api.state.token = token
        self.generators: dict[int, Generator] = {}
        self.current: int | None = None
        self.served = 0
        self._swap_lock = threading.Lock()
        self._configure_batching()
        self.board = version_board(app_name)
        target = ray.get(self.board.get.remote())
        self._load(*target)
        threading.Thread(target=self._follow, name="policy-version-follower", daemon=True).start()

    def _configure_batching(self) -> None:
        self.batcher = Batcher(self._generate_batch, self.cfg.max_batch_size, self.cfg.batch_wait_ms / 1000.0)

    # ------------------------------------------------------------------ versions
    def _load(self, path: str, version: int) -> None:
        """Load ``path`` beside the current checkpoint, then make it current (atomic switch)."""
        with self._swap_lock:
            if version not in self.generators:
                self.generators[version] = Generator(path, version=version, dtype=self.cfg.dtype)
            self.current = version
            for old in sorted(self.generators)[: -self.cfg.keep_versions]:
                del self.generators[old]
        replica = serve.get_replica_context().replica_id.unique_id
        self.board.ack.remote(replica, version)
        log.info("policy server replica %s serves %s (version %d)", replica, path, version)

    def _follow(self) -> None:
        while True:
            time.sleep(0.25)
            try:
                target = ray.get(self.board.get.remote())
                if target is not None and target[1] != self.current:
                    self._load(*target)
            except Exception:  # noqa: BLE001 - keep serving the current version; retry next tick
                log.exception("policy server could not follow the version board")

    def _pick(self, version: int | None) -> Generator:
        if self.current is None:
            raise RuntimeError("no checkpoint loaded yet")
        if version is not None and version in self.generators:
            return self.generators[version]
        return self.generators[self.current]

    # ------------------------------------------------------------------ batching
    def _generate_batch(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Runs in the batcher's thread: group by (version, decoding settings), generate each group."""
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            gen = self._pick(r.get("version"))
            key = (gen.version, r["temperature"], r["top_p"], r["max_new_tokens"], r["chat"])
            groups.setdefault(key, []).append(i)
        out: list[dict[str, Any] | None] = [None] * len(requests)
        for (version, temperature, top_p, max_new, chat), idx in groups.items():
            gen = self.generators.get(version) or self._pick(None)
            results = gen.generate(
                [requests[i]["prompt"] for i in idx],
                max_new_tokens=max_new,
                temperature=temperature,
                top_p=top_p,
                chat=chat,
            )
            for i, g in zip(idx, results, strict=True):
                out[i] = {
                    "text": g.text,
                    "version": gen.version,
                    "prompt_tokens": g.prompt_tokens,
                    "completion_tokens": g.completion_tokens,
                    "finish_reason": g.finish_reason,
                    "batch_size": len(requests),
                }
        self.served += len(requests)
        return out  # type: ignore[return-value]

    async def generate(
        self,
        prompt: str,
        version: int | None = None,
        temperature: float | None = None,
        max_new_tokens: int | None = None,
        chat: bool = True,
    ) -> dict[str, Any]:
        """Handle API for rollout workers: one prompt (the Appendix C text) -> one answer."""
        return await self.batcher.submit(
            {
                "prompt": prompt,
                "version": version,
                "temperature": self.cfg.temperature if temperature is None else temperature,
                "top_p": self.cfg.top_p,
                "max_new_tokens": max_new_tokens or self.cfg.max_new_tokens,
                "chat": chat,
            }
        )

    async def info(self) -> dict[str, Any]:
        return {
            "version": self.current,
            "loaded": sorted(self.generators),
            "served": self.served,
            "batches": self.batcher.batches,
            "path": str(self.generators[self.current].path) if self.current is not None else None,
        }

    # ------------------------------------------------------------------ HTTP
    @api.get("/v1/health")
    async def health(self) -> dict[str, Any]:
        return {"ok": self.current is not None, **(await self.info())}

    @api.get("/v1/models", dependencies=[Depends(require_token)])
    async def models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": self.model_name, "object": "model", "created": 0, "owned_by": "lam-rl"}],
        }

    @api.post("/v1/chat/completions", dependencies=[Depends(require_token)])
    async def chat_completions(self, body: ChatRequest) -> dict[str, Any]:
        gen = self._pick(None)
        text = gen.chat_text([m.model_dump() for m in body.messages])
        r = await self.batcher.submit(
            {
                "prompt": text,
                "version": None,
                "temperature": self.cfg.temperature if body.temperature is None else body.temperature,
                "top_p": body.top_p or self.cfg.top_p,
                "max_new_tokens": body.max_tokens or self.cfg.max_new_tokens,
                "chat": False,
            }
        )
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model or self.model_name,
            "system_fingerprint": str(r["version"]),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": r["text"]},
                    "finish_reason": r["finish_reason"],
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": r["prompt_tokens"],
                "completion_tokens": r["completion_tokens"],
                "total_tokens": r["prompt_tokens"] + r["completion_tokens"],
            },
        }


APP_NAME = "policy"


def deploy(
    cfg: PolicyServeConfig,
    checkpoint: str | os.PathLike,
    version: int,
    *,
    app_name: str = APP_NAME,
    model_name: str = "lam",
    route_prefix: str = "/",
):
    """Start the policy server app serving ``checkpoint`` as ``version``; returns its handle."""
    from dataclasses import asdict

    token = read_token(cfg.token_env, cfg.token_file)
    board = version_board(app_name)
    ray.get(board.set.remote(str(checkpoint), int(version)))
    serve.start(http_options={"host": cfg.http_host, "port": cfg.http_port})
    dep = PolicyServer.options(
        num_replicas=cfg.num_replicas,
        max_ongoing_requests=max(64, 2 * cfg.max_batch_size),
        ray_actor_options={"num_cpus": cfg.cpus_per_replica, "num_gpus": cfg.gpus_per_replica},
    )
    return serve.run(
        dep.bind(asdict(cfg), token, model_name, app_name),
        name=app_name,
        route_prefix=route_prefix,
        blocking=False,
    )


def swap_checkpoint(
    checkpoint: str, version: int, *, app_name: str = APP_NAME, replicas: int = 1, timeout_s: float = 120.0
) -> None:
    """Point every replica of a running app at a newer checkpoint; wait until they serve it."""
    swap(app_name, checkpoint, version, replicas=replicas, timeout_s=timeout_s)


def shutdown(app_name: str = APP_NAME) -> None:
    serve.delete(app_name)
    with contextlib.suppress(ValueError):
        ray.kill(ray.get_actor(f"{app_name}-versions"))


def serve_generate_fn(handle, timeout_s: float = 120.0):
    """A ``GenerateFn`` (lam_rl.agent.policy) over a Serve handle, for rollout workers."""
    from lam_rl.agent.policy import PolicyError

    def generate(prompt: str, pinned: int | None) -> tuple[str, int]:
        try:
            r = handle.generate.remote(prompt, version=pinned).result(timeout_s=timeout_s)
        except Exception as e:  # noqa: BLE001
            raise PolicyError(f"policy server failed: {type(e).__name__}: {e}") from e
        return r["text"], int(r["version"])

    return generate
