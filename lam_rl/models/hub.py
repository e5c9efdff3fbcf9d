"""Where a model or tokenizer comes from: a local folder, or a Hugging Face hub id (``org/name``).

``resolve_pretrained`` turns ``model.name_or_path`` (or ``tokenizer.path``) into what
``from_pretrained`` should load:

- an existing folder: itself, checked to be a ``save_pretrained`` folder;
- a hub id with hub access off (``HF_HUB_OFFLINE=1``, as the demo and the tests set): the id's
  snapshot in the local Hugging Face cache (``HF_HOME``/``HF_HUB_CACHE``), or a ``ConfigError``
  naming the id and the cache folder when it is not there;
- a hub id with hub access on: the id itself, which transformers downloads into the cache as usual
  (``HF_TOKEN`` for gated models).

Nothing else in lam-rl turns hub access off: that is the user's ``HF_HUB_OFFLINE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lam_rl.config import ConfigError

__all__ = ["hub_cache_dir", "hub_offline", "is_hub_id", "resolve_pretrained"]

# the files that make a folder loadable, per kind of artifact
REQUIRED = {"model": ("config.json",), "tokenizer": ("tokenizer_config.json", "tokenizer.json")}


def hub_offline() -> bool:
    """Whether hub access is off (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``), as huggingface_hub sees it."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def hub_cache_dir() -> str:
    """The Hugging Face hub cache folder (``HF_HUB_CACHE``, else ``$HF_HOME/hub``)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def is_hub_id(name: str) -> bool:
    """``org/name`` or ``name`` as the hub spells repository ids (not a path like ``./x`` or ``/x``)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if (
        not name
        or name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or os.sep != "/"
        and os.sep in name
    ):
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def _check_folder(path: Path, spec: str, what: str) -> None:
    need = REQUIRED.get(what, ())
    if need and not any((path / f).is_file() for f in need):
        raise ConfigError(
            f"{what} '{spec}' ({path}) has no {' or '.join(need)}: it is not a save_pretrained folder"
        )


def resolve_pretrained(name_or_path: str | os.PathLike, what: str = "model") -> str:
    """What ``from_pretrained`` should load for ``name_or_path``: a checked local folder or a hub id."""
    spec = str(name_or_path)
    if not spec.strip():
        raise ConfigError(f"{what} name is empty: give a save_pretrained folder or a hub id (org/name)")
    path = Path(spec).expanduser()
    if path.is_dir():
        _check_folder(path, spec, what)
        return str(path)
    if not is_hub_id(spec):
        raise ConfigError(
            f"{what} folder '{spec}' does not exist. Give an existing save_pretrained folder or a Hugging "
            "Face hub id (org/name), or leave model.name_or_path unset to build a model from config."
        )
    if not hub_offline():
        return spec  # transformers downloads it into the hub cache
    from huggingface_hub import snapshot_download

    try:
        snapshot = Path(snapshot_download(spec, local_files_only=True))
    except OSError:  # LocalEntryNotFoundError: no snapshot of the id in the cache
        raise ConfigError(
            f"{what} '{spec}' is not a local folder and is not in the Hugging Face cache "
            f"{hub_cache_dir()} (hub access is off: HF_HUB_OFFLINE=1). Download it there first "
            f"(`hf download {spec}` with hub access, or set HF_HOME/HF_HUB_CACHE to the cache that has "
            "it), unset HF_HUB_OFFLINE to let transformers download it, or give a local folder."
        ) from None
    _check_folder(snapshot, spec, what)
    return str(snapshot)
