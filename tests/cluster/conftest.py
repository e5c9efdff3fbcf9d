import pytest


@pytest.fixture(scope="session")
def ray_session():
    """One embedded Ray for the cluster tests of a session (2 CPUs, as on CI machines)."""
    import ray

    from cluster.runtime import worker_env

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace="lam-rl-tests",
        log_to_driver=False,
        runtime_env={"env_vars": worker_env()},
    )
    yield ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


@pytest.fixture
def cfg_factory(tmp_path, repo_root):
    from lam_rl.config import load_config
    from lam_rl.job_configs import Config

    def make(*overrides, schema=Config):
        return load_config(
            schema,
            ["config=tiny", f"run.root={tmp_path}", "tracking.mode=offline", *overrides],
            configs_dir=repo_root / "jobs" / "configs",
        )

    return make
