"""Placement keys: `learner.resources` is checked when the config loads, and a request no alive node
can meet stops the learner before Ray Train waits for a node that never comes."""

from __future__ import annotations

import pytest

from lam_rl.config import ConfigError


def load(repo_root, *overrides):
    from jobs.config import SFTJobConfig
    from lam_rl.config import load_config

    return load_config(SFTJobConfig, ["config=tiny", *overrides], configs_dir=repo_root / "jobs" / "configs")


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("{learner: 1}", {"learner": 1.0}),
        ("{learner: 0.5, big_disk: 2}", {"learner": 0.5, "big_disk": 2.0}),
        ("{}", {}),
    ],
)
def test_learner_resources_load(repo_root, value, want):
    assert load(repo_root, f"learner.resources={value}").learner.resources == want
    assert load(repo_root).learner.resources == {}  # the default: any node


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{CPU: 1}", "names 'CPU'; lam-rl sizes CPUs, GPUs and memory itself"),
        ("{GPU: 1}", "names 'GPU'"),
        ("{memory: 1000}", "names 'memory'"),
        ("{learner: 0}", "'learner.resources.learner' is 0.0; give a number > 0"),
        ("{learner: -1}", "'learner.resources.learner' is -1.0; give a number > 0"),
        ("{learner: nan}", "'learner.resources.learner' is nan"),
        ("{learner: inf}", "'learner.resources.learner' is inf"),
        ("{learner: abc}", "learner.resources.learner"),
        ("{learner: true}", "learner.resources.learner"),
        ("3", "learner.resources"),
    ],
)
def test_bad_learner_resources_name_the_key(repo_root, value, message):
    with pytest.raises(ConfigError) as e:
        load(repo_root, f"learner.resources={value}")
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.e2e
def test_a_resource_no_node_has_is_refused_before_ray_train_starts(ray_session):
    from cluster.train import learner_nodes, plan_resources
    from lam_rl.algos.config import LearnerConfig

    assert learner_nodes(LearnerConfig())  # no request: every alive node may host a worker
    with pytest.raises(
        ConfigError, match=r"learner.resources=\{'learner': 1.0\}: no node of the Ray cluster"
    ):
        plan_resources(LearnerConfig(resources={"learner": 1.0}))
    # one node: the CPUs per worker never exceed what that node has
    _, cpus, _ = plan_resources(LearnerConfig())
    assert 1 <= cpus <= max(n["Resources"]["CPU"] for n in learner_nodes(LearnerConfig()))
