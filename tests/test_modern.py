"""Chapter 9's modern block: logits and greedy generation equal to Hugging Face's Llama and Qwen3 on tiny random
configurations (odd head counts, one and several key/value heads, RoPE base 10,000 and 1,000,000, tied and untied
heads), weights in and out of Hugging Face's format, the KV cache, and the configuration's errors."""

from __future__ import annotations

import pytest
import torch

from llm_from_scratch.attention import KVCache
from llm_from_scratch.config import ConfigError
from llm_from_scratch.files import CheckpointError
from llm_from_scratch.generation import generate
from llm_from_scratch.modern import (
    ModernConfig,
    ModernGPT,
    config_from_hf,
    hf_config,
    kv_cache_bytes,
)

transformers = pytest.importorskip("transformers")

# (n_heads, n_kv_heads, head_dim, rope_theta, tied head)
CONFIGS = [
    (3, 1, 8, 1e4, True),
    (5, 5, 6, 1e6, False),
    (6, 2, 4, 1e4, False),
    (4, 2, 16, 1e6, True),
]


def tiny(
    make, nh: int, nkv: int, hd: int, theta: float, tie: bool, seed: int = 0
) -> ModernGPT:
    torch.manual_seed(seed)
    cfg = make(
        vocab_size=101,
        max_seq_len=48,
        n_layers=2,
        n_heads=nh,
        n_kv_heads=nkv,
        d_model=nh * hd,
        rope_theta=theta,
        tie_embeddings=tie,
        dropout=0.0,
    )
    m = ModernGPT(cfg).eval()
    with torch.no_grad():  # norm weights away from 1, so a misplaced norm shows
        for p in m.parameters():
            if p.ndim == 1:
                p.uniform_(0.5, 1.5)
    return m


@pytest.mark.parametrize("family", ["llama", "qwen3"])
@pytest.mark.parametrize(
    "spec",
    CONFIGS,
    ids=lambda s: f"nh{s[0]}-kv{s[1]}-hd{s[2]}-theta{s[3]:.0e}-tied{s[4]}",
)
def test_logits_and_greedy_generation_equal_hugging_face(family, spec, tmp_path):
    ours = tiny(getattr(ModernConfig, family), *spec)
    hf = ours.to_hf()
    assert type(hf).__name__ == (
        "Qwen3ForCausalLM" if family == "qwen3" else "LlamaForCausalLM"
    )
    ids = torch.randint(0, 101, (2, 19), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = ours(ids)[0]
        assert (hf(input_ids=ids).logits - ref).abs().max() < 1e-4
    prompt = ids[:, :4]
    want = hf.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=16,
        do_sample=False,
    )
    assert torch.equal(generate(ours, prompt, 16), want)
    assert torch.equal(generate(ours, prompt, 16, use_cache=False), want)
    # Hugging Face's format both ways: config.json + model.safetensors
    ours.save_hf(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    loaded = type(hf).from_pretrained(tmp_path).eval()
    back = ModernGPT.from_pretrained(tmp_path)
    with torch.no_grad():
        assert (loaded(input_ids=ids).logits - ref).abs().max() < 1e-4
        assert torch.equal(back(ids)[0], ref)
    assert back.cfg == ours.cfg


def test_hugging_face_saved_checkpoint_loads(tmp_path):
    """A checkpoint written by transformers itself (its own init, its own save_pretrained), untied and grouped."""
    torch.manual_seed(0)
    cfg = transformers.Qwen3Config(
        vocab_size=90,
        hidden_size=40,
        intermediate_size=72,
        num_hidden_layers=2,
        num_attention_heads=5,
        num_key_value_heads=1,
        head_dim=12,
        max_position_embeddings=32,
        tie_word_embeddings=False,
    )
    hf = transformers.Qwen3ForCausalLM(cfg).eval()
    hf.save_pretrained(tmp_path)
    ours = ModernGPT.from_pretrained(tmp_path)
    assert (ours.cfg.head_dim, ours.cfg.n_kv_heads, ours.cfg.qk_norm) == (12, 1, True)
    ids = torch.randint(0, 90, (1, 11))
    with torch.no_grad():
        assert (ours(ids)[0] - hf(input_ids=ids).logits).abs().max() < 1e-4


def test_the_cache_keeps_only_the_key_value_heads():
    m = tiny(ModernConfig.llama, 6, 2, 8, 1e4, True)
    cache = KVCache(m.cfg, 1, 20)  # chapter 6 sizes it for n_heads
    ids = torch.randint(0, 101, (1, 9))
    m(ids, kv_cache=cache)
    assert cache.k.shape == (2, 1, 2, 20, 8)
    assert cache.k.numel() * 4 * 2 == kv_cache_bytes(m.cfg, 1, 20)


def test_bad_configurations_are_one_line_errors():
    with pytest.raises(ConfigError, match="n_kv_heads"):
        ModernConfig(n_heads=6, n_kv_heads=4)
    with pytest.raises(ConfigError, match="norm"):
        ModernConfig(norm="batch")
    with pytest.raises(ConfigError, match="Llama and Qwen3 have no"):
        hf_config(ModernConfig(positions="learned"))
    with pytest.raises(ConfigError, match="Llama or Qwen3"):
        config_from_hf({"model_type": "gpt2"})
    with pytest.raises(ConfigError, match="RoPE scaling"):
        config_from_hf({"model_type": "llama", "rope_scaling": {"rope_type": "llama3"}})
    with pytest.raises(CheckpointError, match="Llama and Qwen3 have no"):
        ModernGPT(ModernConfig(mlp="gelu")).save_hf("/nonexistent/never-written")


# --- the command line: train, resume, generate, finetune, classify; int8 -------------------------------------------

SMALL = ["--n-layers", "2", "--d-model", "32", "--n-heads", "4", "--max-seq-len", "32", "--batch-size", "4",
         "--eval-interval", "2", "--eval-iters", "1", "--ckpt-interval", "2", "--no-progress", "--sample-tokens", "0",
         "--dropout", "0.1"]  # dropout on: its masks must resume exactly too


def run_cli(*args: str) -> int:
    from llm_from_scratch.commands.main import main

    return main(list(args))


def test_train_command_trains_the_modern_block_and_resumes_bit_exactly(word_corpus, tmp_path, one_torch_thread):
    from llm_from_scratch.checkpoints import load_model

    data = ["--data", str(word_corpus), "--preset", "modern-char", *SMALL]
    assert run_cli("train", *data, "--max-iters", "4", "--out-dir", str(tmp_path / "straight")) == 0
    assert run_cli("train", *data, "--max-iters", "2", "--out-dir", str(tmp_path / "r")) == 0
    assert run_cli("train", *data, "--max-iters", "4", "--out-dir", str(tmp_path / "r"), "--resume") == 0
    a = load_model(tmp_path / "straight" / "checkpoint", classes=(ModernGPT,))
    b = load_model(tmp_path / "r" / "checkpoint", classes=(ModernGPT,))
    assert isinstance(a.cfg, ModernConfig) and a.cfg.n_kv_heads == 2 and a.cfg.positions == "rope"
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_a_checkpoint_records_its_architecture(word_corpus, tmp_path, one_torch_thread, capsys):
    from llm_from_scratch.checkpoints import load_model
    from llm_from_scratch.files import read_json
    from llm_from_scratch.model import GPT

    out = tmp_path / "m"
    assert run_cli("train", "--data", str(word_corpus), "--arch", "modern", "--qk-norm", "true", *SMALL,
                   "--max-iters", "2", "--out-dir", str(out)) == 0
    assert read_json(out / "checkpoint" / "config.json")["architecture"] == "ModernGPT"
    with pytest.raises(CheckpointError, match="holds a ModernGPT model; this loader builds only GPT"):
        load_model(out / "checkpoint")  # chapter 4's class by default: a one-line error, not a wrong model
    with pytest.raises(CheckpointError, match="holds a ModernGPT"):
        load_model(out / "checkpoint", classes=(GPT,))
    capsys.readouterr()
    # generate, finetune (LoRA on the modern projections) and classify from that checkpoint
    assert run_cli("generate", "--checkpoint", str(out), "--prompt", "to be", "--max-new-tokens", "8", "--greedy") == 0
    assert capsys.readouterr().out.startswith("to be")
    rows = [("to be or not to be", "verse"), ("be to not or be to", "shuffled")] * 4
    cls = tmp_path / "cls.jsonl"
    cls.write_text("".join(f'{{"text": "{t}", "label": "{y}"}}\n' for t, y in rows))
    assert run_cli("finetune", "--checkpoint", str(out), "--task", "classify", "--data", str(cls), "--lora-rank", "2",
                   "--max-iters", "2", "--eval-interval", "2", "--out-dir", str(tmp_path / "ft"), "--no-progress") == 0
    assert run_cli("classify", "--checkpoint", str(tmp_path / "ft"), "--text", "to be or not") == 0
    assert capsys.readouterr().out.splitlines()[-1].split("\t")[0] in ("verse", "shuffled")
    # a GPT-2 flag combination that needs the modern block is a one-line error
    assert run_cli("train", "--data", str(word_corpus), "--n-kv-heads", "2", "--out-dir", str(tmp_path / "x")) == 2
    assert "add --arch modern" in capsys.readouterr().err


def test_int8_of_chapter_8b_applies():
    from llm_from_scratch.fast_decoding import Int8Linear, model_bytes, quantize_int8

    m = tiny(ModernConfig.qwen3, 4, 2, 16, 1e6, True)
    q = quantize_int8(m)
    assert isinstance(q.h[0].attn.q_proj, Int8Linear) and isinstance(q.h[0].mlp.gate_proj, Int8Linear)
    assert model_bytes(q) < model_bytes(m) / 2.5
    ids = torch.randint(0, 101, (1, 8))
    with torch.no_grad():
        assert (q(ids)[0] - m(ids)[0]).abs().max() < 0.05
    assert generate(q, ids, 6).shape == (1, 14)
