import textwrap

from lam_rl.models import build_model, count_parameters, save_pretrained, train_tokenizer
from lam_rl.models.config import ModelConfig
from lam_rl.models.corpus import project_corpus


def test_tiny_model_saves_and_reloads_with_plain_transformers(tmp_path, run_python):
    tok = train_tokenizer(project_corpus(["Make the title bold in the document."] * 50), vocab_size=600)
    model = build_model(ModelConfig(hidden=64, layers=2, heads=4, kv_heads=2, intermediate=128), tok)
    assert 50_000 < count_parameters(model) < 2_000_000
    path = save_pretrained(model, tok, tmp_path / "ckpt")
    code = textwrap.dedent(
        f"""
        import json, sys
        from transformers import AutoModelForCausalLM, AutoTokenizer
        tok = AutoTokenizer.from_pretrained({str(path)!r})
        model = AutoModelForCausalLM.from_pretrained({str(path)!r})
        ids = tok.apply_chat_template([{{"role": "user", "content": "Make it bold"}}],
                                      add_generation_prompt=True, return_tensors="pt", return_dict=True)
        out = model.generate(**ids, max_new_tokens=8, do_sample=False)
        new = out[0, ids["input_ids"].shape[1]:]
        print(json.dumps({{"n_new": int(new.numel()), "lam_rl": any(m.startswith("lam_rl") for m in sys.modules),
                           "text": tok.decode(new)}}))
        """
    )
    res = run_python(code, cwd=tmp_path)
    assert res["n_new"] >= 1
    assert res["lam_rl"] is False


def test_tokenizer_roundtrip_and_chat_template():
    tok = train_tokenizer(project_corpus(["Insert a 3 x 4 table."] * 20), vocab_size=500)
    text = '{"function": "click_input", "control_name": "Bold"} ünïcode'
    assert tok.decode(tok(text)["input_ids"]) == text
    chat = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert chat.endswith("<|assistant|>\n") and "<|user|>\nhi<|end|>" in chat
    assert tok.eos_token == "<|end|>" and tok.pad_token_id is not None
