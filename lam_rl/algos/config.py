"""Configuration of the learners: the DeepSpeed engine (shared by SFT, RM and PPO) and optimisers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from lam_rl.config import ConfigError, check_choice, opt
from lam_rl.store.config import check_uri


def check_resources(key: str, resources: dict[str, float]) -> None:
    """A custom-resource request: names other than CPU/GPU/memory, finite amounts > 0."""
    for name, amount in resources.items():
        if name in ("CPU", "GPU", "memory", "object_store_memory"):
            raise ConfigError(
                f"config key '{key}' names {name!r}; lam-rl sizes CPUs, GPUs and memory itself: "
                "list only custom resources (e.g. {learner: 1})"
            )
        ok = isinstance(amount, (int, float)) and not isinstance(amount, bool)
        if not ok or not math.isfinite(amount) or amount <= 0:
            raise ConfigError(
                f"config key '{key}.{name}' is {amount!r}; give a number > 0 (e.g. {{{name}: 1}})"
            )


@dataclass
class LearnerConfig:
    num_workers: int = opt(1, "Ray Train workers (data-parallel ranks), one DeepSpeed engine each.", ge=1)
    use_gpu: str = opt("auto", "auto (GPU when one is visible), true or false. NCCL on GPU, gloo on CPU.")
    zero_stage: int = opt(2, "DeepSpeed ZeRO stage 0-3.", ge=0, le=3)
    precision: str = opt("fp32", "fp32, bf16 or fp16 (fp16 needs a GPU).")
    micro_batch: int = opt(
        8, "Sequences per rank per forward/backward; gradient accumulation fills the batch.", ge=1
    )
    gradient_clipping: float = opt(1.0, "Clip the global gradient norm to this value (0: off).", ge=0)
    checkpoint_every: int = opt(
        0,
        "Save a resumable checkpoint (DeepSpeed state + HF folder) every N optimizer steps (0: end only).",
        ge=0,
    )
    keep_checkpoints: int = opt(2, "Resumable checkpoints kept per phase (older ones are deleted).", ge=1)
    resume: str = opt(
        "auto",
        "auto: continue from the last complete checkpoint of this phase if any; never: start over; "
        "or a path to a DeepSpeed checkpoint directory.",
    )
    max_failures: int = opt(
        1, "Ray Train restarts of a failed worker group (each resumes from a checkpoint).", ge=0
    )
    log_every: int = opt(5, "Log metrics every N optimizer steps.", ge=1)
    bucket_size: int = opt(64, "Length-bucketing window in batches (sort by length within it; 0: off).", ge=0)
    resources: dict[str, float] = opt(
        {},
        "Custom Ray resources each Ray Train worker requests, e.g. {learner: 1}: the workers run only on "
        "nodes started with them (ray start --resources='{\"learner\": 4}'), beside the CPUs/GPUs lam-rl "
        "sizes itself. Empty: any node.",
    )

    storage: str | None = opt(
        None,
        "Where Ray Train keeps a learner run (its state and results): None = <run dir>/ray_train (local disk or "
        "a shared volume). An object-store URI (az://CONTAINER/PREFIX, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX): "
        "each resumable checkpoint is uploaded there too, and a restarted worker on any node resumes from the "
        "last one, with no shared volume.",
    )
    storage_options: dict[str, str] = opt(
        {},
        "Credentials and endpoint of learner.storage, the same keys as store.storage_options (az: account_name, "
        "account_key, azure_storage_endpoint, allow_http; s3: aws_access_key_id, aws_secret_access_key, region, "
        "aws_endpoint).",
    )

    def __post_init__(self) -> None:
        if self.storage and "://" in self.storage:
            check_uri(self.storage, key="learner.storage")
            if self.storage.split("://", 1)[0].lower() not in ("az", "abfss", "s3", "gs", "file"):
                raise ConfigError(
                    f"config key 'learner.storage' must be a local path or an az://, s3:// or gs:// URI, got "
                    f"{self.storage!r}"
                )
        check_resources("learner.resources", self.resources)
        check_choice("learner", "use_gpu", self.use_gpu, ["auto", "true", "false"])
        check_choice("learner", "precision", self.precision, ["fp32", "bf16", "fp16"])
        check_choice("learner", "zero_stage", self.zero_stage, [0, 1, 2, 3])
        if self.num_workers < 1 or self.micro_batch < 1:
            raise ConfigError("config keys 'learner.num_workers' and 'learner.micro_batch' must be >= 1")


@dataclass
class LoraConfig:
    enabled: bool = opt(False, "Train LoRA adapters (PEFT) instead of all weights.")
    r: int = opt(8, "LoRA rank.", ge=1)
    alpha: int = opt(32, "LoRA alpha.", ge=1)
    dropout: float = opt(0.1, "LoRA dropout.", ge=0, lt=1)
    target_modules: list[str] = opt(
        ["q_proj", "k_proj", "v_proj", "o_proj"], "Module names that receive adapters."
    )


@dataclass
class OptimConfig:
    lr: float = opt(2e-5, "Peak learning rate.", gt=0, le=1)
    scheduler: str = opt("cosine", "LR schedule after warm-up: cosine, linear or constant.")
    warmup_steps: int = opt(2, "Linear warm-up steps.", ge=0)
    min_lr_ratio: float = opt(0.0, "Final LR as a fraction of the peak (cosine/linear).", ge=0, le=1)
    weight_decay: float = opt(0.0, "AdamW weight decay.", ge=0, le=1)
    batch_size: int = opt(16, "Global batch size (sequences per optimizer step, all ranks).", ge=1)
    epochs: float = opt(3.0, "Passes over the training data (fractions allowed).", gt=0)
    max_steps: int = opt(0, "Stop after this many optimizer steps (0: epochs decide).", ge=0)

    def __post_init__(self) -> None:
        check_choice("optim", "scheduler", self.scheduler, ["cosine", "linear", "constant"])
        if self.lr <= 0 or self.batch_size < 1:
            raise ConfigError("optimiser lr must be > 0 and batch_size >= 1")


@dataclass
class SFTConfig:
    optim: OptimConfig = opt(
        OptimConfig, "Optimiser and schedule (the paper: lr 2e-5 cosine, 2 warm-up, batch 16, 3 epochs)."
    )
    lora: LoraConfig = opt(LoraConfig, "LoRA adapters instead of full fine-tuning.")
    max_seq_len: int = opt(
        512, "Longest training sequence in tokens (prompt truncated first, never the target).", ge=1
    )
    eval_fraction: float = opt(0.05, "Fraction of training trajectories held out for eval loss.", ge=0, lt=1)
    plan_epochs: float = opt(0.0, "Epochs of phase 1 (task-plan pretraining); 0: optim.epochs.", ge=0)
    imitate_tags: list[str] = opt(
        ["collect-expert"], "Store tags whose successful trajectories phase 2 imitates."
    )
    boost_tags: list[str] = opt(
        ["collect-expert", "explore-lam2"], "Store tags whose successful trajectories phase 3 trains on."
    )
    plan_tag: str = opt("taskplan", "Store tag of the task-plan records phase 1 trains on.")
    max_examples: int = opt(0, "Use at most this many training examples (0: all).", ge=0)


@dataclass
class RewardConfig:
    optim: OptimConfig = opt(
        OptimConfig(lr=2e-5, scheduler="linear", epochs=2.0),
        "Optimiser (the paper: lr 2e-5 linear decay, AdamW, 2 epochs).",
    )
    lora: LoraConfig = opt(
        LoraConfig(enabled=True), "LoRA on the backbone (the paper: r=8, alpha=32, dropout 0.1)."
    )
    tags: list[str] = opt(
        ["collect-expert", "explore-lam2"],
        "Store tags whose trajectories (successes +1, failures -1) train the RM.",
    )
    init_checkpoint: str = opt("lam3", "Backbone (registry name or path).")
    output: str = opt("rm", "Registry name of the reward model.")
    max_seq_len: int = opt(512, "Longest (state, action) sequence in tokens.", ge=1)
    eval_fraction: float = opt(0.15, "Fraction of trajectories held out for RM accuracy/AUC.", ge=0, lt=1)
    score_tag: str = opt("rewards", "Store tag marking the version with RM rewards written back.")


@dataclass
class PPOConfig:
    mode: str = opt(
        "offline", "offline: PPO on recorded failed states (the paper); online: act in VMs each iteration."
    )
    algo: str = opt("ppo", "Online algorithm: ppo (lam-rl's own), grpo or rloo (TRL trainers, online mode).")
    lr: float = opt(1.4e-5, "Actor learning rate (critic uses critic_lr).", gt=0, le=1)
    critic_lr: float = opt(1.4e-5, "Critic learning rate.", gt=0, le=1)
    batch_size: int = opt(8, "States per PPO iteration (all ranks).", ge=1)
    minibatch_size: int = opt(1, "Sequences per gradient step in the PPO epochs (per rank).", ge=1)
    ppo_epochs: int = opt(4, "Passes over each batch of experience.", ge=1)
    iterations: int = opt(
        0,
        "PPO iterations (algo=grpo|rloo: trainer steps). 0: one pass over the states, batch_size at a time "
        "(offline, and grpo/rloo over the training tasks' states); online PPO needs it >= 1.",
        ge=0,
    )
    target_kl: float = opt(
        0.1, "Target KL to the reference; the KL coefficient adapts toward it (0: fixed).", ge=0
    )
    init_kl_coef: float = opt(0.2, "Initial KL penalty coefficient.", ge=0)
    kl_horizon: int = opt(10000, "Horizon of the adaptive KL controller (in sequences).", ge=1)
    clip: float = opt(0.2, "Policy ratio clip range.", gt=0, le=1)
    value_clip: float = opt(0.2, "Value clip range.", gt=0)
    gamma: float = opt(1.0, "Discount over response tokens.", ge=0, le=1)
    lam: float = opt(0.95, "GAE lambda.", ge=0, le=1)
    gen_length: int = opt(256, "Tokens generated per answer at most.", ge=1)
    temperature: float = opt(1.0, "Sampling temperature while collecting experience.", gt=0)
    invalid_score: float = opt(
        0.0, "Sigmoid-scale score of an unparseable answer (0.0 -> reward -0.5).", ge=0, le=1
    )
    rm_checkpoint: str = opt("rm", "Reward model checkpoint (registry name or path).")
    init_checkpoint: str = opt("lam3", "Policy/critic/reference start (registry name or path).")
    output: str = opt("lam4", "Registry name of the PPO result.")
    max_states: int = opt(0, "Use at most this many recorded states (0: all).", ge=0)
    online_tasks: int = opt(16, "Online mode: tasks rolled out per iteration.", ge=1)
    online_step_reward: float = opt(
        0.5, "Online mode: weight of the per-step RM reward vs the verifier outcome.", ge=0, le=1
    )
    num_generations: int = opt(
        4, "algo=grpo|rloo: completions sampled per state (the group whose rewards are compared).", ge=1
    )
    expert_finish: bool = opt(
        True,
        "algo=grpo|rloo: after the model's action the noise-free expert plays the remaining reference "
        "steps before the verifier judges (off: judge right after the action).",
    )

    def __post_init__(self) -> None:
        check_choice("ppo", "mode", self.mode, ["offline", "online"])
        check_choice("ppo", "algo", self.algo, ["ppo", "grpo", "rloo"])
        if self.minibatch_size < 1 or self.batch_size < 1 or self.ppo_epochs < 1:
            raise ConfigError("ppo.batch_size, ppo.minibatch_size and ppo.ppo_epochs must be >= 1")
        if self.algo != "ppo" and self.num_generations < 2:
            raise ConfigError(f"ppo.num_generations must be >= 2 for algo={self.algo} (a group to compare)")
        if self.algo != "ppo" and self.mode != "online":
            raise ConfigError(
                f"config key 'ppo.algo' ({self.algo}) is an online algorithm (TRL's {self.algo.upper()} samples "
                f"and scores in WordSim): set ppo.mode=online, or ppo.algo=ppo for offline PPO"
            )
        if self.mode == "online" and self.algo == "ppo" and self.iterations == 0:
            raise ConfigError(
                "config key 'ppo.iterations' must be >= 1 for online PPO (ppo.mode=online, ppo.algo=ppo): each "
                "iteration rolls out ppo.online_tasks new tasks, so there is no set of states to make one pass "
                "over; set e.g. ppo.iterations=4"
            )
