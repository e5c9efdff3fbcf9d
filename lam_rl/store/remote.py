"""The store on an object store (``az://``, ``s3://``, ``gs://``): what an access failure means.

Lance reports a refused key, a missing container or an endpoint that does not answer as a long
``LanceError(IO)`` holding the HTTP exchange. :func:`access_error` turns such an error into one line
naming the problem and the key to fix, so opening a store (which every job does in its input checks,
before any worker starts) fails with that line instead of "damaged", or instead of taking a missing
container for an empty store. Nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lam_rl.store.errors import StoreError, short_error


class StoreAccessError(StoreError):
    """The object store holding the trajectory store refused or could not be reached."""


_KEY_HINT = {
    "az": "store.storage_options account_name / account_key (or sas_token)",
    "s3": "store.storage_options aws_access_key_id / aws_secret_access_key (and region)",
    "gs": "store.storage_options service_account / service_account_key",
}
_ENDPOINT_KEY = {"az": "azure_storage_endpoint", "s3": "aws_endpoint", "gs": "google_endpoint"}
_CONTAINER_WORD = {"az": "container", "s3": "bucket", "gs": "bucket"}


def scheme_of(uri: str) -> str | None:
    """``az``, ``s3``, ``gs``... for an object-store URI (``abfss`` counts as ``az``); None for a local path."""
    if "://" not in uri:
        return None
    scheme = uri.split("://", 1)[0].lower()
    if scheme in ("file", "file-object-store", "memory"):
        return None
    return "az" if scheme in ("az", "abfs", "abfss", "azure") else scheme.split("+")[0]


def _container(uri: str) -> str:
    return uri.split("://", 1)[1].split("/", 1)[0].split("@", 1)[0]


def _endpoint(scheme: str, options: Mapping[str, str], e: BaseException) -> str:
    m = re.search(r"(?:GET|PUT|HEAD|POST|DELETE) (https?://[^/?\s]+(?:/[^/?\s]+)?)", str(e))
    if m:
        return m.group(1)
    return options.get(_ENDPOINT_KEY.get(scheme, ""), "") or "its default endpoint"


def access_error(uri: str, options: Mapping[str, str], e: BaseException) -> StoreAccessError | None:
    """The one-line error for ``e``, met while reaching the object store of the store at ``uri``
    with ``options`` (``store.storage_options``), or None when ``e`` is not an access failure."""
    scheme = scheme_of(uri)
    if scheme is None:
        return None
    msg = " ".join(str(e).split())
    word = _CONTAINER_WORD.get(scheme, "container")
    name = _container(uri)
    keys = _KEY_HINT.get(scheme, "store.storage_options (credentials)")
    where = _endpoint(scheme, options, e)
    prefix = f"store: {uri}:"
    if any(m in msg for m in ("ContainerNotFound", "NoSuchBucket", "The specified bucket does not exist")):
        return StoreAccessError(
            f"{prefix} {word} '{name}' does not exist at {where}; create it (Lance does not) or fix store.uri"
        )
    if any(m in msg for m in ("OutOfRangeInput", "InvalidResourceName", "InvalidBucketName")):
        return StoreAccessError(
            f"{prefix} '{name}' is not a valid {word} name at {where} (3-63 lowercase letters, digits and "
            "hyphens); fix store.uri"
        )
    if "Invalid Access Key" in msg:
        return StoreAccessError(f"{prefix} the account key is not valid base64 ({short_error(e)}); fix {keys}")
    if any(
        m in msg
        for m in (
            "AuthorizationFailure",
            "AuthenticationFailed",
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "403 Forbidden",
            "401 Unauthorized",
        )
    ):
        code = re.search(r"<Code>(\w+)</Code>", msg)
        why = f" ({code.group(1)})" if code else ""
        if "token request" in msg or "computeMetadata" in msg:
            return StoreAccessError(
                f"{prefix} no credentials were found for it (the metadata server refused a token); set {keys}"
            )
        return StoreAccessError(
            f"{prefix} {where} refused the credentials{why}; check the account name and key in {keys}"
        )
    if "Failed to resolve region" in msg:
        return StoreAccessError(
            f"{prefix} the {word} '{name}' could not be located (no region, no credentials or no such "
            f"{word}); set {keys}, or aws_endpoint for an S3-compatible store"
        )
    if "builder error" in msg and "http://" in msg:
        return StoreAccessError(
            f"{prefix} the endpoint {where} is plain http, which is refused by default; set "
            "store.storage_options.allow_http=true (an emulator or a private endpoint) or use https"
        )
    if any(m in msg for m in ("error sending request", "dns error", "Connection refused", "timed out")):
        tls = " (an https:// endpoint for a server that speaks http?)" if where.startswith("https://") else ""
        return StoreAccessError(
            f"{prefix} cannot reach {where}{tls}; check {_ENDPOINT_KEY.get(scheme, 'the endpoint')} in "
            "store.storage_options and that the service is up"
        )
    if any(m in msg for m in ("no Azure account name", "no storage account configured")):
        return StoreAccessError(
            f"{prefix} no storage account is configured; set store.storage_options.account_name (and "
            "account_key), or AZURE_STORAGE_ACCOUNT_NAME"
        )
    if "did not match any known pattern" in msg:
        return StoreAccessError(
            f"{prefix} not a URI the object store understands; write az://CONTAINER/PREFIX (s3://BUCKET/PREFIX, "
            "gs://BUCKET/PREFIX)"
        )
    if any(m in msg for m in ("MicrosoftAzure error", "S3 error", "GCS error", "Generic HTTP error")):
        return StoreAccessError(f"{prefix} the object store failed: {short_error(e)}; check store.storage_options")
    return None


def check_store(store_cfg, run_dir=None) -> None:
    """A job's input check for a store on an object store (``store.uri`` with a scheme): open it, which
    reads and writes nothing but raises the one line of :func:`access_error` for a refused key, an
    unreachable endpoint or a missing container. A local store is checked by the job when it opens it."""
    if not store_cfg.uri or scheme_of(str(store_cfg.uri)) is None:
        return
    from lam_rl.store.store import TrajectoryStore

    TrajectoryStore.from_config(store_cfg, run_dir)


def arrow_filesystem(uri: str, options: Mapping[str, str]):
    """``(pyarrow FileSystem, path)`` for an object-store ``uri`` from store-style ``options`` (the keys of
    ``store.storage_options``), for what reads and writes through pyarrow rather than Lance (Ray Train's
    storage). Azure needs both the blob and the dfs authority: with the blob one alone pyarrow looks up a
    ``*.dfs.core.windows.net`` host."""
    from urllib.parse import urlparse

    import pyarrow.fs as pafs

    scheme = scheme_of(uri)
    path = uri.split("://", 1)[1].strip("/")
    opts = {k.lower(): v for k, v in options.items()}
    if scheme == "az":
        kw: dict[str, str] = {}
        account = opts.get("account_name") or opts.get("azure_storage_account_name")
        key = opts.get("account_key") or opts.get("azure_storage_account_key")
        endpoint = opts.get("azure_storage_endpoint") or opts.get("endpoint")
        if account:
            kw["account_name"] = account
        if key:
            kw["account_key"] = key
        if opts.get("sas_token"):
            kw["sas_token"] = opts["sas_token"]
        if endpoint:
            u = urlparse(endpoint)
            kw.update(blob_storage_authority=u.netloc, dfs_storage_authority=u.netloc,
                      blob_storage_scheme=u.scheme, dfs_storage_scheme=u.scheme)  # fmt: skip
        if "@" in path.split("/", 1)[0]:  # abfss://container@account.dfs.core.windows.net/prefix
            head, _, rest = path.partition("/")
            path = f"{head.split('@', 1)[0]}/{rest}".rstrip("/")
        return pafs.AzureFileSystem(**kw), path
    if scheme == "s3":
        kw = {}
        for ours, theirs in (("aws_access_key_id", "access_key"), ("aws_secret_access_key", "secret_key"),
                             ("aws_session_token", "session_token"), ("region", "region"),
                             ("aws_region", "region")):  # fmt: skip
            if opts.get(ours):
                kw[theirs] = opts[ours]
        endpoint = opts.get("aws_endpoint") or opts.get("endpoint")
        if endpoint:
            u = urlparse(endpoint)
            kw.update(endpoint_override=u.netloc, scheme=u.scheme)
        return pafs.S3FileSystem(**kw), path
    if scheme == "gs":
        return pafs.GcsFileSystem(), path
    raise StoreError(f"{uri}: no pyarrow filesystem for this scheme; use az://, s3:// or gs://")
