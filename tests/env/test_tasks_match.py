"""A user's request matched against the families' request forms (``lam-rl act``'s verifier)."""

from __future__ import annotations

import time

import pytest

from lam_rl.env.tasks import list_families, make_task
from lam_rl.env.tasks.match import FREE_FORM, match_request
from lam_rl.env.tasks.paraphrase import paraphrase


def test_every_family_plain_and_paraphrased_matches_back():
    """Each family's request (one instance, plain and reworded) gives back its family, the stated
    values and the same parameters, on the task's own document."""
    exact = total = 0
    for f in list_families():
        t = make_task(f.name, 1)
        for request in (t.request, paraphrase(t).request):
            m = match_request(request, t.template, t.seed)
            assert m.family == t.family and m.verifiable, (request, m.family, m.why)
            assert m.task.template == t.template and m.task.seed == t.seed
            for k, v in m.values.items():
                assert str(t.params[k]).lower() == v.lower(), (request, k, v)
            total += 1
            exact += m.task.params == t.params
    # a value a request does not state and its document does not decide (insert_comment's second
    # comment) may come from another instance; everything else is the same task
    assert exact >= total - 4, (exact, total)


def test_quote_styles_case_punctuation_and_the_document_choice():
    for request in (
        "Make 'Revenue summary' bold",
        "make \u201cRevenue summary\u201d BOLD!",
        'Make "Revenue summary" bold.',
    ):
        m = match_request(request)
        assert m.family == "bold_text" and m.verifiable, request
        assert m.task.params == {"text": "Revenue summary"}
        assert "Revenue summary" in m.task.plan[0]
    m = match_request("How many words does this document have?", "essay", 3)
    assert m.verifiable and m.task.params["words"] == make_task_words("essay", 3)


def make_task_words(template: str, seed: int) -> int:
    from lam_rl.env.wordsim.templates import build_template

    return build_template(template, seed).word_count()


def test_requests_no_verifier_applies_to():
    m = match_request("make me a sandwich", "line", 2)
    assert m.family is None and not m.verifiable and m.task.family == FREE_FORM
    assert (m.task.template, m.task.seed) == ("line", 2) and "none of the" in m.why
    # a family's form, but the phrase is in no document: the form is named, no verdict
    m = match_request('Make "Quarterly results for the moon" bold.')
    assert m.family == "bold_text" and not m.verifiable and "no document" in m.why
    # a value Word does not offer (a zoom level) and a template the family cannot use
    assert not match_request("Zoom the document to 137%.").verifiable
    assert not match_request("Delete the table.", "line").verifiable


HOSTILE = {
    "empty": "",
    "8,000 characters of words": "x " * 4000,
    "a family's form around 8,000 characters": 'Make "' + "a " * 4000 + '" bold.',
    "2,000 quoted words": '"a" ' * 2000,
    "regex metacharacters": r".*+?()[]{}\^$|" * 500,
    "a form's opening 500 times": "Add a comment " * 500 + '"x" on the words "y".',
    "right-to-left mark and combining accent in quotes": "Make \u201c\u202e\u0301abc\u201d bold",
    "control characters in quotes": "Make '\x00\x07' bold",
    "a chain of 1,000 'to' values": "Change the font of " + '"a" to ' * 1000 + "Arial.",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_requests_match_or_not_without_raising(name):
    """No pattern backtracks for long (a bound a loaded CI machine keeps; backtracking takes minutes)."""
    t = time.perf_counter()
    m = match_request(HOSTILE[name])
    assert time.perf_counter() - t < 30
    assert m.task.request == HOSTILE[name].strip() and (m.verifiable or m.why)
