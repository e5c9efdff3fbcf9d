import pytest


@pytest.fixture
def cfg_factory(tmp_path, repo_root):
    from jobs.config import Config
    from lam_rl.config import load_config

    def make(*overrides, schema=Config):
        return load_config(
            schema,
            ["config=tiny", f"run.root={tmp_path}", "tracking.mode=offline", *overrides],
            configs_dir=repo_root / "jobs" / "configs",
        )

    return make
