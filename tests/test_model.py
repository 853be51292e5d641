"""Tests for `llm_from_scratch.model` and its files (`llm_from_scratch.checkpoint`): parity with Hugging Face GPT-2,
checkpoints, input errors. All offline."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import transformers  # a dev dependency (the reference implementation)
from transformers import GPT2Config, GPT2LMHeadModel

from llm_from_scratch.attention import KVCache
from llm_from_scratch.checkpoints import load_model, save_model
from llm_from_scratch.config import GPTConfig, count_params, preset
from llm_from_scratch.files import CheckpointError
from llm_from_scratch.model import GPT, ModelInputError, hf_state_dict, load_state

transformers.logging.set_verbosity_error()

# random tiny GPT-2s: vary depth, heads, width, MLP width, vocab, positions, LayerNorm epsilon; dropout set (eval mode)
HF_CONFIGS = [
    dict(n_layer=1, n_head=1, n_embd=16, n_inner=None, vocab_size=50, n_positions=16, layer_norm_epsilon=1e-5),
    dict(n_layer=2, n_head=4, n_embd=32, n_inner=48, vocab_size=257, n_positions=40, layer_norm_epsilon=1e-6),
    dict(n_layer=3, n_head=2, n_embd=24, n_inner=100, vocab_size=1000, n_positions=24, layer_norm_epsilon=1e-3),
    dict(n_layer=4, n_head=3, n_embd=48, n_inner=None, vocab_size=97, n_positions=64, layer_norm_epsilon=1e-5,
         activation_function="gelu_pytorch_tanh"),
]


def make_hf(seed: int = 0, dropout: float = 0.1, **kw) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    cfg = GPT2Config(resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, bos_token_id=None, eos_token_id=None, **kw)
    hf = GPT2LMHeadModel(cfg)
    with torch.no_grad():  # random LayerNorm parameters and biases too, so that a mix-up of any tensor shows
        for n, p in hf.named_parameters():
            if n.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")): p.normal_(1.0, 0.2)
            elif n.endswith("bias"): p.normal_(0.0, 0.05)
    return hf.eval()


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory) -> list[tuple[GPT2LMHeadModel, Path]]:
    out = []
    for i, kw in enumerate(HF_CONFIGS):
        hf, d = make_hf(i, **kw), tmp_path_factory.mktemp(f"hf{i}")
        hf.save_pretrained(d)
        out.append((hf, d))
    return out


def next_token_targets(idx: torch.Tensor) -> torch.Tensor:
    """Our targets for HF's labels=idx: the next token, and -100 (ignored) at the last position."""
    return torch.cat([idx[:, 1:], torch.full_like(idx[:, :1], -100)], 1)


@pytest.mark.parametrize("i", range(len(HF_CONFIGS)))
def test_logits_and_loss_match_hf(hf_dirs, i):
    hf, d = hf_dirs[i]
    ours = GPT.from_pretrained(d)
    c = hf.config
    assert not ours.training and ours.cfg.d_ff == (c.n_inner or 4 * c.n_embd) and ours.cfg.layer_norm_eps == c.layer_norm_epsilon
    assert ours.num_params() == sum(p.numel() for p in hf.parameters())
    for T in (1, 7, c.n_positions):
        idx = torch.randint(0, c.vocab_size, (3, T), generator=torch.Generator().manual_seed(T))
        with torch.no_grad():
            ref = hf(input_ids=idx, labels=idx if T > 1 else None)
            logits, loss = ours(idx, next_token_targets(idx) if T > 1 else None)
        assert (logits - ref.logits).abs().max().item() < 1e-4
        if T > 1: assert abs(loss.item() - ref.loss.item()) < 1e-5


def test_training_mode_loss_and_grads_match_hf():
    hf = make_hf(5, dropout=0.0, **HF_CONFIGS[1]).train()
    ours = GPT(GPTConfig(vocab_size=257, max_seq_len=40, n_layers=2, n_heads=4, d_model=32, d_ff=48, dropout=0.0,
                         layer_norm_eps=1e-6)).train()
    load_state(ours, {k.removeprefix("transformer."): v for k, v in hf_state_dict_from(hf).items()})
    idx = torch.randint(0, 257, (2, 40), generator=torch.Generator().manual_seed(0))
    ref = hf(input_ids=idx, labels=idx).loss
    loss = ours(idx, next_token_targets(idx))[1]
    ref.backward(), loss.backward()
    assert abs(loss.item() - ref.item()) < 1e-5
    hf_grads = {k: p.grad for k, p in hf.named_parameters()}
    for k, p in ours.named_parameters():
        g = hf_grads["transformer." + k]
        if k.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")): g = g.t()
        assert torch.allclose(p.grad, g, atol=1e-5, rtol=1e-4), k


def hf_state_dict_from(hf: GPT2LMHeadModel) -> dict[str, torch.Tensor]:
    """HF state dict in our layout (Conv1D weights transposed), without the tied head."""
    conv = ("c_attn.weight", "c_proj.weight", "c_fc.weight")
    return {k: (v.t() if k.endswith(conv) else v) for k, v in hf.state_dict().items()
            if k != "lm_head.weight" and not k.endswith((".attn.bias", ".attn.masked_bias"))}


def test_conv1d_transpose_matters(hf_dirs):
    # the attention c_proj is square: loading it untransposed would not fail on shape, only on numbers
    hf, d = hf_dirs[1]
    ours = GPT.from_pretrained(d)
    w_hf = hf.transformer.h[0].attn.c_proj.weight
    assert torch.equal(ours.h[0].attn.c_proj.weight, w_hf.t()) and not torch.equal(w_hf, w_hf.t())


def _edit_checkpoint(src: Path, dst: Path, edit) -> Path:
    from safetensors.torch import load_file, save_file
    dst.mkdir()
    sd = load_file(src / "model.safetensors")
    edit(sd)
    save_file({k: v.contiguous() for k, v in sd.items()}, dst / "model.safetensors", metadata={"format": "pt"})
    (dst / "config.json").write_text((src / "config.json").read_text())
    return dst


def test_mismatched_checkpoints_name_the_tensor(hf_dirs, tmp_path):
    _, d = hf_dirs[1]
    def wrong_shape(sd): sd["transformer.h.1.mlp.c_fc.weight"] = torch.zeros(32, 49)
    def missing(sd): del sd["transformer.h.0.ln_2.bias"]
    def extra(sd): sd["transformer.h.9.attn.c_attn.weight"] = torch.zeros(2, 2)
    with pytest.raises(CheckpointError, match=r"h\.1\.mlp\.c_fc\.weight has shape \(49, 32\), model expects \(48, 32\)"):
        GPT.from_pretrained(_edit_checkpoint(d, tmp_path / "shape", wrong_shape))
    with pytest.raises(CheckpointError, match=r"lacks tensor\(s\) \['h\.0\.ln_2\.bias'\]"):
        GPT.from_pretrained(_edit_checkpoint(d, tmp_path / "missing", missing))
    with pytest.raises(CheckpointError, match=r"unexpected tensor\(s\) \['h\.9\.attn\.c_attn\.weight'\]"):
        GPT.from_pretrained(_edit_checkpoint(d, tmp_path / "extra", extra))
    # our own format: load_state names the tensor too
    m = GPT(preset("tiny"))
    with pytest.raises(CheckpointError, match="wpe.weight has shape"):
        load_state(m, GPT(preset("tiny", max_seq_len=16)).state_dict())


def test_bad_hf_directories(hf_dirs, tmp_path):
    _, d = hf_dirs[0]
    with pytest.raises(CheckpointError, match="no such directory"): GPT.from_pretrained(tmp_path / "nope")
    (tmp_path / "pickle").mkdir()
    (tmp_path / "pickle" / "config.json").write_text((d / "config.json").read_text())
    (tmp_path / "pickle" / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(CheckpointError, match="pickle"): GPT.from_pretrained(tmp_path / "pickle")
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="not a GPT-2"): GPT.from_pretrained(bert)
    relu = tmp_path / "relu"
    relu.mkdir()
    (relu / "config.json").write_text(json.dumps({**json.loads((d / "config.json").read_text()), "activation_function": "relu"}))
    with pytest.raises(CheckpointError, match="activation_function"): GPT.from_pretrained(relu)


def test_hub_failure_is_a_checkpoint_error(monkeypatch):
    import huggingface_hub
    def fail(*a, **k): raise OSError("offline")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", fail)
    with pytest.raises(CheckpointError, match="Hugging Face Hub"): GPT.from_pretrained("surely-not-a-local-dir")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "header"])
def test_corrupt_safetensors(tmp_path, damage):
    m = GPT(preset("tiny"))
    save_model(m, tmp_path)
    f = tmp_path / "model.safetensors"
    data = f.read_bytes()
    f.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a safetensors file at all",
                   "empty": b"", "header": data[:8] + b"[" + data[9:]}[damage])
    with pytest.raises(CheckpointError): load_model(tmp_path)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    m = GPT(preset("tiny", dropout=0.1)).eval()
    save_model(m, tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["config.json", "model.safetensors"]
    m2 = load_model(tmp_path / "ckpt").eval()
    assert m2.cfg == m.cfg and m2.lm_head.weight is m2.wte.weight
    idx = torch.randint(0, 128, (2, 32))
    assert torch.equal(m(idx)[0], m2(idx)[0])
    with pytest.raises(CheckpointError, match="not found"): load_model(tmp_path / "nothing")
    (tmp_path / "ckpt" / "config.json").write_text('{"n_layers": 2, "colour": "red"}')
    with pytest.raises(CheckpointError, match="colour"): load_model(tmp_path / "ckpt")


def test_save_hf_round_trip(tmp_path):
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=300, max_seq_len=32, n_layers=2, n_heads=2, d_model=32, d_ff=80, layer_norm_eps=1e-6)).eval()
    with torch.no_grad():
        for p in m.parameters(): p.add_(0.05 * torch.randn_like(p))
    m.save_hf(tmp_path)
    hf = GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    idx = torch.randint(0, 300, (2, 32))
    with torch.no_grad():
        ref = m(idx)[0]
        assert (hf(input_ids=idx).logits - ref).abs().max() < 1e-4
        assert (m.to_hf()(input_ids=idx).logits - ref).abs().max() < 1e-4
        assert torch.equal(GPT.from_pretrained(tmp_path)(idx)[0], ref)
    assert set(hf_state_dict(m)) | {"lm_head.weight"} == set(hf.state_dict())
    with pytest.raises(CheckpointError, match="bias"): GPT(preset("tiny", bias=False)).save_hf(tmp_path / "nobias")


def test_input_errors():
    m = GPT(preset("tiny"))
    with pytest.raises(ModelInputError, match="longer than max_seq_len=32"): m(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ModelInputError, match="integer"): m(torch.zeros(1, 4))
    with pytest.raises(ModelInputError, match="integer"): m(torch.zeros(1, 4, dtype=torch.bool))
    with pytest.raises(ModelInputError, match=r"\[0, 128\)"): m(torch.tensor([[1, 128]]))
    with pytest.raises(ModelInputError, match=r"\[0, 128\)"): m(torch.tensor([[-1, 2]]))
    with pytest.raises(ModelInputError, match="shape"): m(torch.tensor([1, 2]))
    with pytest.raises(ModelInputError, match="empty"): m(torch.zeros(1, 0, dtype=torch.long))
    with pytest.raises(ModelInputError, match="Tensor"): m([[1, 2]])
    idx = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ModelInputError, match="targets"): m(idx, idx[:, :3])
    with pytest.raises(ModelInputError, match="targets"): m(idx, idx.float())
    with pytest.raises(ModelInputError, match="targets"): m(idx, idx + 128)
    with pytest.raises(ModelInputError, match="targets"): m(idx, idx - 2)
    assert m(idx, idx.int())[1].isfinite()                       # int32 ids are fine
    cache = KVCache(m.cfg, batch_size=2)
    m(torch.zeros(2, 30, dtype=torch.long), kv_cache=cache)
    with pytest.raises(ModelInputError, match="33 tokens"): m(torch.zeros(2, 3, dtype=torch.long), kv_cache=cache)


def test_init_loss_kv_cache_and_last_only():
    torch.manual_seed(0)
    m = GPT(preset("tiny", vocab_size=1000)).eval()
    idx = torch.randint(0, 1000, (4, 32))
    logits, loss = m(idx, torch.randint(0, 1000, (4, 32)))
    assert abs(loss.item() - math.log(1000)) < 0.05             # near-uniform predictions at init
    with torch.no_grad():
        full = m(idx)[0]
        assert torch.allclose(m(idx, last_only=True)[0], full[:, -1:], atol=1e-5)
        cache = KVCache(m.cfg, batch_size=4)
        parts = [m(idx[:, :5], kv_cache=cache)[0]] + [m(idx[:, t:t + 1], kv_cache=cache, last_only=True)[0] for t in range(5, 32)]
    assert cache.pos == 32 and torch.allclose(torch.cat(parts, 1), full, atol=1e-5)


@pytest.mark.parametrize("name,expected", [("gpt2", 124_439_808), ("gpt2-medium", 354_823_168), ("seed", None)])
def test_param_counts(name, expected):
    c = preset(name)
    with torch.device("meta"): m = GPT(c)
    assert m.num_params() == count_params(c) and m.num_params(embeddings=False) == count_params(c, embeddings=False)
    if expected: assert m.num_params() == expected


def test_scaled_init():
    m = GPT(GPTConfig(vocab_size=100, max_seq_len=64, n_layers=8, n_heads=4, d_model=256))
    assert abs(m.h[3].mlp.c_proj.weight.std().item() - 0.02 / 4) < 5e-4      # 0.02 / sqrt(2 * 8)
    assert abs(m.h[3].attn.c_proj.weight.std().item() - 0.02 / 4) < 5e-4
    assert abs(m.h[3].attn.c_attn.weight.std().item() - 0.02) < 5e-4
    assert m.h[0].attn.c_attn.bias.abs().max() == 0


def test_original_gpt2_layout(hf_dirs, tmp_path):
    # OpenAI's gpt2 checkpoint on the Hub: keys without "transformer.", and each layer's causal-mask buffer attn.bias
    hf, d = hf_dirs[1]
    n = hf.config.n_positions
    def to_original(sd):
        for k in list(sd): sd[k.removeprefix("transformer.")] = sd.pop(k)
        for i in range(hf.config.n_layer): sd[f"h.{i}.attn.bias"] = torch.ones(1, 1, n, n).tril()
    ours = GPT.from_pretrained(_edit_checkpoint(d, tmp_path / "orig", to_original), dropout=0.0)
    assert ours.cfg.dropout == 0.0
    idx = torch.randint(0, hf.config.vocab_size, (2, n))
    with torch.no_grad(): assert (ours(idx)[0] - hf(input_ids=idx).logits).abs().max() < 1e-4
