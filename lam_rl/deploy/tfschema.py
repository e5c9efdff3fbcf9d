"""Check the root Terraform module against the providers' schemas, offline.

The root module needs cloud providers, which cannot be downloaded here, so ``terraform validate``
cannot run on it. The providers' schemas are still available: the prebuilt CDK for Terraform
packages (``@cdktf/provider-azurerm`` and friends, from npm; infra/tools/install.sh fetches them)
are generated from them, and their TypeScript sources (carried in each module's source map) list
every argument and nested block of every resource with ``computed/optional/required``. From those
this module checks every ``resource``, ``data`` and ``provider`` block: unknown arguments and blocks
(with a suggestion), read-only attributes that are set, missing required arguments, references to
attributes a resource does not export, unknown resource types, and that each package's provider
version satisfies the module's ``required_providers`` constraint.
"""

from __future__ import annotations

import base64
import difflib
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from lam_rl.deploy.hcl import Item, read_module

__all__ = ["ProviderSchemas", "schema_problems"]

_META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection", "dynamic"}
_ATTR = re.compile(
    r"// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\n\s*(?P<next>[^\n]*)"
)
_CLASS = re.compile(r"^export class (\w+) extends cdktf\.(\w+)", re.M)


@dataclass
class Attr:
    computed: bool
    optional: bool
    required: bool
    nested: str | None = None  # class name of a nested block / object

    @property
    def read_only(self) -> bool:
        return self.computed and not self.optional and not self.required


@dataclass
class ResourceSchema:
    type: str
    provider: str
    version: str
    classes: dict[str, dict[str, Attr]] = field(default_factory=dict)
    root: str = ""

    def node(self, cls: str | None = None) -> dict[str, Attr]:
        return self.classes.get(cls or self.root, {})


def _parse_ts(ts: str) -> tuple[dict[str, dict[str, Attr]], dict[str, str]]:
    """Class name -> attributes, and tfResourceType -> class name, from a cdktf module's source."""
    classes: dict[str, dict[str, Attr]] = {}
    types: dict[str, str] = {}
    starts = [(m.start(), m.group(1)) for m in _CLASS.finditer(ts)]
    for i, (start, name) in enumerate(starts):
        body = ts[start : starts[i + 1][0] if i + 1 < len(starts) else len(ts)]
        t = re.search(r'tfResourceType = "([\w-]+)"', body)
        if t:
            types[t.group(1)] = name
        attrs: dict[str, Attr] = {}
        for m in _ATTR.finditer(body):
            nested = re.search(r'= new (\w+?)(?:OutputReference|List|Map)\(this, "', m.group("next"))
            attrs[m.group(1)] = Attr(
                m.group(2) == "true",
                m.group(3) == "true",
                m.group(4) == "true",
                f"{nested.group(1)}OutputReference" if nested else None,
            )
        classes[name] = attrs
    return classes, types


class ProviderSchemas:
    """The cdktf provider packages (``*.tgz``) in a folder, read lazily."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.packages: dict[str, tuple[Path, str]] = {}  # provider local name -> (tgz, provider version)
        for tgz in sorted(self.folder.glob("*.tgz")):
            with tarfile.open(tgz) as tf:
                meta = json.loads(tf.extractfile("package/package.json").read())  # type: ignore[union-attr]
            provider = meta.get("cdktf", {}).get("provider", {})
            local = str(provider.get("name", "")).rsplit("/", 1)[-1]
            if local:
                self.packages[local] = (tgz, str(provider.get("version", "?")))
        self._cache: dict[tuple[str, str], ResourceSchema | None] = {}

    def version(self, provider: str) -> str | None:
        return self.packages[provider][1] if provider in self.packages else None

    @staticmethod
    def _member(kind: str, provider: str, type_: str) -> str:
        if kind == "provider":
            return "package/lib/provider/index.js"
        if kind == "data":
            return f"package/lib/data-{type_.replace('_', '-')}/index.js"
        return f"package/lib/{type_.split('_', 1)[1].replace('_', '-')}/index.js"

    def load(self, wanted: set[tuple[str, str]]) -> None:
        """Read the schemas of (kind, type) pairs, one pass over each package."""
        by_provider: dict[str, dict[str, tuple[str, str]]] = {}
        for kind, type_ in wanted:
            if (kind, type_) in self._cache:
                continue
            provider = type_ if kind == "provider" else type_.split("_", 1)[0]
            if provider not in self.packages:
                self._cache[(kind, type_)] = None
                continue
            by_provider.setdefault(provider, {})[self._member(kind, provider, type_)] = (kind, type_)
        for provider, members in by_provider.items():
            tgz, version = self.packages[provider]
            found: dict[str, str] = {}
            with tarfile.open(tgz) as tf:
                for m in tf:
                    if m.name in members:
                        found[m.name] = tf.extractfile(m).read().decode()  # type: ignore[union-attr]
            for member, (kind, type_) in members.items():
                js = found.get(member)
                if js is None or "base64," not in js:
                    self._cache[(kind, type_)] = None
                    continue
                ts = json.loads(base64.b64decode(js.rsplit("base64,", 1)[1].strip()))["sourcesContent"][0]
                classes, types = _parse_ts(ts)
                if kind == "provider":
                    root = next((n for n, c in classes.items() if n.endswith("Provider") and c), "")
                else:
                    root = types.get(type_, "")
                self._cache[(kind, type_)] = (
                    ResourceSchema(type_, provider, version, classes, root) if root else None
                )

    def get(self, kind: str, type_: str) -> ResourceSchema | None:
        self.load({(kind, type_)})
        return self._cache.get((kind, type_))


# --------------------------------------------------------------------------- checks


def _check_node(
    schema: ResourceSchema, cls: str | None, items: list[Item], where: str, out: list[str]
) -> None:
    node = schema.node(cls)
    present = {it.name for it in items}
    for it in items:
        if it.name in _META and cls is None:
            continue
        attr = node.get(it.name)
        if attr is None:
            near = difflib.get_close_matches(it.name, sorted(node), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            out.append(f"{where}: unsupported argument or block {it.name!r} (line {it.line}){hint}")
            continue
        if attr.read_only:
            out.append(
                f"{where}: {it.name!r} is read-only (computed by the provider), it cannot be set (line {it.line})"
            )
        if it.kind in ("block", "object") and attr.nested:
            _check_node(schema, attr.nested, it.items, f"{where}.{it.name}", out)
    for name, attr in sorted(node.items()):
        if attr.required and name not in present:
            out.append(f"{where}: missing required argument {name!r}")


def _version_ok(version: str, constraint: str) -> bool:
    """Whether ``version`` satisfies a Terraform version constraint (``~> 4.40``, ``>= 1.0, < 2``)."""

    def parts(v: str) -> tuple[int, int, int]:
        nums = [int(x) for x in re.findall(r"\d+", v)[:3]]
        return tuple(nums + [0] * (3 - len(nums)))  # type: ignore[return-value]

    v = parts(version)
    for clause in constraint.split(","):
        m = re.match(r"\s*(~>|>=|<=|>|<|=|!=)?\s*([\d.]+)", clause)
        if not m:
            continue
        op, ref = m.group(1) or "=", m.group(2)
        r, n = parts(ref), len(ref.split("."))
        if op == "~>":
            bump = max(n - 2, 0)
            upper = tuple([*r[:bump], r[bump] + 1] + [0] * (2 - bump))
            ok = r <= v < upper
        else:
            ok = {">=": v >= r, ">": v > r, "<=": v <= r, "<": v < r, "=": v == r, "!=": v != r}[op]
        if not ok:
            return False
    return True


def schema_problems(root_module: Path, schemas: ProviderSchemas) -> tuple[list[str], list[str]]:
    """(problems, notes) of the root module's blocks against the provider schemas."""
    files = read_module(root_module)
    blocks: list[tuple[str, str, str, Item, str]] = []  # kind, type, name, block, file
    constraints: dict[str, str] = {}
    for f in files:
        for kind in ("resource", "data"):
            blocks += [(kind, *b.labels[:2], b, f.path.name) for b in f.blocks(kind) if len(b.labels) >= 2]
        blocks += [
            ("provider", b.labels[0], b.labels[0], b, f.path.name) for b in f.blocks("provider") if b.labels
        ]
        for req in (r for t in f.blocks("terraform") for r in t.blocks("required_providers")):
            for provider in req.items:
                version = provider.get("version")
                if version is not None and version.value is not None:
                    constraints[provider.name] = version.value
    schemas.load({(k, t) for k, t, *_ in blocks})
    problems: list[str] = []
    notes: list[str] = []
    for provider, constraint in sorted(constraints.items()):
        version = schemas.version(provider)
        if version is None:
            problems.append(
                f"no schema package for provider {provider!r} (infra/tools/install.sh fetches them)"
            )
        elif not _version_ok(version, constraint):
            problems.append(
                f"provider {provider} schema {version} does not satisfy the constraint {constraint!r}"
            )
        else:
            notes.append(f"{provider} {version}")
    declared: dict[tuple[str, str, str], ResourceSchema | None] = {}
    for kind, type_, name, block, fname in blocks:
        schema = schemas.get(kind, type_)
        line = block.line
        label = (
            f"{fname}:{line} {'data.' if kind == 'data' else ''}{type_}.{name}"
            if kind != "provider"
            else f"{fname}:{line} provider {type_}"
        )
        declared[(kind, type_, name)] = schema
        if schema is None:
            provider = type_ if kind == "provider" else type_.split("_", 1)[0]
            if provider in schemas.packages:
                problems.append(
                    f"{label}: the {provider} provider {schemas.version(provider)} has no {kind} {type_!r}"
                )
            continue
        _check_node(schema, None, block.items, label, problems)
    # references to exported attributes
    all_text = "\n".join(f.text for f in files)
    for m in re.finditer(r"(?<![\w.])(data\.)?([a-z][a-z0-9]*_[\w]+)\.([\w-]+)\.([a-z_][\w]*)", all_text):
        kind = "data" if m.group(1) else "resource"
        key = (kind, m.group(2), m.group(3))
        provider = m.group(2).split("_", 1)[0]
        if provider not in schemas.packages or m.group(2) in ("var", "local", "module", "path"):
            continue
        if key not in declared:
            problems.append(
                f"reference to undeclared {'data.' if m.group(1) else ''}{m.group(2)}.{m.group(3)}"
            )
            continue
        schema = declared[key]
        if schema is not None and m.group(4) not in schema.node() and m.group(4) != "id":
            problems.append(
                f"{'data.' if m.group(1) else ''}{m.group(2)}.{m.group(3)}.{m.group(4)}: "
                f"{m.group(2)} exports no attribute {m.group(4)!r}"
            )
    return sorted(set(problems)), notes
