"""Tests for llm_from_scratch.transformer: LayerNorm and GELU vs torch, the MLP, the pre-norm Block."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from llm_from_scratch.attention import KVCache
from llm_from_scratch.config import GPTConfig, count_params
from llm_from_scratch.transformer import MLP, Block, LayerNorm, gelu_tanh


def cfg_(**kw) -> GPTConfig:
    return GPTConfig(**{**dict(vocab_size=97, max_seq_len=32, n_layers=1, n_heads=4, d_model=32, dropout=0.0), **kw})


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_layernorm_matches_torch(bias, eps):
    ln, ref = LayerNorm(16, bias=bias, eps=eps), nn.LayerNorm(16, eps=eps, bias=bias)
    with torch.no_grad():
        ln.weight.normal_(); ref.weight.copy_(ln.weight)
        if bias: ln.bias.normal_(); ref.bias.copy_(ln.bias)
    x = torch.randn(3, 5, 16) * 4 + 2
    assert (ln(x) - ref(x)).abs().max() < 1e-5
    assert (ln.bias is None) != bias and len(list(ln.parameters())) == 1 + bias


def test_layernorm_normalises_and_backprops():
    ln = LayerNorm(64)
    x = (torch.randn(8, 64) * 10 + 5).requires_grad_()
    y = ln(x)
    assert torch.allclose(y.mean(-1), torch.zeros(8), atol=1e-5)
    assert torch.allclose(y.var(-1, unbiased=False), torch.ones(8), atol=1e-3)
    (y * torch.randn_like(y)).sum().backward()
    assert ln.weight.grad is not None and ln.bias.grad is not None and x.grad.abs().sum() > 0


def test_gelu_tanh():
    x = torch.linspace(-8, 8, 2001)
    assert (gelu_tanh(x) - F.gelu(x, approximate="tanh")).abs().max() < 1e-6
    assert (gelu_tanh(x) - F.gelu(x)).abs().max() < 1e-3
    assert gelu_tanh(torch.tensor(0.0)) == 0 and torch.allclose(gelu_tanh(torch.tensor([10.0, -10.0])), torch.tensor([10.0, 0.0]))


def test_mlp():
    cfg = cfg_(d_ff=48)
    mlp = MLP(cfg)
    x = torch.randn(2, 7, 32)
    assert mlp(x).shape == x.shape and mlp.c_fc.out_features == 48
    assert sum(p.numel() for p in mlp.parameters()) == 2 * 32 * 48 + 48 + 32
    perm = torch.randperm(7)
    assert torch.allclose(mlp(x)[:, perm], mlp(x[:, perm]), atol=1e-6)           # position-wise
    assert torch.allclose(mlp(x), mlp.c_proj(gelu_tanh(mlp.c_fc(x))), atol=1e-5)


@pytest.mark.parametrize("bias", [True, False])
def test_block_shape_and_params(bias):
    cfg = cfg_(bias=bias)
    blk = Block(cfg)
    x = torch.randn(2, 9, 32)
    assert blk(x).shape == x.shape
    d = 32
    n = sum(p.numel() for p in blk.parameters())
    assert n == (12 * d * d + 13 * d if bias else 12 * d * d + 2 * d)
    assert count_params(cfg_(n_layers=3, bias=bias), embeddings=False) == 3 * n + (2 * d if bias else d)
    assert {name for name, _ in blk.named_children()} == {"ln_1", "attn", "ln_2", "mlp"}


def test_block_is_prenorm_residual():
    blk = Block(cfg_()).eval()
    x = torch.randn(2, 6, 32)
    h = x + blk.attn(blk.ln_1(x))
    assert torch.allclose(blk(x), h + blk.mlp(blk.ln_2(h)), atol=1e-6)
    with torch.no_grad():                                   # zero output projections: the block is the identity
        for m in (blk.attn.c_proj, blk.mlp.c_proj): m.weight.zero_(); m.bias.zero_()
    assert torch.equal(blk(x), x)


def test_block_grad_flow():
    blk = Block(cfg_(dropout=0.1))
    x = torch.randn(2, 8, 32, requires_grad=True)
    blk(x).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in blk.parameters())
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_block_causal(use_sdpa):
    blk = Block(cfg_()).eval()
    blk.attn.use_sdpa = use_sdpa
    x = torch.randn(2, 10, 32)
    x2 = x.clone(); x2[:, 6:] = torch.randn(2, 4, 32)
    assert torch.allclose(blk(x)[:, :6], blk(x2)[:, :6], atol=1e-6)


@pytest.mark.parametrize("use_sdpa", [True, False])
def test_block_kv_cache_incremental_equals_full(use_sdpa):
    cfg = cfg_(n_layers=3)
    blocks = [Block(cfg, i).eval() for i in range(3)]
    for b in blocks: b.attn.use_sdpa = use_sdpa
    x = torch.randn(2, 15, 32)

    def run(x, cache=None):
        for b in blocks: x = b(x, cache)
        return x
    cache, outs = KVCache(cfg, batch_size=2), []
    for a, b in [(0, 6), (6, 7), (7, 8), (8, 15)]:
        outs.append(run(x[:, a:b], cache)); cache.pos += b - a
    assert (torch.cat(outs, 1) - run(x)).abs().max() < 1e-5


def test_block_dropout_train_vs_eval():
    blk = Block(cfg_(dropout=0.3))
    x = torch.randn(2, 5, 32)
    assert not torch.allclose(blk(x), blk(x))
    blk.eval()
    assert torch.equal(blk(x), blk(x))
