"""Terraform files read with python-hcl2 (a maintained Lark grammar of HCL2), for the checks of
:mod:`lam_rl.deploy.tfcheck` and :mod:`lam_rl.deploy.tfschema`.

A file is parsed once into :class:`Item` trees: blocks (``resource "t" "n" { ... }``), attributes
(``a = 1``) and objects (``a = { ... }``), each with its line, the labels of a block, the items inside
a block or an object, and an attribute's value when it is a plain string literal. The file's text
with its comments blanked (every other character where it was) is kept too, for the scans of
references (``var.x``, ``module.m.out``, ``type.name.attr``) in expressions. A file that is not valid
HCL raises :class:`HclError` naming the file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lam_rl.config import ConfigError

if TYPE_CHECKING:
    from lark import Token, Tree

__all__ = ["HclError", "HclFile", "Item", "parse", "parse_body", "read", "read_module"]


class HclError(ConfigError):
    """A Terraform file that is not valid HCL."""


@dataclass
class Item:
    name: str
    kind: str  # "attr", "object" (name = { ... }) or "block"
    line: int = 0
    labels: tuple[str, ...] = ()  # of a block: resource "type" "name" -> ("type", "name")
    items: list[Item] = field(default_factory=list)  # inside a block or an object
    value: str | None = None  # an attribute's value when it is a plain string literal

    def blocks(self, kind: str) -> list[Item]:
        return [it for it in self.items if it.kind == "block" and it.name == kind]

    def get(self, name: str) -> Item | None:
        return next((it for it in self.items if it.name == name), None)


@dataclass
class HclFile:
    path: Path
    text: str  # the source with its comments blanked (offsets and newlines kept)
    body: Item  # the file's top-level items, as the items of one block

    def blocks(self, kind: str) -> list[Item]:
        return self.body.blocks(kind)


def _name(node: Tree | Token) -> str:
    """The text of an identifier, a keyword or a label (a quoted label without its quotes)."""
    if isinstance(node, str):  # a lark Token
        return str(node)
    return "".join(str(t) for t in node.scan_values(lambda v: isinstance(v, str)) if t.type != "DBLQUOTE")


def _trees(node: Tree) -> list[Tree]:
    return [c for c in node.children if not isinstance(c, str)]


def _literal(expr: Tree) -> str | None:
    """The characters of a plain string literal ("..." without interpolations), else None."""
    while expr.data == "expr_term" and len(_trees(expr)) == 1 and len(expr.children) == 1:
        expr = _trees(expr)[0]
    if expr.data != "string":
        return None
    parts = _trees(expr)
    if any(p.data != "string_part" or any(not isinstance(c, str) for c in p.children) for p in parts):
        return None
    return "".join(str(t) for p in parts for t in p.children)


def _object(expr: Tree) -> Tree | None:
    while expr.data == "expr_term" and len(_trees(expr)) == 1 and len(expr.children) == 1:
        expr = _trees(expr)[0]
    return expr if expr.data == "object" else None


def _attribute(name: str, line: int, expr: Tree) -> Item:
    obj = _object(expr)
    if obj is None:
        return Item(name, "attr", line, value=_literal(expr))
    items = []
    for elem in (e for e in _trees(obj) if e.data == "object_elem"):
        key, value = _trees(elem)[0], _trees(elem)[-1]
        items.append(_attribute(_name(key), key.meta.line, value))
    return Item(name, "object", line, items=items)


def _body(node: Tree) -> list[Item]:
    items: list[Item] = []
    for child in _trees(node):
        if child.data == "attribute":
            items.append(_attribute(_name(child.children[0]), child.meta.line, _trees(child)[-1]))
        elif child.data == "block":
            first, *rest = child.children
            labels = tuple(
                _name(c) for c in rest if not isinstance(c, str) and c.data in ("identifier", "string")
            )
            inner = next(c for c in rest if not isinstance(c, str) and c.data == "body")
            items.append(Item(_name(first), "block", child.meta.line, labels, _body(inner)))
    return items


def parse(text: str, path: Path | str = "<string>") -> HclFile:
    """Parse HCL ``text`` (from ``path``, for messages)."""
    try:  # [infra], like the CRD checks: the base install reads no Terraform
        import hcl2
        from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
    except ImportError:
        raise ConfigError("reading Terraform files needs python-hcl2: pip install 'lam-rl[infra]'") from None
    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as e:
        if isinstance(e, UnexpectedToken) and e.token.type != "$END":
            what = repr(str(e.token).strip() or e.token.type)
        elif isinstance(e, UnexpectedCharacters):
            what = repr(e.char)
        else:
            what = "end of file"
        raise HclError(
            f"{path}:{e.line}:{e.column}: not valid HCL: unexpected {what} (`terraform fmt` shows the fault)"
        ) from None
    # every character outside the tokens (whitespace) and inside the comment tokens becomes a blank
    clean = [c if c == "\n" else " " for c in text]
    for tok in tree.scan_values(lambda v: isinstance(v, str)):
        if tok.type != "NL_OR_COMMENT" and tok.start_pos is not None and tok.end_pos is not None:
            end = min(tok.end_pos, len(text))
            clean[tok.start_pos : end] = text[tok.start_pos : end]
    body = next(c for c in _trees(tree) if c.data == "body")
    return HclFile(Path(path), "".join(clean), Item("", "block", 1, items=_body(body)))


def parse_body(text: str) -> list[Item]:
    """The top-level items of an HCL body."""
    return parse(text).body.items


def read(path: Path) -> HclFile:
    return parse(path.read_text(), path)


def read_module(folder: Path) -> list[HclFile]:
    """Every ``*.tf`` file of a module, in name order."""
    return [read(p) for p in sorted(Path(folder).glob("*.tf"))]
