"""Code and docs cite only what the repository holds: the paper's facts are in docs/paper.md, and
no comment, docstring or guide points at a developer-only file outside the repository."""

from __future__ import annotations

import re

OUTSIDE = re.compile(r"\b(PAPER|DESIGN|STACK)\.md\b|/work/shared")
ROOTS = ("lam_rl", "cluster", "jobs", "tests", "bench", "docs", "infra")


def _texts(repo_root):
    for root in ROOTS:
        for path in sorted((repo_root / root).rglob("*")):
            if path.suffix in (".py", ".md", ".yaml", ".tf", ".sh") and ".tools" not in path.parts:
                yield path
    yield from (repo_root / "README.md", repo_root / "DEVELOPERS.md", repo_root / "Makefile")


def test_nothing_cites_files_outside_the_repository(repo_root):
    hits = []
    for path in _texts(repo_root):
        if path.name == "test_citations.py":
            continue
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(repo_root)}:{n}: {line.strip()[:100]}")
    assert not hits, "cite docs/paper.md (or a docs/ guide) instead:\n" + "\n".join(hits)


def test_paper_facts_page_has_the_sections_the_code_cites(repo_root):
    text = (repo_root / "docs" / "paper.md").read_text()
    headings = {m.group(1) for m in re.finditer(r"^## (.+)$", text, re.M)}
    cited = set()
    for path in _texts(repo_root):
        for m in re.finditer(r'docs/paper\.md, "([^"]+)"', path.read_text(errors="replace")):
            cited.add(m.group(1))
    assert cited, "no code cites a docs/paper.md section by name"
    for name in cited:
        assert any(h.startswith(name) for h in headings), f"docs/paper.md has no section {name!r}"
