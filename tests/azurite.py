"""Azurite, Microsoft's Azure Storage emulator, as a local Azure Blob endpoint for the object-store
tests and ``bench/store.py``: started on loopback only (never with telemetry), with its own data
folder, on a free port, and stopped by the caller.

``make install``/``make test`` install it under ``build/azurite`` (``infra/tools/azurite.sh``). The
account is the emulator's documented development account (``devstoreaccount1`` and its published
key); nothing here reaches anything but 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "build" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# The emulator's well-known development key, published in Microsoft's Azurite documentation.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MISSING = f"Azurite is not installed ({BIN} is missing): run `make install` or `bash infra/tools/azurite.sh`"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Azurite:
    """One azurite-blob process on 127.0.0.1:``port`` with its data under a temporary folder."""

    def __init__(self, start_timeout_s: float = 60.0):
        if not BIN.exists():
            raise FileNotFoundError(MISSING)
        self.port = _free_port()
        self.location = Path(tempfile.mkdtemp(prefix="lam-azurite-"))
        self.log = open(self.location.parent / f"{self.location.name}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(BIN), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             "--location", str(self.location), "--silent", "--skipApiVersionCheck", "--disableTelemetry"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + start_timeout_s
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"azurite-blob did not listen on 127.0.0.1:{self.port}; see {self.log.name}"
                )
            time.sleep(0.05)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def storage_options(self, **overrides: str) -> dict[str, str]:
        """The store's ``store.storage_options`` for this emulator (Lance / object_store keys)."""
        opts = {
            "account_name": ACCOUNT,
            "account_key": KEY,
            "azure_storage_endpoint": self.endpoint,
            "allow_http": "true",
        }
        return {**opts, **overrides}

    def filesystem(self):
        """A pyarrow ``AzureFileSystem`` on this emulator (both authorities: it looks up a dfs host too)."""
        import pyarrow.fs as pafs

        auth = f"127.0.0.1:{self.port}"
        return pafs.AzureFileSystem(
            account_name=ACCOUNT, account_key=KEY, blob_storage_authority=auth, dfs_storage_authority=auth,
            blob_storage_scheme="http", dfs_storage_scheme="http",
        )  # fmt: skip

    def container(self, prefix: str = "lam") -> str:
        """Create a fresh, empty container and return its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.filesystem().create_dir(name)
        return name

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.location, ignore_errors=True)
        if os.path.exists(self.log.name):
            os.unlink(self.log.name)
