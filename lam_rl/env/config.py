"""Configuration of the VM side (WordSim switches, serving, the client) and of the scripted expert."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import ConfigError, opt

_RATES = ("crash_rate", "hang_rate", "http500_rate", "slow_reset_rate")


def _check_rate(section: str, name: str, value: float) -> None:
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"config key '{section}.{name}' must be a probability in [0, 1], got {value!r}")


@dataclass
class EnvConfig:
    host: str = opt(
        "127.0.0.1",
        "Interface `lam-rl env serve` binds. Keep loopback unless the VM must be reached from outside "
        "(then use a firewall: the token is the only protection).",
    )
    port: int = opt(8700, "Port of `lam-rl env serve` (the first port with --count N; 0 picks free ports).")
    token_file: str | None = opt(
        None,
        "File holding the bearer token VM agents require (LAM_VM_TOKEN overrides it). Serving without "
        "a token is refused.",
    )
    latency_ms: float = opt(
        0.0, "Extra latency the server adds to every step (ms), to mimic a real VM's UI automation."
    )
    latency_jitter_ms: float = opt(0.0, "Uniform random jitter added to latency_ms (ms).")
    crash_rate: float = opt(
        0.0,
        "Probability that a request crashes the VM agent: its connections drop and it stops listening "
        "(connection refused) until restarted.",
    )
    hang_rate: float = opt(
        0.0, "Probability that a request hangs the VM: it answers nothing until hang_s passes (or it stops)."
    )
    http500_rate: float = opt(0.0, "Probability that a request fails with HTTP 500 (code 'injected_fault').")
    slow_reset_rate: float = opt(0.0, "Probability that a reset takes slow_reset_s longer.")
    slow_reset_s: float = opt(5.0, "Extra seconds a slow reset takes.")
    hang_s: float = opt(
        3600.0, "How long a hung VM stays silent (seconds); clients give up at their timeout."
    )
    fault_seed: int = opt(0, "Seed of the fault-injection random draws (each VM also mixes in its name).")
    max_request_bytes: int = opt(
        1_048_576, "Largest request body the server accepts (bytes); larger requests get HTTP 413."
    )
    max_steps: int = opt(
        100,
        "Hard cap on steps per episode inside the VM (0: none); further steps fail with 'step_limit'. "
        "Rollouts should use a lower limit of their own (docs/env.md recommends 12, 20 for composites).",
    )
    timeout_s: float = opt(30.0, "Client timeout per request (seconds).")
    reset_timeout_s: float = opt(120.0, "Client timeout of a reset (seconds); resets of real VMs are slow.")
    connect_retries: int = opt(
        3, "Client retries after a connection error (refused/dropped before an answer), with backoff."
    )
    backoff_s: float = opt(0.2, "First retry delay (seconds); doubles on each further retry.")

    def __post_init__(self) -> None:
        for name in _RATES:
            _check_rate("env", name, getattr(self, name))
        for name in ("latency_ms", "latency_jitter_ms", "slow_reset_s", "hang_s", "backoff_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"config key 'env.{name}' must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"config key 'env.port' must be a TCP port (0-65535), got {self.port}")
        if self.max_request_bytes < 1024:
            raise ConfigError("config key 'env.max_request_bytes' must be at least 1024")
        if self.timeout_s <= 0 or self.reset_timeout_s <= 0:
            raise ConfigError("config keys 'env.timeout_s' and 'env.reset_timeout_s' must be > 0")
        if self.connect_retries < 0 or self.max_steps < 0:
            raise ConfigError("config keys 'env.connect_retries' and 'env.max_steps' must be >= 0")


@dataclass
class ExpertConfig:
    noise: bool = opt(
        True, "Turn the expert's error model on (default rates give ~60-70% task success) or off (100%)."
    )
    near_miss_rate: float = opt(
        0.05, "Per step: click a near-miss control instead (Italic for Bold, Heading 2 for Heading 1, ...)."
    )
    skip_rate: float = opt(0.04, "Per step: skip the step (e.g. forget to open the tab).")
    wrong_arg_rate: float = opt(
        0.07, "Per step with arguments: use a wrong argument (size 12 for 14, part of the text, a typo)."
    )
    premature_finish_rate: float = opt(
        0.07, "Per task (of two or more steps): say FINISH one or more steps too early."
    )
    give_up_rate: float = opt(0.05, "Per task: give up midway (a bare FINISH with no action).")
    thought_words: int = opt(10, "Maximum words of the expert's thought.")

    def __post_init__(self) -> None:
        for name in (
            "near_miss_rate",
            "skip_rate",
            "wrong_arg_rate",
            "premature_finish_rate",
            "give_up_rate",
        ):
            _check_rate("expert", name, getattr(self, name))
        if self.thought_words < 1:
            raise ConfigError("config key 'expert.thought_words' must be >= 1")
