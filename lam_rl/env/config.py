"""Configuration of the VM side (WordSim switches, serving, the client) and of the scripted expert."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import SEED_MAX, check_ranges, opt


@dataclass
class EnvConfig:
    host: str = opt(
        "127.0.0.1",
        "Interface `lam-rl env serve` binds. Keep loopback unless the VM must be reached from outside "
        "(then use a firewall: the token is the only protection).",
    )
    port: int = opt(
        8700,
        "Port of `lam-rl env serve` (the first port with --count N; 0 picks free ports).",
        ge=0,
        le=65535,
    )
    token_file: str | None = opt(
        None,
        "File holding the bearer token VM agents require (LAM_VM_TOKEN overrides it). Serving without "
        "a token is refused.",
    )
    latency_ms: float = opt(
        0.0, "Extra latency the server adds to every step (ms), to mimic a real VM's UI automation.", ge=0
    )
    latency_jitter_ms: float = opt(0.0, "Uniform random jitter added to latency_ms (ms).", ge=0)
    crash_rate: float = opt(
        0.0,
        "Probability that a request crashes the VM agent: its connections drop and it stops listening "
        "(connection refused) until restarted.",
        ge=0,
        le=1,
    )
    hang_rate: float = opt(
        0.0,
        "Probability that a request hangs the VM: it answers nothing until hang_s passes (or it stops).",
        ge=0,
        le=1,
    )
    http500_rate: float = opt(
        0.0, "Probability that a request fails with HTTP 500 (code 'injected_fault').", ge=0, le=1
    )
    slow_reset_rate: float = opt(0.0, "Probability that a reset takes slow_reset_s longer.", ge=0, le=1)
    slow_reset_s: float = opt(5.0, "Extra seconds a slow reset takes.", ge=0)
    hang_s: float = opt(
        3600.0, "How long a hung VM stays silent (seconds); clients give up at their timeout.", ge=0
    )
    fault_seed: int = opt(
        0, "Seed of the fault-injection random draws (each VM also mixes in its name).", ge=0, le=SEED_MAX
    )
    max_request_bytes: int = opt(
        1_048_576, "Largest request body the server accepts (bytes); larger requests get HTTP 413.", ge=1024
    )
    max_steps: int = opt(
        100,
        "Hard cap on steps per episode inside the VM (0: none); further steps fail with 'step_limit'. "
        "Rollouts should use a lower limit of their own (docs/env.md recommends 12, 20 for composites).",
        ge=0,
    )
    timeout_s: float = opt(30.0, "Client timeout per request (seconds).", gt=0)
    reset_timeout_s: float = opt(
        120.0, "Client timeout of a reset (seconds); resets of real VMs are slow.", gt=0
    )
    connect_retries: int = opt(
        3, "Client retries after a connection error (refused/dropped before an answer), with backoff.", ge=0
    )
    backoff_s: float = opt(0.2, "First retry delay (seconds); doubles on each further retry.", ge=0)

    def __post_init__(self) -> None:
        check_ranges(self, "env")  # also built from `lam-rl env serve` options, not only by the loader


@dataclass
class ExpertConfig:
    noise: bool = opt(
        True, "Turn the expert's error model on (default rates give ~60-70% task success) or off (100%)."
    )
    near_miss_rate: float = opt(
        0.05,
        "Per step: click a near-miss control instead (Italic for Bold, Heading 2 for Heading 1, ...).",
        ge=0,
        le=1,
    )
    skip_rate: float = opt(0.04, "Per step: skip the step (e.g. forget to open the tab).", ge=0, le=1)
    wrong_arg_rate: float = opt(
        0.07,
        "Per step with arguments: use a wrong argument (size 12 for 14, part of the text, a typo).",
        ge=0,
        le=1,
    )
    premature_finish_rate: float = opt(
        0.07, "Per task (of two or more steps): say FINISH one or more steps too early.", ge=0, le=1
    )
    give_up_rate: float = opt(0.05, "Per task: give up midway (a bare FINISH with no action).", ge=0, le=1)
    thought_words: int = opt(10, "Maximum words of the expert's thought.", ge=1)

    def __post_init__(self) -> None:
        check_ranges(self, "expert")
