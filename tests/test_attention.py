"""Tests for llm_from_scratch.attention (the manual path vs SDPA, causality, the KV cache) and the attention
explorer of llm_from_scratch.viz."""
import math

import pytest
import torch
import torch.nn.functional as F

from llm_from_scratch.attention import (
    CausalSelfAttention,
    KVCache,
    attention,
    causal_mask,
)
from llm_from_scratch.config import GPTConfig, LLMError
from llm_from_scratch.teaching.explorers import (
    AttentionError,
    AttentionExplorer,
    attention_explorer,
)
from llm_from_scratch.teaching.maps import plot_attention_heads, token_labels


def cfg_(**kw) -> GPTConfig:
    return GPTConfig(**{**dict(vocab_size=97, max_seq_len=32, n_layers=2, n_heads=4, d_model=32, dropout=0.0), **kw})


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_causal_mask():
    assert torch.equal(causal_mask(3), torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool))
    m = causal_mask(2, 5)                                   # the last 2 queries of a 5-token sequence
    assert m.shape == (2, 5) and torch.equal(m, causal_mask(5)[-2:])
    assert causal_mask(1, 7).all()


@pytest.mark.parametrize("shape", [(5, 8), (2, 3, 7, 16), (1, 1, 1, 4)])
@pytest.mark.parametrize("masked", [True, False])
def test_attention_matches_sdpa(shape, masked):
    q, k, v = torch.randn(3, *shape).unbind(0)
    T = shape[-2]
    out, w = attention(q, k, v, causal_mask(T) if masked else None)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=masked)
    assert (out - ref).abs().max() < 1e-6
    assert torch.allclose(w.sum(-1), torch.ones(shape[:-1]))
    if masked: assert (w.triu(1) == 0).all()
    scores = q @ k.transpose(-2, -1) / math.sqrt(shape[-1])
    if not masked: assert torch.allclose(w, scores.softmax(-1))


def test_attention_rectangular_mask_matches_sdpa():
    q, k, v = torch.randn(2, 4, 3, 8), torch.randn(2, 4, 9, 8), torch.randn(2, 4, 9, 8)
    out, _ = attention(q, k, v, causal_mask(3, 9))
    assert (out - F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(3, 9))).abs().max() < 1e-6


@pytest.mark.parametrize("bias", [True, False])
def test_module_shapes_and_params(bias):
    cfg = cfg_(bias=bias)
    att = CausalSelfAttention(cfg)
    x = torch.randn(3, 11, 32)
    assert att(x).shape == (3, 11, 32)
    assert sum(p.numel() for p in att.parameters()) == 4 * 32 * 32 + (4 * 32 if bias else 0)
    assert att.use_sdpa is True and att.save_weights is False and att.weights is None   # fast path is the default


@pytest.mark.parametrize("dropout,train", [(0.0, True), (0.0, False), (0.2, False)])
def test_sdpa_equals_manual(dropout, train):
    """With dropout disabled (p = 0, or eval mode) the fused and the readable paths agree."""
    att = CausalSelfAttention(cfg_(dropout=dropout)).train(train)
    x = torch.randn(2, 13, 32)
    fast = att(x)
    att.use_sdpa = False
    slow = att(x)
    att.use_sdpa, att.save_weights = True, True             # save_weights forces the manual path
    saved = att(x)
    assert (fast - slow).abs().max() < 1e-6 and (fast - saved).abs().max() < 1e-6
    w = att.weights
    assert w.shape == (2, 4, 13, 13) and (w.triu(1) == 0).all() and torch.allclose(w.sum(-1), torch.ones(2, 4, 13))
    assert not w.requires_grad


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_dropout_active_only_in_training(use_sdpa):
    att = CausalSelfAttention(cfg_(dropout=0.5))
    att.use_sdpa = use_sdpa
    x = torch.randn(2, 10, 32)
    assert not torch.allclose(att(x), att(x))
    att.eval()
    assert torch.equal(att(x), att(x))


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_causal_property(use_sdpa):
    """Changing the tokens after position t never changes the outputs at positions <= t."""
    att = CausalSelfAttention(cfg_()).eval()
    att.use_sdpa = use_sdpa
    x = torch.randn(2, 12, 32)
    for t in (0, 5, 10):
        x2 = x.clone()
        x2[:, t + 1:] = torch.randn_like(x2[:, t + 1:])
        y, y2 = att(x), att(x2)
        assert torch.allclose(y[:, :t + 1], y2[:, :t + 1], atol=1e-6)
        assert not torch.allclose(y[:, t + 1:], y2[:, t + 1:])


def test_gradients_flow_to_all_parameters():
    att = CausalSelfAttention(cfg_())
    x = torch.randn(2, 6, 32, requires_grad=True)
    att(x).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in att.parameters()) and x.grad.abs().sum() > 0


@pytest.mark.parametrize("use_sdpa", [True, False])
@pytest.mark.parametrize("pieces", [[(0, 12)], [(0, 1)] + [(i, i + 1) for i in range(1, 12)], [(0, 5), (5, 6), (6, 12)]])
def test_kv_cache_incremental_equals_full(use_sdpa, pieces):
    cfg = cfg_(n_layers=1)
    att = CausalSelfAttention(cfg).eval()
    att.use_sdpa = use_sdpa
    x = torch.randn(2, 12, 32)
    cache, outs = KVCache(cfg, batch_size=2), []
    for a, b in pieces:
        outs.append(att(x[:, a:b], kv_cache=cache))
        cache.pos += b - a
    assert (torch.cat(outs, 1) - att(x)).abs().max() < 1e-5
    assert cache.pos == 12 and cache.k.shape == (1, 2, 4, 32, 8)


def test_kv_cache_update_layers_and_overflow():
    cfg = cfg_()
    cache = KVCache(cfg, batch_size=1, max_len=4)
    k, v = torch.randn(2, 1, 4, 3, 8).unbind(0)
    ks, vs = cache.update(1, k, v)
    assert torch.equal(ks, k) and torch.equal(vs, v) and (cache.k[0] == 0).all() and cache.pos == 0  # pos: caller's job
    cache.pos = 3
    with pytest.raises(ValueError, match="KV cache is full"): cache.update(0, k, v)


def test_kv_cache_reorder():
    cfg = cfg_()
    cache = KVCache(cfg, batch_size=3, max_len=5)
    cache.update(0, torch.randn(3, 4, 2, 8), torch.randn(3, 4, 2, 8))
    k0, v0 = cache.k.clone(), cache.v.clone()
    cache.reorder(torch.tensor([2, 2, 0]))
    assert torch.equal(cache.k[:, 0], k0[:, 2]) and torch.equal(cache.k[:, 1], k0[:, 2]) and torch.equal(cache.v[:, 2], v0[:, 0])
    cache.reorder(torch.tensor([1]))                        # shrinking the batch is allowed (beams dropped)
    assert cache.k.shape[1] == 1 and torch.equal(cache.k[:, 0], k0[:, 2])


def test_kv_cache_dtype_device():
    cache = KVCache(cfg_(), batch_size=2, dtype=torch.float64, device="cpu")
    assert cache.k.dtype == torch.float64 and cache.max_len == 32


def test_token_labels():
    assert token_labels(["Hello", " world", "\n", " ", "", "a\nb", "  "]) == ["Hello", "world", "⏎", "␣", "∅", "a⏎b", "␣␣"]


def _maps(L=2, nh=3, T=5):
    return [torch.softmax(torch.randn(nh, T, T).masked_fill(~causal_mask(T), float("-inf")), -1) for _ in range(L)]


def test_explorer_packs_lower_triangle():
    maps, toks = _maps(), ["a", " b", "c", "d", "e"]
    ex = AttentionExplorer(maps, toks, title="t")
    assert len(ex.weights) == 2 and len(ex.weights[0]) == 3 and len(ex.weights[0][0]) == 5 * 6 // 2
    assert all(isinstance(x, int) and 0 <= x <= 1000 for x in ex.weights[1][2])
    for layer in range(2):
        for h in range(3): assert (ex.head_map(layer, h) - maps[layer][h]).abs().max() <= 5e-4
    assert ex.tokens == ["a", "b", "c", "d", "e"]
    assert "<svg" in ex.to_svg() and "<svg" in ex._repr_mimebundle_()[0]["text/html"]
    AttentionExplorer([m[None] for m in maps], toks)         # (1, nh, T, T) as returned by attention_maps


def test_explorer_errors():
    maps = _maps()
    with pytest.raises(AttentionError, match="do not match"): AttentionExplorer(maps, ["a"] * 4)
    with pytest.raises(AttentionError, match="max_tokens"): AttentionExplorer(maps, ["a"] * 5, max_tokens=4)
    with pytest.raises(AttentionError, match="no attention"): AttentionExplorer([], [])
    with pytest.raises(AttentionError, match="layer 1"): AttentionExplorer([maps[0], maps[1][:2]], ["a"] * 5)
    assert issubclass(AttentionError, LLMError)


def test_attention_explorer_on_gpt():
    from llm_from_scratch.model import GPT
    model = GPT(cfg_(dropout=0.1)).train()
    ids = torch.randint(0, 97, (9,))
    ex = attention_explorer(model, ids)
    assert model.training and all(not b.attn.save_weights for b in model.h)     # state restored
    assert ex.tokens == [str(i) for i in ids.tolist()] and len(ex.weights) == 2 and len(ex.weights[0]) == 4
    maps = model.eval().attention_maps(ids[None])
    assert (ex.head_map(1, 3) - maps[1][0, 3]).abs().max() <= 5e-4

    class Tok:
        def decode(self, ids): return "".join(chr(97 + i % 26) for i in ids)
    assert attention_explorer(model, ids.tolist(), Tok()).tokens == [chr(97 + i % 26) for i in ids.tolist()]
    with pytest.raises(AttentionError, match="labels"): attention_explorer(model, ids, ["x"])
    with pytest.raises(AttentionError, match="max_tokens"): attention_explorer(model, torch.randint(0, 97, (40,)))


def test_plot_attention_heads():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = plot_attention_heads(_maps(1, 5, 4)[0], list("abcd"), title="x", ncols=2)
    assert len([a for a in fig.axes if a.axison]) == 5
    plt.close(fig)
