"""The learners' collectives build their tensors on the process group's device.

On GPUs Ray Train makes an NCCL group, and NCCL refuses tensors that are not on the rank's CUDA
device, while ``torch.tensor(...)`` without a device lands on the CPU. A CPU machine reproduces that
mismatch the other way round: two real gloo ranks whose collectives, like NCCL's, refuse tensors off
the group's device (the CPU), run under a default device that is not the group's (``meta``), so a
collective that does not name its device fails as it would on the first step of a GPU run.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest

RANK = textwrap.dedent(
    """
    import json, os, sys
    import torch
    import torch.distributed as dist

    from lam_rl.algos import engine as eng

    dist.init_process_group("gloo")  # MASTER_ADDR/PORT, RANK, WORLD_SIZE from the environment
    group_device = torch.device("cpu")
    seen = []


    def strict(fn):
        # NCCL's rule, on gloo: every tensor of a collective is on the group's device
        def call(tensor, *args, **kwargs):
            seen.append(str(tensor.device))
            if tensor.device != group_device:
                raise RuntimeError(f"{fn.__name__}: tensor on {tensor.device}, the process group is on {group_device}")
            return fn(tensor, *args, **kwargs)

        return call


    dist.all_reduce = strict(dist.all_reduce)
    rank = dist.get_rank()
    out = {"rank": rank}
    with torch.device("meta"):  # new tensors land elsewhere than the group's device, as CPU vs cuda
        try:
            out["min"] = eng.all_reduce_min(10 + rank)
            out["mean"] = eng.all_reduce_mean([float(rank), 4.0])
            eng.barrier()
        except Exception as e:
            out["error"] = f"{type(e).__name__}: {e}"
    out["devices"] = seen
    out["comm_device"] = str(getattr(eng, "comm_device", lambda: None)())
    print(json.dumps(out))
    dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_collectives_put_their_tensors_on_the_process_group_device(subprocess_env, repo_root, tmp_path):
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(
            subprocess_env,
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK=str(rank),
            WORLD_SIZE="2",
            LOCAL_RANK=str(rank),
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", RANK],
                cwd=repo_root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    for r in results:
        assert "error" not in r, r
        assert r["comm_device"] == "cpu"
        assert r["min"] == 10  # the smaller of 10 and 11
        assert r["mean"] == [0.5, 4.0]
        assert r["devices"] and set(r["devices"]) == {"cpu"}, r


def test_without_a_gpu_group_collectives_and_models_stay_on_the_cpu():
    import torch

    from lam_rl.algos import engine as eng

    if not eng.dist.is_initialized() or eng.dist.get_backend() == "gloo":
        assert eng.comm_device() == torch.device("cpu")
    assert eng.rank_device(False) == torch.device("cpu")


def test_ds_accelerator_cpu_on_gpu_learners_is_refused_before_any_worker_starts(monkeypatch):
    """DS_ACCELERATOR=cpu (what CPU machines set) on a GPU machine would keep DeepSpeed on the CPU."""
    from lam_rl.algos.config import LearnerConfig
    from lam_rl.algos.engine import check_hardware
    from lam_rl.config import ConfigError

    monkeypatch.setenv("DS_ACCELERATOR", "cpu")
    with pytest.raises(ConfigError, match="DS_ACCELERATOR=cpu.*unset DS_ACCELERATOR"):
        check_hardware(LearnerConfig(precision="fp32"), use_gpu=True)
    check_hardware(LearnerConfig(precision="fp32"), use_gpu=False)  # the CPU machine's setting is fine
