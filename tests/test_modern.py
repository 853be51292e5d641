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
