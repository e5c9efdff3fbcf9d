"""Reward-server (and policy-server) throughput: dynamic batching vs none, 32 concurrent callers.

    .venv/bin/python bench/serving.py [--json] [--callers 32] [--calls 16] [--policy]

Both servers run as Ray Serve deployments on one embedded Ray; the same callers score the same
(state, action) pairs with ``max_batch_size=32`` and with ``max_batch_size=1`` (the baseline).
Headline: batched / unbatched reward-scoring throughput (goal >= 4x).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import concurrent_throughput, emit, tiny_checkpoint  # noqa: E402

PROMPT = (
    "<Available Control Item:>\n[1] File (TabItem)\n[2] Home (TabItem)\n[3] Insert (TabItem)\n[14] Bold (Button)\n"
    "[15] Italic (Button)\n[16] Underline (Button)\n<User Request:> Make the title bold.\n<Previous Actions:>\n"
    "1. Home (TabItem) click_input\n<Previous Plans:>\n(2) Select the title. (3) Click Bold."
)
ACTION = '{"thought":"Click Bold","control_label":14,"control_name":"Bold","function":"click_input","args":{},"status":"FINISH","plan":[]}'


def reward_throughput(rm_path: Path, batch: int, callers: int, calls: int) -> float:
    from cluster.reward_server import deploy
    from lam_rl.algos.config import RewardServeConfig

    app = f"rm-b{batch}"
    h = deploy(
        RewardServeConfig(max_batch_size=batch, http_port=8321),
        str(rm_path),
        1,
        app_name=app,
        route_prefix=f"/{app}",
    )
    for _ in range(3):
        h.score.remote(PROMPT, ACTION).result()
    rate = concurrent_throughput(lambda i: h.score.remote(PROMPT + f" #{i}", ACTION).result(), callers, calls)
    from ray import serve

    serve.delete(app)
    return rate


def policy_throughput(path: Path, batch: int, callers: int, calls: int) -> float:
    from cluster.policy_server import deploy, shutdown
    from lam_rl.agent.config import PolicyServeConfig

    app = f"policy-b{batch}"
    h = deploy(
        PolicyServeConfig(max_batch_size=batch, max_new_tokens=32, http_port=8321),
        path,
        1,
        app_name=app,
        route_prefix=f"/{app}",
    )
    for _ in range(3):
        h.generate.remote(PROMPT).result()
    rate = concurrent_throughput(lambda i: h.generate.remote(PROMPT + f" #{i}").result(), callers, calls)
    shutdown(app)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--callers", type=int, default=32)
    ap.add_argument("--calls", type=int, default=16, help="sequential calls per caller")
    ap.add_argument("--policy", action="store_true", help="also measure the policy server")
    args = ap.parse_args()

    import ray

    from lam_rl.algos.reward import build_reward_model
    from lam_rl.models import load_tokenizer, save_pretrained

    work = Path(tempfile.mkdtemp(prefix="lam-bench-serving-"))
    lm = tiny_checkpoint(work / "lm")
    tok = load_tokenizer(lm)
    rm = save_pretrained(build_reward_model(lm, tok), tok, work / "rm")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    extra = {}
    unbatched = reward_throughput(rm, 1, args.callers, args.calls)
    batched = reward_throughput(rm, 32, args.callers, args.calls)
    extra["reward unbatched (scores/s)"] = round(unbatched, 1)
    extra["reward batched (scores/s)"] = round(batched, 1)
    if args.policy:
        pu = policy_throughput(lm, 1, args.callers, args.calls)
        pb = policy_throughput(lm, 32, args.callers, args.calls)
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
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
