"""The policy server: a Ray Serve deployment that batches generation for many rollout workers.

- ``handle.generate.remote(prompt, version=None)`` -> ``{"text", "version", ...}`` for workers in
  the cluster (dynamic batching with ``cluster.batching.Batcher``; requests of a batch may pin
  different loaded versions and are grouped by version).
- ``POST /v1/chat/completions`` (OpenAI-compatible, bearer token) so a trained LAM plugs into UFO
  or any agent speaking that API: ``stream`` (server-sent events, tokens as they are generated),
  ``n``, ``stop``, ``seed``, ``temperature``, ``top_p``, ``max_tokens``; anything it does not
  implement, an unknown role or field, or a request that does not fit the model's context is a 400
  naming it (never silently ignored). ``GET /v1/models``; ``GET /v1/health``.
- Hot swap: ``swap_checkpoint`` posts a new target (path, version) on a small named actor, the
  version board; every replica follows it from a background thread, loads the new checkpoint
  beside the old one, switches atomically and acknowledges. No replica restarts, no request is
  dropped, and the previous version stays loaded so episodes pinned to it finish on it.

(No ``from __future__ import annotations`` here: FastAPI must see the real body model types. Serve
captures the class when it is decorated, so module helpers its methods call are defined above it.)
"""

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import ray
from fastapi import Depends, FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from ray import serve

from cluster.batching import Batcher
from cluster.config import PolicyServeConfig, ServeConfig
from cluster.serving import (
    ApiError,
    Text,
    follow_version_board,
    install_http_guards,
    quote,
    read_token,
    require_token,
    start_serve,
    swap,
    version_board,
)
from lam_rl.agent.generation import ContextError, Generation, Generator, Request, derive_seed

log = logging.getLogger(__name__)
api = FastAPI(title="lam-rl policy server", version="1")
install_http_guards(api)

# Roles a chat may use, as the chat template names them ("developer" is OpenAI's newer "system").
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_N = 16  # choices per request
MAX_STOPS = 4  # stop strings per request (as the OpenAI API)
CHARS_PER_TOKEN = 64  # no tokenizer packs more: longer messages are refused before tokenizing
# OpenAI request fields this server does not implement, with the values that mean "not used":
# those values are accepted, anything else is a 400 naming the field.
UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "presence_penalty": (None, 0),
    "frequency_penalty": (None, 0),
    "tools": (None, []),
    "tool_choice": (None, "none"),
    "parallel_tool_calls": (None, True, False),
    "functions": (None, []),
    "function_call": (None, "none"),
    "response_format": (None, {"type": "text"}),
    "store": (None, False),
    "metadata": (None, {}),
    "modalities": (None, ["text"]),
    "audio": (None,),
    "prediction": (None,),
    "reasoning_effort": (None,),
    "web_search_options": (None,),
    "service_tier": (None, "auto", "default"),
}


def _neutral(value: Any, allowed: tuple[Any, ...]) -> bool:
    """Whether ``value`` is one of ``allowed`` (numbers compare as numbers, booleans only as booleans)."""
    for a in allowed:
        if value is None or value is a:
            return True
        if isinstance(a, bool) or isinstance(value, bool):
            continue
        numbers = isinstance(a, int | float) and isinstance(value, int | float)
        if (numbers or type(value) is type(a)) and value == a:
            return True
    return False


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: str
    content: Text

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, v: Any) -> str:
        if v in ("tool", "function"):
            raise ValueError(f"role {v!r} is not supported: this server has no tool calling")
        if not isinstance(v, str) or v not in ROLES:
            raise ValueError(f"role {quote(v)} is not supported; use system, developer, user or assistant")
        return v

    @field_validator("content", mode="before")
    @classmethod
    def _content(cls, v: Any) -> Any:
        """A string, or a list of text parts (joined with newlines)."""
        if v is None:
            raise ValueError("content is required (tool calls are not supported)")
        if not isinstance(v, list):
            return v
        texts = []
        for j, part in enumerate(v):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind != "text":
                raise ValueError(
                    f"content part {j} has type {quote(kind)}: only text parts are supported "
                    "(this model reads text, not images, audio or files)"
                )
            if set(part) != {"type", "text"} or not isinstance(part["text"], str):
                raise ValueError(f"content part {j} must be exactly {{'type': 'text', 'text': <string>}}")
            texts.append(part["text"])
        return "\n".join(texts)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    model: Annotated[Text, Field(max_length=256)] | None = None  # accepted, not checked
    messages: list[ChatMessage] = Field(min_length=1, max_length=4096)
    temperature: float | None = Field(None, ge=0.0, le=5.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int = Field(1, ge=1, le=MAX_N)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: Text | list[Text] | None = None
    seed: int | None = Field(None, ge=-(2**63), le=2**64 - 1)
    user: Annotated[Text, Field(max_length=256)] | None = None  # an end-user id: accepted, not used

    @model_validator(mode="before")
    @classmethod
    def _unsupported(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, allowed in UNSUPPORTED.items():
            if key in data and not _neutral(data[key], allowed):  # ApiError: answered with its param
                raise ApiError(
                    400,
                    f"{key} is not supported by this server; leave it out",
                    param=key,
                    code="unsupported_parameter",
                )
        return {k: v for k, v in data.items() if k not in UNSUPPORTED}

    @field_validator("stop")
    @classmethod
    def _stop(cls, v: str | list[str] | None) -> list[str]:
        stops = [v] if isinstance(v, str) else list(v or [])
        if len(stops) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop strings are supported, got {len(stops)}")
        if any(not s for s in stops):
            raise ValueError("stop strings must not be empty")
        return stops

    @model_validator(mode="after")
    def _consistent(self) -> "ChatRequest":
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options is only allowed when stream is true")
        if None not in (self.max_tokens, self.max_completion_tokens) and (
            self.max_tokens != self.max_completion_tokens
        ):
            raise ValueError("max_tokens and max_completion_tokens disagree; send one of them")
        return self


def _answer(g: Generation, version: int, batch_size: int) -> dict[str, Any]:
    return {
        "text": g.text,
        "version": version,
        "prompt_tokens": g.prompt_tokens,
        "completion_tokens": g.completion_tokens,
        "finish_reason": g.finish_reason,
        "batch_size": batch_size,
    }


def _usage(prompt_tokens: int, completion_tokens: list[int]) -> dict[str, int]:
    completion = sum(completion_tokens)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


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
        follow_version_board(self.board, lambda: self.current, self._load, every_s=0.25, role="policy")

    def _configure_batching(self) -> None:
        self.batcher = Batcher(self._generate_batch, self.cfg.max_batch_size, self.cfg.batch_wait_ms / 1000.0)

    # ------------------------------------------------------------------ versions
    def _load(self, path: str, version: int) -> None:
        """Load ``path`` beside the current checkpoint, then make it current (atomic switch)."""
        with self._swap_lock:
            if version not in self.generators:
                # no GPU asked for: the CPU, even where Ray leaves the node's GPUs visible
                device = None if self.cfg.gpus_per_replica > 0 else "cpu"
                self.generators[version] = Generator(
                    path, version=version, dtype=self.cfg.dtype, device=device
                )
            self.current = version
            for old in sorted(self.generators)[: -self.cfg.keep_versions]:
                del self.generators[old]
        replica = serve.get_replica_context().replica_id.unique_id
        self.board.ack.remote(replica, version)
        log.info("policy server replica %s serves %s (version %d)", replica, path, version)

    def _pick(self, version: int | None) -> Generator:
        if self.current is None:
            raise RuntimeError("no checkpoint loaded yet")
        if version is not None and version in self.generators:
            return self.generators[version]
        return self.generators[self.current]

    # ------------------------------------------------------------------ batching
    def _generate_batch(self, requests: list[dict[str, Any]]) -> list[Any]:
        """Runs in the batcher's thread: one batched generate per checkpoint version. Each item's
        result is its answer, or the exception its group raised (only that group's callers see it)."""
        groups: dict[int, list[int]] = {}
        for i, r in enumerate(requests):
            gen = self.generators.get(r["version"]) or self._pick(None)
            groups.setdefault(gen.version, []).append(i)
        out: list[Any] = [None] * len(requests)
        for version, idx in groups.items():
            gen = self.generators.get(version) or self._pick(None)
            try:
                results = gen.run([requests[i]["request"] for i in idx])
            except Exception as e:  # noqa: BLE001 - handed to this group's callers, the batcher lives on
                log.exception("policy server: a batch of %d failed", len(idx))
                results = [e] * len(idx)
            for i, g in zip(idx, results, strict=True):
                out[i] = g if isinstance(g, Exception) else _answer(g, gen.version, len(requests))
        self.served += len(requests)
        return out

    async def _submit(self, version: int, request: Request) -> dict[str, Any]:
        r = await self.batcher.submit({"version": version, "request": request})
        if isinstance(r, Exception):
            raise r
        return r

    async def generate(
        self,
        prompt: str,
        version: int | None = None,
        temperature: float | None = None,
        max_new_tokens: int | None = None,
        chat: bool = True,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> dict[str, Any]:
        """Handle API for rollout workers: one prompt (the Appendix C text) -> one answer.

        The token budget is clamped to the room the prompt leaves in the model's context; a prompt
        that leaves none raises ``ContextError`` to this caller only."""
        gen = self._pick(version)
        text = gen.chat_text([{"role": "user", "content": prompt}]) if chat else prompt
        n = gen.count_tokens(text)
        budget = min(max_new_tokens or self.cfg.max_new_tokens, gen.room(n))
        gen.check_fits(n, max(budget, 1))
        request = Request(
            text,
            max_new_tokens=budget,
            temperature=self.cfg.temperature if temperature is None else temperature,
            top_p=self.cfg.top_p,
            seed=seed,
            stop=tuple(stop or ()),
        )
        return await self._submit(gen.version, request)

    async def info(self) -> dict[str, Any]:
        gen = self.generators.get(self.current) if self.current is not None else None
        return {
            "version": self.current,
            "loaded": sorted(self.generators),
            "served": self.served,
            "batches": self.batcher.batches,
            "path": str(gen.path) if gen is not None else None,
            "context_length": gen.max_positions if gen is not None else None,
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

    def _prompt(self, gen: Generator, messages: list[ChatMessage]) -> tuple[str, int]:
        """The chat-template text of ``messages`` and its token count; 400 when it cannot fit."""
        chars = sum(len(m.content) for m in messages)
        if chars > CHARS_PER_TOKEN * gen.max_positions:
            raise ApiError(
                400,
                f"the messages are {chars} characters, far more than this model's maximum context "
                f"length of {gen.max_positions} tokens holds; shorten them",
                param="messages",
                code="context_length_exceeded",
            )
        try:
            text = gen.chat_text([{"role": ROLES[m.role], "content": m.content} for m in messages])
        except Exception as e:  # noqa: BLE001 - a template that refuses a conversation (e.g. role order)
            raise ApiError(
                400,
                f"the model's chat template refused these messages: {quote(str(e), 200)}",
                param="messages",
            ) from None
        return text, gen.count_tokens(text)

    @api.post("/v1/chat/completions", dependencies=[Depends(require_token)])
    async def chat_completions(self, body: ChatRequest) -> Any:
        gen = self._pick(None)
        text, prompt_tokens = self._prompt(gen, body.messages)
        asked = body.max_completion_tokens or body.max_tokens
        budget = asked if asked is not None else max(1, min(self.cfg.max_new_tokens, gen.room(prompt_tokens)))
        try:
            gen.check_fits(prompt_tokens, budget)
        except ContextError as e:
            param = "max_tokens" if asked is not None and prompt_tokens < gen.max_positions else "messages"
            raise ApiError(400, str(e), param=param, code="context_length_exceeded") from None
        temperature = self.cfg.temperature if body.temperature is None else body.temperature
        requests = [
            Request(
                text,
                max_new_tokens=budget,
                temperature=temperature,
                top_p=body.top_p or self.cfg.top_p,
                seed=None if body.seed is None else derive_seed(body.seed, i),
                stop=tuple(body.stop or ()),
            )
            for i in range(body.n)
        ]
        meta = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": self.model_name,
            "system_fingerprint": str(gen.version),
        }
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                self._stream(gen.version, requests, meta, include_usage),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        answers = await asyncio.gather(*(self._submit(gen.version, r) for r in requests))
        return {
            **meta,
            "object": "chat.completion",
            "system_fingerprint": str(answers[0]["version"]),
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": a["text"]},
                    "finish_reason": a["finish_reason"],
                    "logprobs": None,
                }
                for i, a in enumerate(answers)
            ],
            "usage": _usage(answers[0]["prompt_tokens"], [a["completion_tokens"] for a in answers]),
        }

    async def _stream(
        self, version: int, requests: list[Request], meta: dict[str, Any], include_usage: bool
    ) -> AsyncIterator[str]:
        """Server-sent events: each choice's text as the batch generates it, then its finish reason,
        the usage (with ``stream_options.include_usage``) and ``data: [DONE]``."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[int, str, Any]] = asyncio.Queue()

        def push(i: int, kind: str, payload: Any) -> None:  # called from the generating thread
            loop.call_soon_threadsafe(events.put_nowait, (i, kind, payload))

        for i, r in enumerate(requests):
            r.on_text = lambda piece, i=i: push(i, "text", piece)
            r.on_done = lambda g, i=i: push(i, "done", g)
        tasks = [asyncio.ensure_future(self._submit(version, r)) for r in requests]
        for i, t in enumerate(tasks):
            t.add_done_callback(lambda t, i=i: events.put_nowait((i, "end", t)))

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            body = {**meta, "object": "chat.completion.chunk", "choices": choices, **extra}
            if include_usage and "usage" not in extra:
                body["usage"] = None
            return f"data: {json.dumps(body, separators=(',', ':'))}\n\n"

        def choice(i: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}

        yield chunk([choice(i, {"role": "assistant", "content": ""}) for i in range(len(requests))])
        done: dict[int, Generation] = {}
        while len(done) < len(requests):
            i, kind, payload = await events.get()
            if kind == "text":
                yield chunk([choice(i, {"content": payload})])
            elif kind == "done":
                done[i] = payload
                yield chunk([choice(i, {}, payload.finish_reason)])
            elif kind == "end" and payload.exception() is not None and i not in done:
                e = payload.exception()
                log.error("policy server: a streamed generation failed: %s", e)
                err = {"message": f"generation failed: {type(e).__name__}", "type": "server_error"}
                yield f"data: {json.dumps({'error': err})}\n\n"
                return
        if include_usage:
            prompt = next(iter(done.values())).prompt_tokens
            usage = _usage(prompt, [done[i].completion_tokens for i in sorted(done)])
            yield chunk([], usage=usage)
        yield "data: [DONE]\n\n"


APP_NAME = "policy"


def deploy(
    cfg: PolicyServeConfig,
    checkpoint: str | os.PathLike,
    version: int,
    *,
    http: ServeConfig,
    app_name: str = APP_NAME,
    model_name: str = "lam",
    route_prefix: str = "/",
):
    """Start the policy server app serving ``checkpoint`` as ``version`` behind Serve's HTTP proxy
    (``http``: the job's ``serve`` section); returns its handle."""
    from dataclasses import asdict

    token = read_token(cfg.token_env, cfg.token_file)
    board = version_board(app_name)
    ray.get(board.set.remote(str(checkpoint), int(version)))
    start_serve(http)
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
