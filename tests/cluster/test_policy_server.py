"""The policy server on Ray Serve: batching, the OpenAI-compatible API, hot swap mid-collection."""

import os
import threading
import time

import pytest

from cluster import policy_server
from cluster.collect import checkpoint_spec, run_rollouts
from cluster.rollout import WorkItem
from lam_rl.agent.config import PolicyServeConfig
from lam_rl.env.tasks import sample_tasks
from lam_rl.store import TrajectoryStore

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from lam_rl.config import ModelConfig
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.corpus import project_corpus

    root = tmp_path_factory.mktemp("ckpt")
    tok = train_tokenizer(project_corpus(["Make the title bold."] * 20), 600)
    paths = []
    for seed in (1, 2):
        model = build_model(
            ModelConfig(hidden=64, layers=2, heads=4, kv_heads=4, intermediate=128), tok, seed=seed
        )
        paths.append(save_pretrained(model, tok, root / f"v{seed}"))
    return paths


def test_openai_client_and_llm_expert_against_own_server(ray_session, checkpoints, cfg_factory):
    from openai import AuthenticationError, OpenAI

    from lam_rl.agent.episode import run_episode
    from lam_rl.agent.policy import LMPolicy, openai_generate
    from lam_rl.agent.prompt import PromptBuilder
    from lam_rl.env.client import VMClient
    from lam_rl.env.wordsim import WordSim

    os.environ["LAM_POLICY_TOKEN"] = "test-token"
    try:
        cfg = PolicyServeConfig(http_port=8457, max_new_tokens=24)
        policy_server.deploy(cfg, checkpoints[0], 7, app_name="policy-openai", route_prefix="/openai")
        from cluster.serving import http_base

        base = f"{http_base('/openai')}/v1"
        client = OpenAI(base_url=base, api_key="test-token")
        assert [m.id for m in client.models.list().data] == ["lam"]
        r = client.chat.completions.create(
            model="lam", messages=[{"role": "user", "content": "Bold it"}], max_tokens=8
        )
        assert r.object == "chat.completion" and r.system_fingerprint == "7"
        assert r.usage.completion_tokens >= 1 and r.choices[0].finish_reason in ("stop", "length")
        with pytest.raises(AuthenticationError):
            OpenAI(base_url=base, api_key="wrong").models.list()
        # the "LLM expert" path: any OpenAI-compatible endpoint drives an episode (here: our own server)
        gen = openai_generate(base, "test-token", "lam", max_tokens=24)
        policy = LMPolicy(gen, PromptBuilder(cfg_factory().agent), name="llm-expert")
        task = sample_tasks(1, 5, split="train")[0]
        traj = run_episode(VMClient.in_process(WordSim("t")), policy, task, traj_id="llm:1", phase="collect")
        assert traj.outcome.num_steps >= 1 and traj.outcome.policy_version == 7
        assert all(s.raw is not None for s in traj.steps)  # malformed answers recorded as invalid, no crash
    finally:
        os.environ.pop("LAM_POLICY_TOKEN", None)
        policy_server.shutdown("policy-openai")


def test_swap_mid_collection_takes_effect_for_new_episodes(ray_session, checkpoints, cfg_factory):
    cfg = cfg_factory("fleet.local=4", "policy.max_new_tokens=16", "rollout.max_invalid=2")
    policy_server.deploy(cfg.policy, checkpoints[0], 1, app_name="policy")
    tasks = sample_tasks(24, 9, split="train")
    items = [WorkItem(f"swap:{t.task_id}", t.model_dump(mode="json")) for t in tasks]
    swapped_at = []

    handle = policy_server.serve.get_app_handle("policy")

    def swap():  # once collection is under way: after the server has answered 12 requests
        while handle.info.remote().result()["served"] < 12:
            time.sleep(0.1)
        policy_server.swap_checkpoint(checkpoints[1], 2)
        swapped_at.append(time.time())

    t = threading.Thread(target=swap)
    t.start()
    try:
        spec = checkpoint_spec(cfg, "lam", str(checkpoints[0] / "tokenizer.json"))
        s = run_rollouts(cfg, items, spec, phase="explore")
    finally:
        t.join()
        info = handle.info.remote().result()
        policy_server.shutdown()
    outs = (
        TrajectoryStore(cfg.store_uri)
        .outcomes(columns=["traj_id", "policy_version", "failure_kind", "created_at", "duration_s"])
        .to_pylist()
    )
    assert len(outs) == 24 and s.retries == 0  # no request was lost or failed
    assert not [o for o in outs if o["failure_kind"] == "policy_error"]
    versions = {o["policy_version"] for o in outs}
    assert versions == {1, 2}, versions
    for o in outs:  # episodes that started after the swap ran on the new version
        started = o["created_at"].timestamp() - o["duration_s"]
        if started > swapped_at[0] + 0.5:
            assert o["policy_version"] == 2
    assert info["version"] == 2 and info["loaded"] == [1, 2]
