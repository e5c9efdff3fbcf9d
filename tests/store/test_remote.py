"""The store on an object store that refuses it: a wrong key or account, an endpoint that does not
answer or speaks another scheme, a missing container, a malformed URI. Each is one line naming the
problem and the key to fix, found when the store is opened (a job's input check, before any worker),
and nothing is written. Azure Blob is Azurite on loopback (tests/azurite.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lam_rl.config import ConfigError, load_config
from lam_rl.store import StoreConfig, TrajectoryStore
from lam_rl.store.remote import StoreAccessError
from lam_rl.store.synthetic import make_trajectory
from tests.azurite import KEY

# name -> (uri with {c} for a fresh container, storage option overrides (None: drop the key), needle)
OPEN = {
    "wrong key": ("az://{c}/s", {"account_key": KEY[:-8] + "AAAAAAA="}, "refused the credentials (AuthorizationFailure)"),
    "wrong account": ("az://{c}/s", {"account_name": "someoneelse"}, "refused the credentials"),
    "key not base64": ("az://{c}/s", {"account_key": "not-base64!"}, "the account key is not valid base64"),
    "missing container": ("az://nosuchcontainer/s", {}, "container 'nosuchcontainer' does not exist at http://127.0.0.1:"),
    "closed port": ("az://{c}/s", {"azure_storage_endpoint": "http://127.0.0.1:9/devstoreaccount1"}, "cannot reach http://127.0.0.1:9/devstoreaccount1"),
    "https to http": ("az://{c}/s", {"azure_storage_endpoint": "https://{ep}"}, "(an https:// endpoint for a server that speaks http?)"),
    "http not allowed": ("az://{c}/s", {"allow_http": None}, "set store.storage_options.allow_http=true"),
    "no account": ("az://{c}/s", {"account_name": None, "account_key": None, "azure_storage_endpoint": None}, "no storage account is configured"),
}  # fmt: skip


def _options(azurite, overrides):
    opts = azurite.storage_options()
    ep = opts["azure_storage_endpoint"].removeprefix("http://")
    for k, v in overrides.items():
        if v is None:
            opts.pop(k)
        else:
            opts[k] = v.format(ep=ep)
    return opts


def _blobs(azurite, container: str) -> list[str]:
    import pyarrow.fs as pafs

    sel = pafs.FileSelector(container, recursive=True, allow_not_found=True)
    return [i.path for i in azurite.filesystem().get_file_info(sel)]


@pytest.mark.parametrize("case", list(OPEN))
def test_a_refused_object_store_is_one_line_and_nothing_is_written(azurite, case, monkeypatch):
    for var in ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY", "AZURITE_BLOB_STORAGE_URL"):
        monkeypatch.delenv(var, raising=False)
    uri, overrides, needle = OPEN[case]
    c = azurite.container()
    uri = uri.format(c=c)
    with pytest.raises(StoreAccessError) as e:
        TrajectoryStore(uri, _options(azurite, overrides)).write([make_trajectory(0, steps=2)])
    msg = str(e.value)
    assert needle in msg and msg.startswith(f"store: {uri}:"), msg
    assert "\n" not in msg and len(msg) < 400, msg
    assert _blobs(azurite, c) == []


def test_the_store_opens_and_writes_with_the_right_options(azurite):
    c = azurite.container()
    s = TrajectoryStore(f"az://{c}/s", azurite.storage_options())
    assert _blobs(azurite, c) == []  # opening a new store creates nothing
    s.write([make_trajectory(0, steps=2)])
    assert any(p.endswith(".lance") for p in _blobs(azurite, c))


def test_s3_without_credentials_is_one_line(monkeypatch):
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(
        StoreAccessError, match=r"^store: s3://lam-bucket/s: the bucket 'lam-bucket' could not be"
    ):
        TrajectoryStore("s3://lam-bucket/s")


@pytest.mark.parametrize(
    "uri, needle",
    [
        ("az://", "'' in az:// is not a valid container name"),
        ("az:///prefix", "'' in az:///prefix is not a valid container name"),
        ("az://ab/x", "'ab' in az://ab/x is not a valid container name"),
        ("az://My-Container/x", "'My-Container'"),
        ("az://a--b-c/x", "'a--b-c'"),
        ("az://-abc/x", "'-abc'"),
        ("s3://B_ucket/x", "'B_ucket' in s3://B_ucket/x is not a valid bucket name"),
        ("gs://x/y", "'x' in gs://x/y is not a valid bucket name"),
        ("azure://cont/x", "scheme 'azure://' is not one the store opens"),
        ("http://127.0.0.1:10000/devstoreaccount1/c", "scheme 'http://' is not one the store opens"),
    ],
)
def test_a_malformed_store_uri_fails_at_load(uri, needle):
    with pytest.raises(ConfigError, match="store.uri") as e:
        load_config(StoreConfig, [f"uri={uri}"])
    assert needle in str(e.value), str(e.value)


@pytest.mark.parametrize(
    "uri", ["az://lam-store/p/q", "s3://my.bucket-1/x", "gs://abc/", "/tmp/x", "file:///tmp/x"]
)
def test_good_store_uris_load(uri):
    assert load_config(StoreConfig, [f"uri={uri}"]).uri == uri


def test_jobs_exit_2_before_anything_runs(azurite, tmp_path, monkeypatch, capsys):
    """collect and sft (as ``python -m jobs.<name>``) with a refused store or a missing container: exit 2,
    one ``error: store: ...`` line, no run directory, no Ray, nothing in the container."""
    import runpy

    import ray

    started: list[object] = []

    def no_ray(*args, **kwargs):  # Ray may be up in this test process already: catch the job's own start
        started.append(args or kwargs)
        raise RuntimeError("the job started Ray before refusing its store")

    monkeypatch.setattr(ray, "init", no_ray)
    c = azurite.container()
    good = azurite.storage_options()
    rows = [  # the other refusals are the same open, covered above without a job around it
        (
            "jobs.collect",
            f"az://{c}/s",
            {**good, "account_key": KEY[:-8] + "AAAAAAA="},
            "refused the credentials",
        ),
        ("jobs.sft", "az://no-such-container/s", good, "container 'no-such-container' does not exist"),
    ]
    for i, (module, uri, opts, needle) in enumerate(rows):
        argv = ["config=tiny", f"run.root={tmp_path / str(i)}", "tracking.mode=disabled", f"store.uri={uri}"]
        argv += [f"store.storage_options.{k}={v}" for k, v in opts.items()]
        if module == "jobs.sft":
            argv.append("phase=plan")
        monkeypatch.setattr(sys, "argv", [module, *argv])
        with pytest.raises(SystemExit) as e:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert e.value.code == 2, err[-1500:]
        assert len(errors) == 1 and needle in errors[0], (needle, errors)
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == [], "a run directory was left"
    assert _blobs(azurite, c) == []
    assert started == [], "the job called ray.init"


def test_learner_storage_is_checked_at_load_and_reached_through_pyarrow(azurite):
    """learner.storage (Ray Train's storage) takes the store's URI rules, and its options build a pyarrow
    filesystem that reads and writes the container (what Ray Train uploads checkpoints through)."""
    from lam_rl.algos.config import LearnerConfig
    from lam_rl.store.remote import arrow_filesystem

    with pytest.raises(ConfigError, match="learner.storage.*'AB' in az://AB/x is not a valid container name"):
        load_config(LearnerConfig, ["storage=az://AB/x"])
    with pytest.raises(ConfigError, match="learner.storage"):
        load_config(LearnerConfig, ["storage=memory://x"])
    c = azurite.container()
    cfg = load_config(LearnerConfig, [f"storage=az://{c}/train"])
    fs, path = arrow_filesystem(cfg.storage, azurite.storage_options())
    assert path == f"{c}/train"
    with fs.open_output_stream(f"{path}/run/x.txt") as f:
        f.write(b"ok")
    assert f"{c}/train/run/x.txt" in _blobs(azurite, c)
    with fs.open_input_stream(f"{path}/run/x.txt") as f:
        assert f.read() == b"ok"
