"""Batched generation without Ray: per-row seeds, stop strings, token budgets, streaming callbacks
and the model's context limit."""

from __future__ import annotations

import math

import pytest

from lam_rl.agent.generation import ContextError, Generator, Request, derive_seed

PROMPTS = ["Make the title bold.", "Insert a table with 3 rows.", "Underline the second paragraph."]


@pytest.fixture(scope="module")
def gen(tiny_lam3):
    return Generator(tiny_lam3)


def _chat(gen, p):
    return gen.chat_text([{"role": "user", "content": p}])


def test_greedy_rows_match_plain_hf_greedy_decoding(gen):
    import torch

    texts = [_chat(gen, p) for p in PROMPTS]
    ours = gen.run([Request(t, max_new_tokens=12) for t in texts])
    enc = gen.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.inference_mode():
        out = gen.model.generate(
            **enc, max_new_tokens=12, do_sample=False, pad_token_id=gen.tokenizer.pad_token_id
        )
    for g, row in zip(ours, out[:, enc["input_ids"].shape[1] :].tolist(), strict=True):
        eos = gen.tokenizer.eos_token_id
        ids = row[: row.index(eos)] if eos in row else row
        assert g.text == gen.tokenizer.decode(ids, skip_special_tokens=True)


@pytest.mark.slow
def test_a_seed_gives_the_same_sample_whatever_shares_the_batch(gen):
    text = _chat(gen, PROMPTS[0])

    def sample(seed, others=()):
        rows = [Request(text, 8, temperature=1.0, seed=seed), *others]
        return gen.run(rows)[0].text

    alone = sample(99)
    assert sample(99) == alone
    crowd = [Request(_chat(gen, p), 10, temperature=0.7, seed=s) for s, p in enumerate(PROMPTS)]
    crowd += [Request(_chat(gen, "x" * 40), 5), Request(text, 8, temperature=1.0)]  # greedy, unseeded
    assert sample(99, crowd) == alone  # other rows, longer prompts (padding), other settings
    assert len({sample(s) for s in range(5)}) >= 3  # the seed matters
    assert derive_seed(5, 0) == 5 and len({derive_seed(5, i) for i in range(8)}) == 8


def test_extreme_temperatures_sample_without_numeric_failure(gen):
    text = _chat(gen, PROMPTS[0])
    greedy = gen.run([Request(text, 6)])[0].text
    tiny = gen.run([Request(text, 6, temperature=t, seed=1) for t in (2.4e-95, 1e-300, 5e-324)])
    assert [g.text for g in tiny] == [greedy] * 3  # found by the server fuzz: NaN probabilities, a 500
    assert gen.run([Request(text, 6, temperature=5.0, top_p=1e-9, seed=2)])[0].text == greedy  # top-1


@pytest.mark.slow
def test_stop_strings_cut_the_answer_before_them(gen):
    text = _chat(gen, PROMPTS[1])
    whole = gen.run([Request(text, 24)])[0]
    assert len(whole.text) >= 6, whole
    stop = whole.text[4:6]
    cut = whole.text[: whole.text.index(stop)]
    g = gen.run([Request(text, 24, stop=("never-generated", stop)), Request(text, 24)])
    assert g[0].text == cut and g[0].finish_reason == "stop"
    assert g[0].completion_tokens < whole.completion_tokens or whole.finish_reason == "stop"
    assert g[1].text == whole.text  # the row without stops is untouched


def test_each_row_keeps_its_own_token_budget(gen):
    text = _chat(gen, PROMPTS[2])
    short, long = gen.run([Request(text, 3), Request(text, 20)])
    assert short.completion_tokens <= 3
    if short.finish_reason == "length":
        assert short.completion_tokens == 3 and long.text.startswith(short.text)
    assert long.completion_tokens <= 20


def test_streaming_callbacks_deliver_the_answer_in_order_as_generated(gen):
    pieces: dict[int, list[str]] = {0: [], 1: []}
    done: dict[int, list] = {0: [], 1: []}
    text = _chat(gen, PROMPTS[0])
    rows = [
        Request(
            text,
            16,
            stop=stop,
            on_text=lambda p, i=i: pieces[i].append(p),
            on_done=lambda g, i=i: done[i].append(g),
        )
        for i, stop in enumerate([(), ("zz-never",)])
    ]
    out = gen.run(rows)
    for i in (0, 1):
        assert "".join(pieces[i]) == out[i].text and done[i] == [out[i]]
    if out[0].completion_tokens > 4:
        assert len(pieces[0]) >= 2  # not one piece at the end


def test_context_limit_is_enforced_and_generate_clamps(gen):
    text = _chat(gen, "word " * 40)
    n = gen.count_tokens(text)
    assert gen.max_positions == 512
    with pytest.raises(ContextError, match="maximum context length is 512 tokens"):
        gen.run([Request(_chat(gen, "ok"), 4), Request(text, 512 - n + 1)])
    with pytest.raises(ContextError, match="your messages resulted in"):
        gen.run([Request(_chat(gen, "word " * 600), 1)])
    words = 40
    while gen.count_tokens(_chat(gen, "word " * words)) < 505:  # a prompt that leaves a few tokens
        words += 5
    near = gen.count_tokens(_chat(gen, "word " * words))
    g = gen.generate(["word " * words], max_new_tokens=10_000)[0]  # the library call clamps instead
    assert g.prompt_tokens == near and g.completion_tokens <= 512 - near


@pytest.mark.parametrize(
    "bad",
    [
        {"temperature": math.nan},
        {"temperature": -1.0},
        {"top_p": 0.0},
        {"top_p": math.inf},
        {"max_new_tokens": 0},
        {"stop": ("",)},
    ],
)
def test_bad_settings_are_refused_before_the_model_runs(gen, bad):
    with pytest.raises(ValueError):
        gen.run([Request(_chat(gen, "ok"), **{"max_new_tokens": 4, **bad})])
