"""Validate custom resources against CustomResourceDefinitions, offline, as the API server would.

On create the API server (1) drops ``null`` values of fields that are not ``nullable`` and have no
``default``, (2) fills in every ``default`` of the structural schema, then (3) validates the result:
the ``openAPIV3Schema`` as a JSON Schema once the Kubernetes extensions are given their meaning
(``x-kubernetes-int-or-string``: integer or string, ``nullable``, strict field validation: an object
with ``properties`` rejects unknown fields unless ``x-kubernetes-preserve-unknown-fields``, as
``kubectl apply`` does by default; list types: ``map`` lists are unique by their keys, ``set`` lists
by value; the int32/int64 formats) and the CEL rules in ``x-kubernetes-validations`` (evaluated with
cel-python on the defaulted object; transition rules, the ones that use ``oldSelf``, apply only to
updates and are skipped). ``metadata`` is checked as ObjectMeta. :meth:`CRDRegistry.admit` returns
the object as it would be stored (defaulted), which is what the operator's own rules then see. Every
problem names the path of the fault (``spec.rayClusterSpec.workerGroupSpecs[0].replicas``).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Problem", "CRDRegistry", "format_path", "check_metadata", "label_problems", "load_yaml_docs"]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# every field of ObjectMeta: a manifest exported from a cluster carries the server-set ones
# (``creationTimestamp: null`` is common in generated YAML); the API server ignores or resets them
OBJECT_META_FIELDS = {
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
}


@dataclass(frozen=True)
class Problem:
    """One fault: where (file, object, field path) and what."""

    source: str
    obj: str
    path: str
    message: str
    rule: str = ""  # the id of the KubeRay operator rule that found it (lam_rl.deploy.kuberay.RULES)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.source}: {self.obj}: {where}{self.message}{rule}"


def format_path(parts: Any) -> str:
    """``['spec', 'groups', 0, 'name']`` -> ``spec.groups[0].name``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


def load_yaml_docs(text: str) -> list[Any]:
    return [
        d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d is not None
    ]


# --------------------------------------------------------------------------- metadata


def label_problems(where: str, labels: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(labels, dict):
        yield where, "must be a map of strings"
        return
    for key, value in labels.items():
        key = str(key)
        prefix, _, name = key.rpartition("/")
        if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
            yield f"{where}.{key}", "label key prefix must be a DNS subdomain"
        if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
            yield (
                f"{where}.{key}",
                "label key must be a qualified name (at most 63 alphanumerics, '-', '_', '.')",
            )
        if not isinstance(value, str):
            yield f"{where}.{key}", f"label value must be a string, got {type(value).__name__}"
        elif len(value) > 63 or not _LABEL_VALUE.match(value):
            yield f"{where}.{key}", f"invalid label value {value!r} (at most 63 alphanumerics, '-', '_', '.')"


def check_metadata(
    meta: Any, *, name_rule: str = "subdomain", max_name: int = 253
) -> Iterator[tuple[str, str]]:
    """ObjectMeta checks as (path, message); ``name_rule`` is 'subdomain', 'label' or 'dns1035'."""
    if not isinstance(meta, dict):
        yield "metadata", "must be an object"
        return
    for key in meta:
        if key not in OBJECT_META_FIELDS:
            near = difflib.get_close_matches(str(key), sorted(OBJECT_META_FIELDS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            yield f"metadata.{key}", f'unknown field "{key}"{hint}'
    name = meta.get("name")
    if name is None and "generateName" not in meta:
        yield "metadata.name", "missing required field"
    elif name is not None:
        if not isinstance(name, str):
            yield "metadata.name", "must be a string"
        else:
            pattern = {"subdomain": _DNS1123_SUBDOMAIN, "label": _DNS1123_LABEL}.get(name_rule)
            ok = pattern.match(name) if pattern else re.match(r"^[a-z]([-a-z0-9]*[a-z0-9])?$", name)
            if not ok:
                kind = {"subdomain": "DNS-1123 subdomain", "label": "DNS-1123 label"}.get(
                    name_rule, "DNS-1035 label"
                )
                yield "metadata.name", f"{name!r} is not a valid {kind}"
            if len(name) > max_name:
                yield "metadata.name", f"{name!r} is {len(name)} characters long, more than {max_name}"
    ns = meta.get("namespace")
    if ns is not None and (not isinstance(ns, str) or len(ns) > 63 or not _DNS1123_LABEL.match(ns)):
        yield "metadata.namespace", f"{ns!r} is not a valid namespace (a DNS-1123 label)"
    if meta.get("labels") is not None:
        yield from label_problems("metadata.labels", meta["labels"])
    annotations = meta.get("annotations")
    if annotations is not None:
        if not isinstance(annotations, dict):
            yield "metadata.annotations", "must be a map of strings"
        else:
            for k, v in annotations.items():
                if not isinstance(v, str):
                    yield (
                        f"metadata.annotations.{k}",
                        f"annotation value must be a string, got {type(v).__name__}",
                    )


# --------------------------------------------------------------------------- pruning and defaulting


def _field_schema(key: str, schema: Any) -> dict[str, Any] | None:
    """The schema of field ``key`` of an object: its property, else the object's additionalProperties."""
    if not isinstance(schema, dict):
        return None
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _has_default(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("default") is not None


def prune_nulls(value: Any, schema: Any) -> None:
    """Drop, in place, the ``null`` fields whose schema is neither ``nullable`` nor defaulted (the API
    server does this before defaulting; a ``null`` list item is kept, and fails validation)."""
    if isinstance(value, dict):
        for key in list(value):
            sub = _field_schema(key, schema)
            if value[key] is None and sub is not None and not sub.get("nullable") and not _has_default(sub):
                del value[key]
            else:
                prune_nulls(value[key], sub)
    elif isinstance(value, list):
        items = schema.get("items") if isinstance(schema, dict) else None
        for item in value:
            prune_nulls(item, items)


def apply_defaults(value: Any, schema: Any) -> None:
    """Fill in, in place, the ``default`` of every absent field (and of every non-nullable ``null``
    one), recursively, as the API server's structural defaulting does before validation."""
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, prop in props.items():
            if _has_default(prop) and (key not in value or (value[key] is None and not prop.get("nullable"))):
                value[key] = copy.deepcopy(prop["default"])
        extra = schema.get("additionalProperties")
        for key in value:
            if key in props:
                apply_defaults(value[key], props[key])
            elif isinstance(extra, dict):
                if value[key] is None and not extra.get("nullable") and _has_default(extra):
                    value[key] = copy.deepcopy(extra["default"])
                apply_defaults(value[key], extra)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i in range(len(value)):
                if value[i] is None and not items.get("nullable") and _has_default(items):
                    value[i] = copy.deepcopy(items["default"])
                apply_defaults(value[i], items)


# --------------------------------------------------------------------------- schema conversion


def to_json_schema(node: Any) -> Any:
    """A CRD structural schema as a JSON Schema (Draft 2020-12) with Kubernetes semantics."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("description", "default", "example")}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        for key in ("apiVersion", "kind"):
            props.setdefault(key, {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    # a structural schema keeps only the fields it names: an object without additionalProperties or
    # x-kubernetes-preserve-unknown-fields takes no others (with no properties, none at all)
    if (
        out.get("type") in ("object", ["object", "null"])
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.lru_cache(maxsize=256)
def _cel_program(rule: str) -> Any:
    import celpy

    env = celpy.Environment()
    return env.program(env.compile(rule))


def _cel_keyword(validator: Any, rules: Any, instance: Any, schema: Any) -> Iterator[Any]:
    import celpy
    from jsonschema import ValidationError

    for rule in rules:
        expr = rule.get("rule", "")
        if "oldSelf" in expr:  # a transition rule: only evaluated on update
            continue
        message = rule.get("message") or f"failed rule: {expr}"
        activation = {"self": celpy.json_to_cel(instance)}
        try:
            result = _cel_program(expr).evaluate(activation)
        except Exception as e:  # noqa: BLE001 - a CEL evaluation error is a validation failure
            yield ValidationError(
                f"CEL rule {expr!r} could not be evaluated: {e}", validator="x-kubernetes-validations"
            )
            continue
        if isinstance(result, Exception) or not bool(result):
            if rule.get("messageExpression"):
                # the API server falls back to `message` when the expression fails, too
                with contextlib.suppress(Exception):
                    message = str(_cel_program(rule["messageExpression"]).evaluate(activation))
            err = ValidationError(f"{message} (CEL rule: {expr})", validator="x-kubernetes-validations")
            # fieldPath (".spec.x['y']") points the error below the node that holds the rule
            field_path = re.findall(r"\.([A-Za-z0-9_$-]+)|\['([^']*)'\]", rule.get("fieldPath", ""))
            err.path.extend(a or b for a, b in field_path)
            yield err


def _list_type_keyword(validator: Any, list_type: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema import ValidationError

    if not isinstance(instance, list) or list_type == "atomic":
        return
    seen: dict[Any, int] = {}
    keys = schema.get("x-kubernetes-list-map-keys", [])
    for i, item in enumerate(instance):
        if list_type == "map":
            if not isinstance(item, dict):
                continue
            ident = tuple(item.get(k) for k in keys)
            label = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
        else:
            ident = yaml.safe_dump(item, sort_keys=True)
            label = repr(item)
        if ident in seen:
            err = ValidationError(
                f"duplicate entry ({label}) also at index {seen[ident]}: a '{list_type}' list must be unique",
                validator="x-kubernetes-list-type",
            )
            err.path.appendleft(i)
            yield err
        else:
            seen[ident] = i


def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators

    return validators.extend(
        Draft202012Validator,
        {"x-kubernetes-validations": _cel_keyword, "x-kubernetes-list-type": _list_type_keyword},
    )


def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker()

    def _range(lo: int, hi: int):
        def check(value: Any) -> bool:
            return not isinstance(value, int) or isinstance(value, bool) or lo <= value <= hi

        return check

    checker.checks("int32")(_range(*INT32))
    checker.checks("int64")(_range(*INT64))
    return checker


# --------------------------------------------------------------------------- registry


def _load_crd(path: Path) -> dict[str, Any]:
    """A CRD file, parsed. A KubeRay CRD is a megabyte of YAML (seconds to parse); its JSON copy is
    cached under ~/.cache/lam-rl/crds (or $XDG_CACHE_HOME), keyed by the file's content."""
    text = path.read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lam-rl" / "crds"
    cached = cache / f"{path.stem}-{digest}.json"
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    crd = load_yaml_docs(text)[0]
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{cached.name}.")
        with os.fdopen(fd, "w") as f:
            json.dump(crd, f)
        os.replace(tmp, cached)
    except OSError:  # a read-only home: parse every time
        pass
    return crd


class CRDRegistry:
    """The CRDs in a folder, indexed by (apiVersion, kind); schemas are converted on first use."""

    def __init__(self, crd_dir: Path):
        import importlib.util

        missing = [m for m in ("jsonschema", "celpy") if importlib.util.find_spec(m) is None]
        if missing:
            from lam_rl.config import ConfigError

            raise ConfigError(
                f"validating custom resources needs {', '.join(missing)}: pip install 'lam-rl[infra]' "
                "(jsonschema, cel-python)"
            )
        self.crd_dir = Path(crd_dir)
        if not any(self.crd_dir.glob("*.yaml")):
            from lam_rl.config import ConfigError

            raise ConfigError(f"no CRD files (*.yaml) in {self.crd_dir}")
        self._files: dict[tuple[str, str], tuple[Path, str]] = {}
        self._validators: dict[tuple[str, str], Any] = {}
        self._schemas: dict[tuple[str, str], dict[str, Any]] = {}
        self._status_subresource: set[tuple[str, str]] = set()
        self._unserved: set[tuple[str, str]] = set()
        for path in sorted(self.crd_dir.glob("*.yaml")):
            # group, kind and the versions sit at fixed indentation in a CRD file: index them without
            # parsing the (megabyte-sized) schemas, which are loaded on first use
            text = path.read_text()
            group = re.search(r"^  group: (\S+)$", text, re.M)
            kind = re.search(r"^    kind: (\S+)$", text, re.M)
            if not (group and kind):
                continue
            version = None
            for key, value in re.findall(r"^    (name|served): (\S+)$", text, re.M):
                if key == "name":
                    version = value
                elif version is not None:
                    ident = (f"{group.group(1)}/{version}", kind.group(1))
                    self._files[ident] = (path, version)
                    if value != "true":
                        self._unserved.add(ident)

    def kinds(self) -> list[tuple[str, str]]:
        return sorted(self._files)

    def knows(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self._files

    def served(self, api_version: str, kind: str) -> bool:
        return (api_version, kind) in self._files and (api_version, kind) not in self._unserved

    def groups(self) -> set[str]:
        return {av.split("/")[0] for av, _ in self._files}

    def _validator(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key not in self._validators:
            path, version = self._files[key]
            crd = _load_crd(path)
            for v in crd["spec"]["versions"]:
                if v["name"] == version:
                    raw = v["schema"]["openAPIV3Schema"]
                    if "status" in (v.get("subresources") or {}):
                        self._status_subresource.add(key)
                    break
            else:
                raise KeyError(key)
            self._schemas[key] = raw
            schema = to_json_schema(raw)
            # metadata is ObjectMeta, checked by check_metadata
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            self._validators[key] = _validator_class()(schema, format_checker=_format_checker())
        return self._validators[key]

    def schema(self, api_version: str, kind: str) -> dict[str, Any]:
        """The structural schema (``openAPIV3Schema``) of a kind, as written in its CRD."""
        self._validator(api_version, kind)
        return self._schemas[(api_version, kind)]

    def admit(self, doc: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """What the API server does with ``doc`` on create: the object as it would be stored (the status
        dropped when the CRD has a status subresource, non-nullable nulls pruned, defaults applied;
        ``doc`` itself is left alone) and (path, message) for every fault against ObjectMeta, the CRD
        schema and its CEL rules."""
        key = (doc.get("apiVersion", ""), doc.get("kind", ""))
        validator = self._validator(*key)
        stored = copy.deepcopy(doc)
        if key in self._status_subresource:  # a create through the main endpoint drops the status
            stored.pop("status", None)
        schema = self._schemas[key]
        prune_nulls(stored, schema)
        apply_defaults(stored, schema)
        out: list[tuple[str, str]] = list(check_metadata(stored.get("metadata")))
        for err in validator.iter_errors(stored):
            out.extend(_explain(err))
        return stored, sorted(set(out))

    def validate(self, doc: dict[str, Any]) -> list[tuple[str, str]]:
        """(path, message) for every fault of ``doc`` against ObjectMeta, its CRD schema and CEL rules."""
        return self.admit(doc)[1]


def _explain(err: Any) -> list[tuple[str, str]]:
    path = list(err.absolute_path)
    where = format_path(path)
    if err.validator == "additionalProperties" and err.validator_value is False:
        known = sorted(err.schema.get("properties", {}))
        if not isinstance(err.instance, dict):
            return [(where, err.message)]
        out = []
        for key in sorted(set(err.instance) - set(known)):
            near = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            out.append((format_path([*path, key]), f'unknown field "{key}"{hint}'))
        return out
    if err.validator == "required":
        missing = re.match(r"'([^']+)'", err.message)
        field = missing.group(1) if missing else "?"
        return [(format_path([*path, field]), "missing required field")]
    if err.validator == "anyOf" and {"type": "integer"} in err.validator_value:
        return [(where, f"must be an integer or a string (int-or-string), got {type(err.instance).__name__}")]
    if err.validator == "type":
        expected = err.validator_value
        return [
            (where, f"wrong type: expected {expected}, got {type(err.instance).__name__} {err.instance!r}")
        ]
    if err.validator == "format":
        return [(where, f"{err.instance!r} is out of range for {err.validator_value}")]
    return [(where, err.message)]
