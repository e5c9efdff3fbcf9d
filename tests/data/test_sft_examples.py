"""SFT example builders, tokenisation that never cuts the target, deterministic batching, splits."""

import json
from itertools import islice

from lam_rl.agent.config import AgentConfig
from lam_rl.agent.parse import parse_decision
from lam_rl.data.batching import bucketed_batches, micro_batch_stream
from lam_rl.data.selection import held_out, shard_ids
from lam_rl.data.sft import EncodeStats, Example, action_examples, agent_builder, encode, plan_examples
from lam_rl.env.client import VMClient
from lam_rl.env.config import ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.tasks import sample_tasks
from lam_rl.env.wordsim import WordSim
from lam_rl.models import train_tokenizer
from lam_rl.models.corpus import project_corpus


def expert_rows(n=6):
    """Store-shaped step rows from noiseless expert episodes played in-process."""
    from lam_rl.agent.episode import run_episode
    from lam_rl.agent.policy import ExpertAdapter

    vm = VMClient.in_process(WordSim("t"))
    rows = []
    for i, task in enumerate(sample_tasks(n, 4, split="train")):
        traj = run_episode(
            vm,
            ExpertAdapter(ExpertPolicy(ExpertConfig(noise=False), seed=i)),
            task,
            traj_id=f"t{i}",
            phase="collect",
        )
        for s in traj.steps:
            row = s.to_row()
            row.update(traj_id=f"t{i}", success=traj.outcome.success, family=task.family)
            rows.append(row)
    return rows


def test_action_examples_follow_the_run_time_prompt_and_target():
    rows = expert_rows()
    examples = action_examples(reversed(rows), agent_builder(AgentConfig()))  # any row order
    assert len(examples) == len(rows)
    first = [e for e in examples if e.key == "t0:0"][0]
    assert "<User Request:>" in first.prompt and "<Previous Actions:>\nNone" in first.prompt
    second = [e for e in examples if e.key == "t0:1"]
    if second:
        assert "1. " in second[0].prompt.split("<Previous Actions:>")[1]
    for e in examples:  # every target is a valid action in the paper's key order
        d = parse_decision(e.target)
        assert d.valid and list(json.loads(e.target)) == [
            "thought",
            "control_label",
            "control_name",
            "function",
            "args",
            "status",
            "plan",
        ]


def test_encode_masks_the_prompt_and_never_cuts_the_target():
    tok = train_tokenizer(project_corpus(["Make the title bold please"] * 20), 600)
    long_prompt = "control " * 400
    target = '{"function":"click_input","control_name":"Bold"}'
    stats = EncodeStats()
    (x,) = encode(tok, [Example(long_prompt, target)], 96, stats)
    assert len(x["input_ids"]) <= 96 and stats.prompt_truncated == 1
    n_target = len(tok(target, add_special_tokens=False)["input_ids"]) + 1
    assert x["labels"][-n_target:] == x["input_ids"][-n_target:]
    assert all(v == -100 for v in x["labels"][:-n_target])
    assert x["input_ids"][0] == tok.bos_token_id
    assert encode(tok, [Example("p", "word " * 200)], 64, stats) == [] and stats.dropped_target_too_long == 1
    (p,) = plan_examples(
        [{"task_id": "a", "task": "Bold the title", "plan": ["1. Select it.", "2. Click Bold."]}]
    )
    assert p.prompt.endswith("Bold the title") and p.target == "1. Select it.\n2. Click Bold."


def test_batching_is_deterministic_and_resumable():
    lengths = [i % 17 + 3 for i in range(100)]
    assert bucketed_batches(lengths, 8, 1) == bucketed_batches(lengths, 8, 1)
    assert bucketed_batches(lengths, 8, 1) != bucketed_batches(lengths, 8, 2)
    full = [b for _, _, b in islice(micro_batch_stream(lengths, 8, 0, 4), 30)]
    resumed = [b for _, _, b in islice(micro_batch_stream(lengths, 8, 0, 4, start=20), 10)]
    assert resumed == full[20:30]
    assert all(len(b) == 8 for b in full)


def test_rank_shards_partition_and_hold_out_is_stable():
    ids = [f"traj-{i}" for i in range(200)]
    shards = [shard_ids(ids, r, 3, 0.1) for r in range(3)]
    seen = [i for s in shards for i in s.train_ids + s.eval_ids]
    assert sorted(seen) == sorted(ids)
    assert 5 < sum(len(s.eval_ids) for s in shards) < 40
    assert held_out("traj-7", 0.1) == held_out("traj-7", 0.1)


def test_held_out_tasks_never_reach_training(tmp_path):
    """Eval-split tasks are disjoint by content, and the SFT selection drops them even when a tag
    that holds them is asked for."""
    from lam_rl.agent.episode import run_episode
    from lam_rl.agent.policy import ExpertAdapter
    from lam_rl.data.selection import read_steps, select_trajectories
    from lam_rl.env.tasks import content_key
    from lam_rl.store import TrajectoryStore

    train = sample_tasks(40, 0, split="train")
    held = sample_tasks(15, 0, split="eval")
    assert not {content_key(t) for t in train} & {content_key(t) for t in held}
    store = TrajectoryStore(tmp_path / "store")
    vm = VMClient.in_process(WordSim("t"))
    expert = ExpertAdapter(ExpertPolicy(ExpertConfig(noise=False), seed=0))
    trajs = [
        run_episode(vm, expert, t, traj_id=f"c:{t.task_id}", phase="collect", split="train")
        for t in train[:8]
    ]
    trajs += [
        run_episode(vm, expert, t, traj_id=f"r:{t.task_id}", phase="reference", split="eval")
        for t in held[:6]
    ]
    store.write(trajs)
    store.tag("collect-expert", phase="collect")
    store.tag("reference-eval", phase="reference")
    both = ["collect-expert", "reference-eval"]
    ids = select_trajectories(store, both)
    assert sorted(ids) == sorted(f"c:{t.task_id}" for t in train[:8])
    rows = read_steps(store, ids + [f"r:{t.task_id}" for t in held[:6]], both)
    assert rows and {r["traj_id"].split(":")[0] for r in rows} == {"c"}
