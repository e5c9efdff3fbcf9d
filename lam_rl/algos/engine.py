"""DeepSpeed engine set-up shared by SFT, the reward model and PPO (no Ray here).

``init_distributed`` joins an existing process group (Ray Train makes one) or starts a
single-process one, so the same learner runs under Ray Train, torchrun or in a notebook.

Devices: with NCCL (GPUs) every collective's tensors must be on the rank's CUDA device, with gloo
on the CPU; ``comm_device`` says which, and every collective here builds its tensors there.
``rank_device`` is where a rank's model and batches live; the DeepSpeed engines are put on the same
device (``build_engine``), so model, batches and collectives always agree.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.distributed as dist

from lam_rl.algos.config import LearnerConfig, LoraConfig, OptimConfig
from lam_rl.config import ConfigError

log = logging.getLogger(__name__)

COMPLETE = "COMPLETE"


# ----------------------------------------------------------------------------- hardware


def gpu_available() -> bool:
    return torch.cuda.is_available() and torch.cuda.device_count() > 0


def resolve_use_gpu(cfg: LearnerConfig, gpus_visible: bool | None = None) -> bool:
    visible = gpu_available() if gpus_visible is None else gpus_visible
    if cfg.use_gpu == "auto":
        return visible
    want = cfg.use_gpu == "true"
    if want and not visible:
        raise ConfigError("learner.use_gpu=true but no GPU is visible; set learner.use_gpu=auto or false")
    return want


def check_hardware(cfg: LearnerConfig, use_gpu: bool) -> None:
    """Fail before any worker starts when the settings cannot run on this hardware."""
    accelerator = os.environ.get("DS_ACCELERATOR", "")
    if use_gpu and accelerator == "cpu":
        raise ConfigError(
            "DS_ACCELERATOR=cpu is set but the learners would run on GPUs (DeepSpeed would keep the model "
            "on the CPU); unset DS_ACCELERATOR on GPU machines, or set learner.use_gpu=false"
        )
    if cfg.precision == "fp16" and not use_gpu:
        raise ConfigError(
            "learner.precision=fp16 needs a GPU (DeepSpeed's CPU accelerator has no fp16 optimizer); "
            "use learner.precision=bf16 or fp32 on CPU"
        )
    if cfg.precision == "bf16" and use_gpu and not torch.cuda.is_bf16_supported():
        raise ConfigError("learner.precision=bf16 is not supported by this GPU; use fp16 or fp32")


def backend_for(use_gpu: bool) -> str:
    return "nccl" if use_gpu else "gloo"


# ----------------------------------------------------------------------------- distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_distributed(backend: str = "gloo") -> tuple[int, int]:
    """Join (or create, single-process) the process group; return (rank, world_size).

    With NCCL the rank's CUDA device is chosen first: Ray Train has already set it for its worker
    (one GPU each); under torchrun or alone it is ``LOCAL_RANK``."""
    import deepspeed

    if not dist.is_initialized() and "RANK" not in os.environ:
        os.environ.update(
            MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), RANK="0", WORLD_SIZE="1", LOCAL_RANK="0"
        )
    if backend == "nccl" and not dist.is_initialized():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    # DeepSpeed prints a line each time it loads its CPU comm op ("... built successfully")
    with contextlib.redirect_stdout(io.StringIO()) as out:
        deepspeed.init_distributed(dist_backend=backend, auto_mpi_discovery=False)
    if out.getvalue().strip():
        log.debug("deepspeed.init_distributed: %s", out.getvalue().strip())
    return dist.get_rank(), dist.get_world_size()


def _nccl() -> bool:
    return dist.is_initialized() and "nccl" in str(dist.get_backend()).lower()


def comm_device() -> torch.device:
    """The device a collective's tensors must be on: the rank's CUDA device under NCCL (which refuses
    CPU tensors), the CPU under gloo or without a process group."""
    return torch.device("cuda", torch.cuda.current_device()) if _nccl() else torch.device("cpu")


def rank_device(use_gpu: bool) -> torch.device:
    """Where this rank's model and batches live (call after ``init_distributed``)."""
    return torch.device("cuda", torch.cuda.current_device()) if use_gpu else torch.device("cpu")


def barrier() -> None:
    if not dist.is_initialized():
        return
    if _nccl():  # name the device: NCCL would otherwise guess one (and warn, or hang on a wrong guess)
        dist.barrier(device_ids=[torch.cuda.current_device()])
    else:
        dist.barrier()


def all_reduce_min(value: int) -> int:
    """The smallest ``value`` over all ranks."""
    if not dist.is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.long, device=comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return int(t.item())


def all_reduce_mean(values: list[float]) -> list[float]:
    """The element-wise mean of ``values`` over all ranks."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=comm_device())
    dist.all_reduce(t)
    return (t / dist.get_world_size()).tolist()


# ----------------------------------------------------------------------------- engine


def batch_layout(global_batch: int, micro_batch: int, world: int) -> tuple[int, int, int]:
    """(micro_batch, grad_accum, effective global batch) for a requested global batch."""
    micro = max(1, min(micro_batch, global_batch // world or 1))
    accum = max(1, round(global_batch / (micro * world)))
    return micro, accum, micro * accum * world


def ds_config(
    learner: LearnerConfig, optim: OptimConfig, world: int, total_steps: int, use_gpu: bool
) -> dict[str, Any]:
    micro, accum, effective = batch_layout(optim.batch_size, learner.micro_batch, world)
    if optim.scheduler == "cosine":
        sched = {
            "type": "WarmupCosineLR",
            "params": {
                "total_num_steps": max(total_steps, 1),
                "warmup_num_steps": max(1, optim.warmup_steps),
                "warmup_min_ratio": 0.0,
                "cos_min_ratio": optim.min_lr_ratio,
                "warmup_type": "linear",
            },
        }
    elif optim.scheduler == "linear":
        sched = {
            "type": "WarmupDecayLR",
            "params": {
                "total_num_steps": max(total_steps, 1),
                "warmup_num_steps": max(1, optim.warmup_steps),
                "warmup_min_lr": 0.0,
                "warmup_max_lr": optim.lr,
                "warmup_type": "linear",
            },
        }
    else:
        sched = {
            "type": "WarmupLR",
            "params": {
                "warmup_min_lr": 0.0,
                "warmup_max_lr": optim.lr,
                "warmup_num_steps": max(1, optim.warmup_steps),
                "warmup_type": "linear",
            },
        }
    return {
        "train_batch_size": effective,
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": accum,
        "gradient_clipping": learner.gradient_clipping,
        "zero_optimization": {"stage": learner.zero_stage},
        "bf16": {"enabled": learner.precision == "bf16"},
        "fp16": {"enabled": learner.precision == "fp16"},
        "optimizer": {
            "type": "AdamW",
            "params": {
                "lr": optim.lr,
                "betas": [0.9, 0.95],
                "eps": 1e-8,
                "weight_decay": optim.weight_decay,
                "torch_adam": True,
                "adam_w_mode": True,
            },
        },
        "scheduler": sched,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }


def apply_lora(model: torch.nn.Module, cfg: LoraConfig, task_type: str = "CAUSAL_LM") -> torch.nn.Module:
    from peft import LoraConfig as PeftLoraConfig
    from peft import get_peft_model

    peft_cfg = PeftLoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        task_type=task_type,
    )
    return get_peft_model(model, peft_cfg)


def build_engine(model: torch.nn.Module, config: dict[str, Any], *, trainable: bool = True):
    """A DeepSpeed engine (optimizer and LR schedule inside when ``trainable``) for ``model``.

    On a GPU the engine goes on the current CUDA device (``rank_device``), the one the process group
    and the batches use; DeepSpeed alone would pick ``LOCAL_RANK``, which need not be Ray Train's."""
    import deepspeed

    args = SimpleNamespace(device_rank=torch.cuda.current_device()) if _on_gpu() else None
    params = [p for p in model.parameters() if p.requires_grad] if trainable else None
    engine, _, _, _ = deepspeed.initialize(args=args, model=model, model_parameters=params, config=config)
    return engine


def _on_gpu() -> bool:
    from deepspeed.accelerator import get_accelerator

    return get_accelerator().device_name() == "cuda" and torch.cuda.is_available()


@contextlib.contextmanager
def new_head_load():
    """For loading a backbone under a new head (the critic's value head, the reward model's score):
    transformers then logs a load report listing the head as MISSING, which is the point; quiet it."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def current_lr(engine) -> float:
    return float(engine.optimizer.param_groups[0]["lr"])


# ----------------------------------------------------------------------------- checkpoints


def list_complete(ds_dir: Path) -> list[Path]:
    """Complete resumable checkpoints under ``ds_dir``, oldest first (by step)."""
    if not ds_dir.is_dir():
        return []
    done = [
        p for p in ds_dir.iterdir() if p.is_dir() and (p / COMPLETE).exists() and p.name.startswith("step")
    ]
    return sorted(done, key=lambda p: int(p.name[4:]))


def save_resumable(engine, ds_dir: Path, step: int, client_state: dict[str, Any], keep: int) -> Path:
    """Collective: every rank saves its DeepSpeed shard; rank 0 marks it complete and prunes."""
    tag = f"step{step}"
    engine.save_checkpoint(str(ds_dir), tag=tag, client_state=client_state, save_latest=False)
    barrier()
    path = ds_dir / tag
    if not dist.is_initialized() or dist.get_rank() == 0:
        (path / COMPLETE).write_text(json.dumps(client_state))
        for old in list_complete(ds_dir)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    barrier()
    return path


def load_resumable(engine, path: Path) -> dict[str, Any]:
    _, client_state = engine.load_checkpoint(
        str(path.parent), tag=path.name, load_optimizer_states=True, load_lr_scheduler_states=True
    )
    if client_state is None:
        raise ConfigError(
            f"DeepSpeed checkpoint {path} could not be loaded; delete it or set learner.resume=never"
        )
    return client_state


def full_state_module(engine) -> contextlib.AbstractContextManager:
    """Context in which ``engine.module`` holds full parameters (gathers them under ZeRO-3)."""
    if engine.zero_optimization_stage() == 3:
        import deepspeed

        return deepspeed.zero.GatheredParameters(list(engine.module.parameters()), modifier_rank=None)
    return contextlib.nullcontext()
