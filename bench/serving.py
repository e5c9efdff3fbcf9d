"""Reward-server (and policy-server) throughput: dynamic batching vs none, 32 concurrent callers.

    .venv/bin/python bench/serving.py [--json] [--smoke] [--callers 32] [--calls 16] [--policy] [--short]

Both servers run as Ray Serve deployments on one embedded Ray; the same callers score the same
(state, action) pairs with ``max_batch_size=32`` and with ``max_batch_size=1`` (the baseline).
The pairs are what the tiny config scores: Appendix C prompts of WordSim reference runs (~250
tokens, the tiny agent settings) and their target actions, on the tiny config's model shape.
Headline: batched / unbatched reward-scoring throughput (goal >= 4x).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SMOKE_HELP, concurrent_throughput, emit, tiny_checkpoint, wordsim_examples  # noqa: E402


def tiny_pairs(n_tasks: int = 30) -> list[tuple[str, str]]:
    """(prompt, action) pairs as the tiny config builds them, from WordSim reference runs."""
    from jobs.config import Config
    from lam_rl.config import load_config

    cfg = load_config(Config, ["config=tiny"], configs_dir=ROOT / "jobs" / "configs")
    return [(e.prompt, e.target) for e in wordsim_examples(n_tasks, agent_cfg=cfg.agent)]


def reward_throughput(rm_path: Path, batch: int, callers: int, calls: int, pairs) -> float:
    from cluster.config import RewardServeConfig, ServeConfig
    from cluster.reward_server import deploy

    app = f"rm-b{batch}"
    h = deploy(
        RewardServeConfig(max_batch_size=batch),
        str(rm_path),
        1,
        http=ServeConfig(http_port=8321),
        app_name=app,
        route_prefix=f"/{app}",
    )
    for p, a in pairs[:3]:
        h.score.remote(p, a).result()
    n = len(pairs)
    rate = concurrent_throughput(lambda i: h.score.remote(*pairs[i % n]).result(), callers, calls)
    from ray import serve

    serve.delete(app)
    return rate


def policy_throughput(path: Path, batch: int, callers: int, calls: int, pairs) -> float:
    from cluster.config import PolicyServeConfig, ServeConfig
    from cluster.policy_server import deploy, shutdown

    app = f"policy-b{batch}"
    h = deploy(
        PolicyServeConfig(max_batch_size=batch, max_new_tokens=32),
        path,
        1,
        http=ServeConfig(http_port=8321),
        app_name=app,
        route_prefix=f"/{app}",
    )
    for p, _ in pairs[:3]:
        h.generate.remote(p).result()
    n = len(pairs)
    rate = concurrent_throughput(lambda i: h.generate.remote(pairs[i % n][0]).result(), callers, calls)
    shutdown(app)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--callers", type=int, default=32)
    ap.add_argument("--calls", type=int, default=16, help="sequential calls per caller")
    ap.add_argument("--policy", action="store_true", help="also measure the policy server")
    ap.add_argument(
        "--short",
        action="store_true",
        help="score short prompts (the first 300 characters): the regime where per-request overhead, "
        "not the forward pass, dominates",
    )
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP + " (the policy server included)")
    args = ap.parse_args()
    shape, prompt_tasks = (160, 4, 2048), 30  # hidden, layers, vocab: the tiny config's shape
    if args.smoke:
        args.callers, args.calls, args.policy = 4, 2, True
        shape, prompt_tasks = (32, 1, 512), 3

    import ray

    from lam_rl.algos.reward import build_reward_model
    from lam_rl.models import load_tokenizer, save_pretrained

    work = Path(tempfile.mkdtemp(prefix="lam-bench-serving-"))
    lm = tiny_checkpoint(work / "lm", hidden=shape[0], layers=shape[1], vocab=shape[2])
    pairs = tiny_pairs(prompt_tasks)
    if args.short:
        pairs = [(p[:300], a) for p, a in pairs]
    tok = load_tokenizer(lm)
    rm = save_pretrained(build_reward_model(lm, tok), tok, work / "rm")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    extra = {}
    unbatched = reward_throughput(rm, 1, args.callers, args.calls, pairs)
    batched = reward_throughput(rm, 32, args.callers, args.calls, pairs)
    extra["reward unbatched (scores/s)"] = round(unbatched, 1)
    extra["reward batched (scores/s)"] = round(batched, 1)
    if args.policy:
        pu = policy_throughput(lm, 1, args.callers, args.calls, pairs)
        pb = policy_throughput(lm, 32, args.callers, args.calls, pairs)
        extra["policy unbatched (answers/s)"] = round(pu, 1)
        extra["policy batched (answers/s)"] = round(pb, 1)
        extra["policy batched/unbatched"] = round(pb / pu, 2)
    ray.shutdown()
    emit(
        {
            "name": "reward_server_batched_vs_unbatched",
            "value": batched,
            "unit": "scores/s",
            "baseline": unbatched,
            "ratio": batched / unbatched,
            "goal": ">= 4x",
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
