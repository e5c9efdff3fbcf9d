"""Training progress on the console: rank 0 shows the loss, tokens/s and an ETA; other ranks are quiet."""

from __future__ import annotations

import logging
import re

import pytest

from lam_rl.logs import StepProgress

LINE = re.compile(
    r"^(?P<name>[\w-]+): step (?P<step>\d+)/(?P<total>\d+) \(\d+%\) \| loss [\d.e+-]+ \| "
    r"[\d.]+[kMG]? tokens/s \| \d+:\d\d elapsed \| ETA \d+:\d\d$"
)


@pytest.mark.parametrize(("ci", "lines"), [("", 20), ("true", 5)])
def test_a_line_every_few_steps_with_loss_tokens_and_eta(monkeypatch, caplog, ci, lines):
    monkeypatch.setenv("CI", ci)
    caplog.set_level(logging.INFO, logger="lam_rl.logs")
    bar = StepProgress("sft-plan", 100)
    shown = [bar.update(step, loss=2.0 / step, tokens=300) for step in range(1, 101)]
    shown = [s for s in shown if s]
    assert bar.lines == shown == [r.getMessage() for r in caplog.records]
    assert lines <= len(shown) <= lines + 1  # the first step, every total/lines steps, the last
    assert all(LINE.match(s) for s in shown), shown
    assert shown[0].startswith("sft-plan: step 1/100") and shown[-1].startswith("sft-plan: step 100/100")


def test_other_ranks_show_nothing(caplog):
    caplog.set_level(logging.INFO)
    bar = StepProgress("sft-plan", 10, enabled=False)
    assert [bar.update(s, loss=1.0, tokens=10) for s in range(1, 11)] == [None] * 10
    assert not bar.lines and not caplog.records


def test_eta_is_the_remaining_steps_at_the_mean_rate(monkeypatch):
    clock = iter([0.0, 10.0, 20.0])
    monkeypatch.setattr("lam_rl.logs.time.monotonic", lambda: next(clock))
    bar = StepProgress("reward", 40, every=1)
    line = bar.update(10, loss=0.5, tokens_per_s=2500.0)  # 10 steps in 10 s: 30 steps to go
    assert "2.5k tokens/s" in line and "0:10 elapsed" in line and "ETA 0:30" in line, line
    line = bar.update(20, loss=0.4, reward=0.25)
    assert "reward 0.25" in line and "0:20 elapsed" in line and "ETA 0:20" in line, line


@pytest.mark.slow
def test_learner_progress_on_rank_0_only_and_collectives_on_the_engine_device(tmp_path, caplog, monkeypatch):
    """A real Learner.fit: rank 0 logs progress lines; every collective it makes (all_reduce) gets a
    tensor on the learner's (the engine's) device; a rank other than 0 logs no progress."""
    import torch.distributed as dist

    from lam_rl.algos.config import LearnerConfig, OptimConfig
    from lam_rl.algos.learner import Learner
    from lam_rl.algos.sft import SFTObjective
    from lam_rl.data.sft import Example, encode
    from lam_rl.models import build_model, train_tokenizer
    from lam_rl.models.config import ModelConfig
    from lam_rl.models.corpus import project_corpus

    tok = train_tokenizer(project_corpus(["Click Bold on the Home tab."] * 20), 400)
    data = encode(tok, [Example("Which button?", "Bold")] * 64, 64)

    def learner(out):
        model = build_model(
            ModelConfig(hidden=32, layers=1, heads=2, kv_heads=2, intermediate=64, max_seq_len=64), tok
        )
        lc = LearnerConfig(micro_batch=8, log_every=2, zero_stage=0)
        return Learner(
            model,
            tok,
            SFTObjective(tok.pad_token_id),
            lc,
            OptimConfig(lr=1e-3, batch_size=8, max_steps=8),
            out,
        )

    seen = []
    all_reduce = dist.all_reduce

    def spy(tensor, *args, **kwargs):
        seen.append(tensor.device)
        return all_reduce(tensor, *args, **kwargs)

    monkeypatch.setattr(dist, "all_reduce", spy)
    caplog.set_level(logging.INFO, logger="lam_rl.algos.learner")
    first = learner(tmp_path / "a")
    first.name = "sft-test"
    first.fit(data)
    lines = [r.getMessage() for r in caplog.records if LINE.match(r.getMessage())]
    assert [int(LINE.match(s)["step"]) for s in lines] == [2, 4, 6, 8], lines
    assert all(s.startswith("sft-test: step") for s in lines)
    assert seen and set(seen) == {first.device}, seen  # the engine's device (here the CPU)

    caplog.clear()
    other = learner(tmp_path / "b")
    other.rank = 1  # as rank 1 of a group would be
    other.fit(data)
    assert not [r for r in caplog.records if LINE.match(r.getMessage())]
