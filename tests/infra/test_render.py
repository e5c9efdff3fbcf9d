"""Rendering RayJobs from job configs: every job module has a phase, every phase renders from every
config and validates, the entrypoint carries the config and the overrides, and bad input fails
before anything is written."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import pytest
import yaml

from jobs import CONFIGS_DIR
from jobs.config import SCHEMAS
from lam_rl.config import ConfigError
from lam_rl.deploy import render
from lam_rl.deploy.manifests import Manifest
from lam_rl.deploy.phases import PHASES, phases_for_module
from lam_rl.deploy.pods import GPU_TAINT_KEY, GPU_TAINT_VALUE, POOL_LABEL
from lam_rl.deploy.render import k8s_name

# the renderer takes the stock configs folder from its caller (lam_rl never imports jobs)
render_phase = partial(render.render_phase, configs_dir=CONFIGS_DIR, schemas=SCHEMAS)
render_cluster = partial(render.render_cluster, configs_dir=CONFIGS_DIR, schemas=SCHEMAS)
render_all = partial(render.render_all, configs_dir=CONFIGS_DIR, schemas=SCHEMAS)

ROOT = Path(__file__).resolve().parents[2]
JOB_MODULES = sorted(
    f"jobs.{p.stem}"
    for p in (ROOT / "jobs").glob("*.py")
    if p.stem != "__init__" and "run_job(" in p.read_text()
)
CONFIGS = sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))


def _rayjob(docs):
    return next(d for d in docs if d["kind"] == "RayJob")


@pytest.mark.parametrize("module", JOB_MODULES)
def test_every_job_module_has_a_phase(module):
    assert phases_for_module(module), (
        f"{module} has no entry in lam_rl/deploy/phases.py: add a Phase so `lam-rl infra render` "
        "produces its RayJob"
    )


@pytest.mark.parametrize("config", CONFIGS)
def test_every_phase_renders_and_validates(validator, config):
    rendered = render_all(config)
    assert set(rendered) == {*PHASES, "cluster"}
    manifests = [Manifest(f"{config}/{k}", d) for k, docs in rendered.items() for d in docs]
    problems = validator.validate(manifests)
    assert problems == [], "\n".join(map(str, problems))
    for name, phase in PHASES.items():
        job = _rayjob(rendered[name])
        entry = job["spec"]["entrypoint"]
        assert entry.startswith(" ".join(phase.argv) + f" config={config}"), entry
        groups = [g["groupName"] for g in job["spec"]["rayClusterSpec"]["workerGroupSpecs"]]
        assert groups == list(phase.groups)
        assert len(job["metadata"]["name"]) <= 47


def test_phases_cover_the_design_table():
    names = {p.name: (p.module, p.args) for p in PHASES.values()}
    assert names["sft-plan"] == ("jobs.sft", ("phase=plan",))
    assert names["sft-imitate"] == ("jobs.sft", ("phase=imitate",))
    assert names["sft-boost"] == ("jobs.sft", ("phase=boost",))
    assert names["ppo"] == ("jobs.ppo", ("ppo.mode=offline",)) and names["ppo-online"] == (
        "jobs.ppo",
        ("ppo.mode=online", "ppo.iterations=4"),
    )
    assert {"taskplan", "collect", "explore", "reward", "evaluate", "pipeline"} <= set(names)


def test_overrides_are_validated_and_carried():
    job = render_phase("sft-imitate", "small", ["model.hidden=256", "run.name=exp 1"])
    entry = job.docs[-1]["spec"]["entrypoint"]
    assert (
        entry
        == "python -m jobs.sft phase=imitate config=small model.hidden=256 'run.name=exp 1' run.root=/mnt/runs"
    )
    assert job.config.model.hidden == 256
    assert job.name == "exp-1-sft-imitate"
    with pytest.raises(ConfigError, match=r"unknown config key 'model\.hiden'.*Did you mean 'model\.hidden'"):
        render_phase("sft-plan", "small", ["model.hiden=256"])
    with pytest.raises(ConfigError, match="must be divisible"):
        render_phase("sft-plan", "small", ["model.heads=7"])
    with pytest.raises(ConfigError, match="with --config"):
        render_phase("sft-plan", "small", ["config=tiny"])
    with pytest.raises(ConfigError, match="unknown phase 'sft'"):
        render_phase("sft", "small")


def test_gpu_groups_request_gpus_and_tolerate_the_taint():
    job = _rayjob(render_phase("ppo-online", "small").docs)
    for group in job["spec"]["rayClusterSpec"]["workerGroupSpecs"]:
        spec = group["template"]["spec"]
        limits = spec["containers"][0]["resources"]["limits"]
        if group["groupName"] in ("learner", "serve"):
            assert int(limits["nvidia.com/gpu"]) >= 1
            assert spec["tolerations"] == [
                {"key": GPU_TAINT_KEY, "operator": "Equal", "value": GPU_TAINT_VALUE, "effect": "NoSchedule"}
            ]
            assert spec["nodeSelector"] == {POOL_LABEL: "gpu"}
        else:
            assert "nvidia.com/gpu" not in limits and "tolerations" not in spec
            assert spec["nodeSelector"] == {POOL_LABEL: "cpu"}
    # tiny runs on CPU pods only
    tiny = _rayjob(render_phase("ppo-online", "tiny").docs)
    assert all(
        "tolerations" not in g["template"]["spec"] for g in tiny["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    )


def test_secrets_come_from_secret_refs():
    job = _rayjob(render_phase("collect", "small").docs)
    env = {
        e["name"]: e
        for e in job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["WANDB_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "lam-rl-wandb",
        "key": "api-key",
        "optional": True,
    }
    assert env["LAM_VM_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "lam-rl-vm-token"
    assert "value" not in env["WANDB_API_KEY"]


def test_store_goes_to_object_storage_and_runs_to_the_shared_volume():
    job = render_phase(
        "collect", "tiny", ["deploy.store_uri=az://lam-rl/runs", "deploy.storage_account=stlamrldweu"]
    )
    entry = job.docs[-1]["spec"]["entrypoint"]
    assert "store.uri=az://lam-rl/runs/tiny/store" in entry
    assert "store.storage_options.account_name=stlamrldweu" in entry
    assert "run.root=/mnt/runs" in entry
    assert job.config.store.uri == "az://lam-rl/runs/tiny/store"
    # an explicit object-store URI and a run root under the mount are kept as they are
    ok = render_phase("collect", "tiny", ["store.uri=s3://bkt/x", "run.root=/mnt/runs/team"])
    assert "store.uri=s3://bkt/x" in ok.entrypoint and "run.root=/mnt/runs/team" in ok.entrypoint
    assert ok.entrypoint.count("run.root=") == 1
    with pytest.raises(
        ConfigError, match=r"'store\.uri' \(/data/store\) is a local path off the shared runs volume"
    ):
        render_phase("collect", "tiny", ["store.uri=/data/store"])
    with pytest.raises(ConfigError, match=r"'run\.root' \(/data\) is not on the shared runs volume"):
        render_phase("collect", "tiny", ["run.root=/data"])
    with pytest.raises(ConfigError, match=r"'ray\.address' must be unset"):
        render_phase("collect", "tiny", ["ray.address=ray://x:10001"])


def test_custom_config_file_is_shipped_as_a_configmap(tmp_path, validator):
    cfg = tmp_path / "mine.yaml"
    cfg.write_text((CONFIGS_DIR / "tiny.yaml").read_text().replace("name: tiny", "name: mine"))
    job = render_phase("reward", str(cfg))
    cm, rj = job.docs
    assert cm["kind"] == "ConfigMap" and cm["data"]["config.yaml"] == cfg.read_text()
    assert "config=/etc/lam-rl/config.yaml" in rj["spec"]["entrypoint"]
    head = rj["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert {"name": "job-config", "configMap": {"name": cm["metadata"]["name"]}} in head["volumes"]
    assert validator.validate([Manifest("cm", cm), Manifest("rj", rj)]) == []
    with pytest.raises(ConfigError, match="cannot mount it"):
        render_phase("reward", str(cfg), on_cluster="lam-rl")


def test_on_cluster_jobs_use_the_long_lived_cluster(validator):
    cluster = render_cluster("small")[0]
    job = render_phase("evaluate", "small", on_cluster=cluster["metadata"]["name"])
    spec = job.docs[-1]["spec"]
    assert spec["clusterSelector"] == {"ray.io/cluster": "lam-rl"}
    assert "rayClusterSpec" not in spec and "shutdownAfterJobFinishes" not in spec
    assert validator.validate([Manifest("c", cluster), Manifest("j", job.docs[-1])]) == []
    assert [g["groupName"] for g in cluster["spec"]["workerGroupSpecs"]] == ["rollout", "learner", "serve"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("deploy.image=lam-rl:latest", "explicit tag"),
        ("deploy.image=lam-rl", "explicit tag"),
        ("deploy.learner.cpu=lots", r"deploy\.learner\.cpu"),
        ("deploy.rollout.min_replicas=9", "min_replicas <= replicas"),
        ("deploy.namespace=Lam_RL", r"deploy\.namespace"),
        ("deploy.store_uri=/tmp/store", "object-store URI"),
        ("deploy.gpu_pool=gpu-pool-1", "node-pool name"),
    ],
)
def test_bad_deploy_values_fail_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        render_phase("sft-plan", "tiny", [override])


def test_names_are_valid_and_bounded():
    name = k8s_name("A very_long Run Name for an experiment 2026", "ppo-online")
    assert len(name) <= 47 and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name)
    assert k8s_name("1st", "collect") == "lam-1st-collect"
    assert k8s_name("x" * 60, "a") != k8s_name("x" * 60, "b")


def test_rendered_pods_match_terraform_pools_and_the_chart():
    """The node label, the GPU taint, the ServiceAccount, the runs volume and the pod label the
    NetworkPolicies select are the same in the renderer, the Terraform module and the chart."""
    tf = (ROOT / "infra/terraform/modules/node_pools/main.tf").read_text()
    assert f'pool_label = "{POOL_LABEL}"' in tf
    assert f'gpu_taint  = "{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:NoSchedule"' in tf
    values = yaml.safe_load((ROOT / "infra/helm/lam-rl/values.yaml").read_text())
    job = render_phase("collect", "tiny")
    cfg = job.config.deploy
    assert values["serviceAccount"]["name"] == cfg.service_account
    assert values["runsVolume"]["name"] == cfg.runs_volume
    assert values["network"]["vmAgentPort"] == 8700
    helpers = (ROOT / "infra/helm/lam-rl/templates/_helpers.tpl").read_text()
    assert "app.kubernetes.io/name: lam-rl" in helpers
    rj = job.docs[-1]["spec"]
    pods = [rj["rayClusterSpec"]["headGroupSpec"]["template"], rj["submitterPodTemplate"]]
    pods += [g["template"] for g in rj["rayClusterSpec"]["workerGroupSpecs"]]
    assert all(p["metadata"]["labels"]["app.kubernetes.io/name"] == "lam-rl" for p in pods)
    assert 'default     = "1.33"' in (ROOT / "infra/terraform/variables.tf").read_text()


def test_job_specific_keys_are_validated_with_the_jobs_own_config():
    """A phase validates with its row's config class (the one `lam-rl config` uses for its job),
    else with the root Config: pipeline knows `stages`, a job without its own class does not."""
    job = render_phase("pipeline", "tiny", ["stages=[collect]"])
    assert job.config.stages == ["collect"] and "'stages=[collect]'" in job.entrypoint
    with pytest.raises(ConfigError, match="unknown config key 'stages'"):
        render_phase("collect", "tiny", ["stages=[collect]"])
    with pytest.raises(ConfigError, match="unknown pipeline stage 'base'"):
        render_phase("pipeline", "tiny", ["stages=[base]"])


def test_pod_policy_covers_custom_resource_pod_templates(validator):
    job = render_phase("collect", "tiny").docs[-1]
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
    worker = job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["template"]
    assert head["spec"]["automountServiceAccountToken"] is True  # the autoscaler sidecar needs the API
    assert worker["spec"]["automountServiceAccountToken"] is False
    worker["metadata"]["labels"]["team"] = "rl team"
    env = worker["spec"]["containers"][0]["env"]
    env.append({"name": "HF_TOKEN", "value": "hf_abc"})
    del worker["spec"]["containers"][0]["resources"]["limits"]["memory"]
    worker["spec"]["securityContext"]["runAsNonRoot"] = False
    worker["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = False
    text = "\n".join(str(p) for p in validator.validate([Manifest("job.yaml", job)]))
    where = "job.yaml: RayJob/tiny-collect: spec.rayClusterSpec.workerGroupSpecs[0].template"
    assert f"{where}.metadata.labels.team: invalid label value 'rl team'" in text
    assert f"{where}.spec.containers[0].env[{len(env) - 1}].value: HF_TOKEN must come from a Secret" in text
    assert f"{where}.spec.containers[0].resources.limits.memory: every container needs limits.memory" in text
    assert f"{where}.spec.containers[0].securityContext.runAsNonRoot: must be true" in text


def test_terraform_vm_list_override_renders():
    """The override Terraform outputs for the VM list (modules/vm_endpoints, pinned by its terraform
    test) is accepted by the renderer and becomes fleet.vms."""
    tftest = (ROOT / "infra/terraform/modules/vm_endpoints/tests/vm_endpoints.tftest.hcl").read_text()
    override = re.search(r'output\.fleet_override == "(fleet\.vms=\[[^"]+\])"', tftest).group(1)
    job = render_phase("collect", "tiny", [override])
    assert job.config.fleet.vms == ["http://10.40.4.4:8700", "http://10.40.4.5:8700"]


def test_the_heads_serve_port_is_serve_http_port():
    """The head exposes Serve's HTTP proxy on the port the job's Serve starts it on (serve.http_port),
    in a job's own cluster and in the long-lived one."""

    def serve_port(cluster_spec):
        ports = cluster_spec["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]
        return [p["containerPort"] for p in ports if p["name"] == "serve"]

    for overrides, port in (([], 8000), (["serve.http_port=8123"], 8123)):
        job = _rayjob(render_phase("evaluate", "tiny", overrides).docs)
        assert serve_port(job["spec"]["rayClusterSpec"]) == [port]
        assert serve_port(render_cluster("tiny", overrides)[0]["spec"]) == [port]
