"""Text the tokenizer is trained on: the project's own prompts, actions, controls and tasks."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from lam_rl.env.protocol import CONTROL_TYPES, FUNCTIONS

# The fixed parts of every prompt (docs/paper.md, "Prompt and answer format"); the function set
# and control types come from the VM protocol.
PROMPT_SKELETON = [
    "<Available Control Item:>",
    "<User Request:>",
    "<Previous Actions:>",
    "<Previous Plans:>",
    "<Document:>",
]


def skeleton_texts() -> Iterator[str]:
    """Prompt markers, function names, JSON keys and control types, in the shapes they appear."""
    yield " ".join(PROMPT_SKELETON)
    for fn in FUNCTIONS:
        for status in ("CONTINUE", "FINISH"):
            yield json.dumps(
                {
                    "thought": f"I will use {fn}",
                    "control_label": 12,
                    "control_name": "Bold",
                    "function": fn,
                    "args": {"button": "left", "double": False},
                    "status": status,
                    "plan": ["(1) Click the Home tab.", "(2) Click Bold."],
                }
            )
    for t in CONTROL_TYPES:
        for i in range(0, 150, 7):
            yield f"[{i}] {t} ({t})"


def project_corpus(extra: Iterable[str] = ()) -> Iterator[str]:
    """The skeleton plus ``extra`` texts (tasks, plans, observations) gathered by the caller."""
    for _ in range(20):  # weight the fixed format so its merges are learned
        yield from skeleton_texts()
    yield from extra
