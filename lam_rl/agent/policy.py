"""Policies behind one interface: the scripted expert, a language model through a generate
function (the policy server, in the cluster), and an LLM expert through any OpenAI-compatible
endpoint (how the paper used GPT-4o).

A rollout worker calls ``reset(task)``, then per step ``act(obs)`` and, after grounding and
executing the decision, ``record(decision, control)``. A malformed model answer comes back as an
invalid ``PolicyOutput`` (counted by the worker); an unreachable model raises ``PolicyError``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from lam_rl.agent.args import ArgCandidates
from lam_rl.agent.parse import parse_decision
from lam_rl.agent.prompt import HistoryItem, PromptBuilder
from lam_rl.env.protocol import FUNCTIONS, Control, Decision, Observation, TaskSpec


class PolicyError(RuntimeError):
    """The policy could not answer (server down, timeout): an infrastructure failure, not the model's."""


@dataclass
class PolicyOutput:
    decision: Decision | None
    raw: str | None = None
    error: str | None = None
    version: int = 0
    latency_ms: float = 0.0
    prompt: str | None = None
    args: ArgCandidates | None = None
    """The candidate arguments the prompt listed (``agent.arg_labels``); grounding resolves labels
    against them. None: the answer's arguments are literal."""

    @property
    def valid(self) -> bool:
        return self.decision is not None


class Policy(ABC):
    name: str = "policy"
    version: int = 0

    @abstractmethod
    def reset(self, task: TaskSpec) -> None: ...

    @abstractmethod
    def act(self, obs: Observation) -> PolicyOutput: ...

    def record(self, decision: Decision, control: Control | None) -> None:  # noqa: B027 - optional hook
        """Told what was executed (history for the next prompt)."""


class ExpertAdapter(Policy):
    """The scripted expert (``lam_rl.env.expert.ExpertPolicy``) behind the policy interface."""

    def __init__(self, expert, name: str = "expert") -> None:
        self.expert = expert
        self.name = name

    def reset(self, task: TaskSpec) -> None:
        self.expert.reset(task)

    def act(self, obs: Observation) -> PolicyOutput:
        t = time.perf_counter()
        decision = self.expert.act(obs)
        return PolicyOutput(decision, version=0, latency_ms=(time.perf_counter() - t) * 1000)


# generate(prompt, pinned_version) -> (text, version)
GenerateFn = Callable[[str, "int | None"], tuple[str, int]]


class LMPolicy(Policy):
    """A language model acting from Appendix C prompts; generation is delegated to ``generate``.

    The checkpoint version is pinned for an episode at its first step, so a policy-server swap
    takes effect at the next episode.
    """

    def __init__(self, generate: GenerateFn, builder: PromptBuilder, name: str = "lam") -> None:
        self.generate = generate
        self.builder = builder
        self.name = name
        self.task: TaskSpec | None = None
        self.history: list[HistoryItem] = []
        self.plan: list[str] = []
        self.pinned: int | None = None

    def reset(self, task: TaskSpec) -> None:
        self.task = task
        self.history, self.plan, self.pinned = [], [], None

    def act(self, obs: Observation) -> PolicyOutput:
        assert self.task is not None, "reset(task) first"
        prompt = self.builder.build(obs, self.task.request, self.history, self.plan)
        t = time.perf_counter()
        try:
            text, version = self.generate(prompt.text, self.pinned)
        except PolicyError:
            raise
        except Exception as e:  # noqa: BLE001 - any transport failure is an infrastructure failure
            raise PolicyError(f"{self.name}: generation failed: {type(e).__name__}: {e}") from e
        latency = (time.perf_counter() - t) * 1000
        if self.pinned is None:
            self.pinned = version
        self.version = version
        parsed = parse_decision(text)
        return PolicyOutput(parsed.decision, text, parsed.error, version, latency, prompt.text, prompt.args)

    def record(self, decision: Decision, control: Control | None) -> None:
        name = control.text if control is not None else decision.control_name
        ctype = control.type if control is not None else None
        if decision.function:
            self.history.append(HistoryItem(name, ctype, decision.function, dict(decision.args)))
        self.plan = list(decision.plan)


SYSTEM_PROMPT = (
    "You operate Microsoft Word through its UI controls. Each turn you get the available controls as "
    "'[label] name (type)', the user request, your previous actions and plan, and a document summary. "
    "Answer with one JSON object and nothing else, with keys: thought (short), control_label (int), "
    "control_name (the control's exact name), function (one of: " + ", ".join(FUNCTIONS) + "), "
    'args (object; e.g. click_input {"button": "left", "double": false}, set_edit_text {"text": ...}, '
    'select_text {"text": ...}, insert_table {"rows": R, "columns": C}, keyboard_input {"keys": ...}), '
    "status (CONTINUE, or FINISH when this action completes the request) and plan (the remaining steps)."
)


def openai_generate(
    base_url: str,
    api_key: str,
    model: str,
    *,
    system_prompt: str | None = SYSTEM_PROMPT,
    temperature: float = 0.0,
    max_tokens: int = 256,
    timeout_s: float = 60.0,
) -> GenerateFn:
    """A generate function over any OpenAI-compatible ``/v1/chat/completions`` endpoint."""
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=2)

    def generate(prompt: str, pinned: int | None) -> tuple[str, int]:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": prompt}
        ]
        try:
            resp = client.chat.completions.create(
                model=model, messages=messages, temperature=temperature, max_tokens=max_tokens
            )
        except Exception as e:  # noqa: BLE001
            raise PolicyError(f"OpenAI-compatible endpoint {base_url} failed: {type(e).__name__}: {e}") from e
        fingerprint = str(getattr(resp, "system_fingerprint", "") or "")  # lam-rl's server: the version
        version = int(fingerprint) if fingerprint.isdigit() else 0
        return resp.choices[0].message.content or "", version

    return generate
