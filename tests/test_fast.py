"""Chapters 8 and 8b (`llm_from_scratch.fast`, `llm_from_scratch.inference`): each speed-up must change nothing but speed and memory.

Chunked cross-entropy = full cross-entropy (values and gradients); checkpointing and chunking inside a training step =
the plain step; int8 weights within half a quantization step, int8 logits close to fp32; speculative greedy decoding =
plain greedy decoding token for token; the speculative accept/reject rule and speculative sampling keep the target's
distribution (chi-square tests at fixed seeds). No timings are asserted here: speed goals live in benchmarks/.
"""
import copy
import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from llm_from_scratch.checkpoints import load_checkpoint
from llm_from_scratch.config import ConfigError, GPTConfig, TrainConfig, preset
from llm_from_scratch.fast import (
    LowMemoryLoss,
    chunked_cross_entropy,
    low_memory,
    peak_memory,
    time_split,
)
from llm_from_scratch.fast_decoding import (
    Int8Embedding,
    Int8Linear,
    StreamingHead,
    dequantize,
    greedy_decode,
    model_bytes,
    quantize_int8,
    quantize_per_channel,
    speculative_accept,
    speculative_decode,
    streaming_head,
)
from llm_from_scratch.generation import generate
from llm_from_scratch.model import GPT
from llm_from_scratch.trainer import train
from llm_from_scratch.training_run import read_metrics

# One torch thread for the whole module (shared fixture in tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _models(seed_t=0, seed_d=1, **kw):
    torch.manual_seed(seed_t)
    target = GPT(preset("tiny", max_seq_len=64, **kw)).eval()
    torch.manual_seed(seed_d)
    draft = GPT(preset("tiny", max_seq_len=64, n_layers=1, d_model=16, n_heads=2, **kw)).eval()
    with torch.no_grad():  # peakier distributions than GPT-2's init: fewer near-ties, more realistic agreement
        for m in (target, draft):
            m.wte.weight.mul_(8)
    return target, draft


# ---------------------------------------------------------------- chunked cross-entropy


@pytest.mark.parametrize("chunk", [1, 7, 64, 200, 1000])
@pytest.mark.parametrize("ignore", [False, True])
def test_chunked_ce_matches_full(chunk, ignore):
    g = torch.Generator().manual_seed(chunk)
    x = torch.randn(200, 24, generator=g, requires_grad=True)
    W = torch.randn(500, 24, generator=g, requires_grad=True)
    t = torch.randint(0, 500, (200,), generator=g)
    if ignore:
        t[::3] = -100
    ref = F.cross_entropy(x @ W.t(), t, ignore_index=-100)
    gx, gW = torch.autograd.grad(ref * 2.5, (x, W))
    loss = chunked_cross_entropy(x, W, t, chunk)
    cx, cW = torch.autograd.grad(loss * 2.5, (x, W))
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(cx, gx)
    torch.testing.assert_close(cW, gW)


def test_chunked_ce_shapes_no_grad_and_all_ignored():
    x, W = torch.randn(2, 5, 8), torch.randn(30, 8)
    t = torch.randint(0, 30, (2, 5))
    with torch.no_grad():
        torch.testing.assert_close(
            chunked_cross_entropy(x, W, t, 3), F.cross_entropy((x @ W.t()).flatten(0, 1), t.flatten())
        )
    assert chunked_cross_entropy(x, W, torch.full_like(t, -100), 4).item() == 0.0
    with pytest.raises(ValueError):
        chunked_cross_entropy(x, W, t, 0)


@pytest.mark.parametrize("chunk,ckpt", [(0, True), (5, False), (5, True), (1000, True)])
def test_low_memory_loss_equals_plain_step(chunk, ckpt):
    torch.manual_seed(0)
    model = GPT(preset("tiny", dropout=0.1)).train()
    x, y = torch.randint(0, 128, (2, 2, 16))
    y[0, :3] = -100

    def run(m):
        torch.manual_seed(3)  # same dropout masks
        loss = m(x, y)[1]
        return loss, torch.autograd.grad(loss, list(model.parameters()))

    ref_loss, ref_grads = run(model)
    loss, grads = run(LowMemoryLoss(model, chunk, ckpt))
    torch.testing.assert_close(loss, ref_loss)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_low_memory_loss_checks_inputs_and_passes_through_inference():
    model = GPT(preset("tiny")).eval()
    wrapped = LowMemoryLoss(model, 8, True)
    x = torch.randint(0, 128, (1, 10))
    torch.testing.assert_close(wrapped(x)[0], model(x)[0])
    with pytest.raises(ValueError):
        wrapped(x, torch.full((1, 10), 500))


# ---------------------------------------------------------------- int8


def test_quantize_per_channel_error_bound():
    w = torch.randn(64, 48) * torch.logspace(-3, 1, 64)[:, None]
    q, s = quantize_per_channel(w)
    assert q.dtype == torch.int8 and q.abs().max() <= 127 and s.shape == (64,)
    assert ((dequantize(q, s) - w).abs() <= s[:, None] / 2 + 1e-6).all()
    assert (q.abs().amax(1) == 127).all()  # every row uses its full range
    assert (quantize_per_channel(torch.zeros(3, 4))[0] == 0).all()  # zero rows: no division by zero


@pytest.mark.parametrize("rows", [1, 4, 16, 17, 40])
def test_int8_linear_close_to_dequantized_linear(rows):
    lin = nn.Linear(64, 96)
    q = Int8Linear(lin)
    x = torch.randn(rows, 64)
    exact = F.linear(x, q.weight, lin.bias)
    torch.testing.assert_close(q(x), exact, atol=2e-2, rtol=1e-2)  # <= 16 rows: bf16 activations in the kernel
    torch.testing.assert_close(Int8Linear(lin, max_kernel_rows=0)(x), exact)  # dequantize path: fp32
    assert (q.weight - lin.weight).abs().max() <= q.scale.max() / 2 + 1e-6


def test_quantize_int8_model_close_and_smaller():
    torch.manual_seed(0)
    model = GPT(preset("tiny", vocab_size=256, d_model=64, n_heads=4)).eval()
    q = quantize_int8(model)
    assert isinstance(q.lm_head, Int8Linear) and isinstance(q.wte, Int8Embedding)
    assert q.wte.qweight.data_ptr() == q.lm_head.qweight.data_ptr()  # still tied: one matrix
    assert all(isinstance(m, Int8Linear) for b in q.h for m in (b.attn.c_attn, b.attn.c_proj, b.mlp.c_fc, b.mlp.c_proj))
    assert isinstance(model.lm_head, nn.Linear)  # the original is untouched
    assert model_bytes(q) < model_bytes(model) / 2.5
    x = torch.randint(0, 256, (2, 20))
    with torch.no_grad():
        a, b = model(x)[0], q(x)[0]
    assert (a - b).abs().max() < 0.05 * a.abs().max()
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.9
    _, lq = q(x, x)
    _, lf = model(x, x)
    assert abs(lq.item() - lf.item()) < 0.01 * lf.item()


# ---------------------------------------------------------------- decoding


def test_greedy_decode_equals_generate():
    target, _ = _models()
    for n, B in ((1, 1), (5, 1), (3, 4)):
        ids = torch.randint(0, 128, (B, n), generator=torch.Generator().manual_seed(n))
        assert torch.equal(greedy_decode(target, ids, 30), generate(target, ids, 30))
    with pytest.raises(ValueError):
        greedy_decode(target, torch.zeros(1, 60, dtype=torch.long), 10)  # past max_seq_len


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_speculative_greedy_equals_plain_greedy(k):
    target, draft = _models()
    _, stranger = _models(seed_t=5)  # a draft as big as the target, trained on nothing in common: disagrees often
    bad = GPT(preset("tiny", max_seq_len=64, n_layers=1)).eval()  # GPT-2 init: nearly flat, disagrees most
    for n_prompt, seed in ((1, 0), (4, 1), (11, 2)):
        ids = torch.randint(0, 128, (1, n_prompt), generator=torch.Generator().manual_seed(seed))
        ref = greedy_decode(target, ids, 40)
        for d in (draft, stranger, bad, target):
            out, st = speculative_decode(target, d, ids, 40, k=k)
            assert torch.equal(out, ref)
            assert st["rounds"] <= 40 and st["accepted"] <= st["proposed"]
        assert speculative_decode(target, target, ids, 40, k=k)[1]["accepted"] == st["proposed"]


def test_speculative_draft_that_always_disagrees():
    target, _ = _models()
    contrary = _models()[0]  # the target with its head rolled by one token: never proposes the target's choice
    with torch.no_grad():
        contrary.lm_head.weight = nn.Parameter(target.lm_head.weight.roll(1, 0))
    ids = torch.tensor([[1, 2, 3]])
    out, st = speculative_decode(target, contrary, ids, 40, k=4)
    assert torch.equal(out, greedy_decode(target, ids, 40))
    assert st["accepted"] < st["proposed"] / 4 and st["rounds"] >= 30


def test_speculative_checks():
    target, draft = _models()
    with pytest.raises(ValueError):
        speculative_decode(target, draft, torch.zeros(2, 3, dtype=torch.long), 5)
    with pytest.raises(ValueError):
        speculative_decode(target, draft, torch.zeros(1, 3, dtype=torch.long), 5, k=0)
    with pytest.raises(ValueError):
        speculative_decode(target, draft, torch.zeros(1, 60, dtype=torch.long), 10)
    out, _ = speculative_decode(target, draft, torch.zeros(1, 3, dtype=torch.long), 1, k=4)
    assert out.shape == (1, 4)


CHI2_999 = {5: 20.52, 24: 51.18}  # 99.9% quantiles of chi-square


def test_accept_rule_keeps_target_distribution():
    g = torch.Generator().manual_seed(0)
    p = torch.tensor([[0.05, 0.4, 0.1, 0.3, 0.1, 0.05], [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]])
    q = torch.tensor([[0.4, 0.05, 0.2, 0.05, 0.2, 0.1]])
    n, counts = 20000, torch.zeros(6)
    for _ in range(n):
        prop = torch.multinomial(q[0], 1, generator=g)
        kept, nxt = speculative_accept(p, q, prop, g)
        counts[int(prop[0]) if kept else nxt] += 1
    chi2 = ((counts - n * p[0]) ** 2 / (n * p[0])).sum().item()
    assert chi2 < CHI2_999[5], (chi2, counts / n)


def test_speculative_sampling_keeps_target_joint_distribution():
    """Two sampled tokens after a fixed prompt: their joint frequencies match the target's own p(a) p(b | a)."""
    V = 5
    torch.manual_seed(0)
    target = GPT(GPTConfig(vocab_size=V, max_seq_len=8, n_layers=1, n_heads=2, d_model=16, dropout=0.0)).eval()
    torch.manual_seed(1)
    draft = GPT(GPTConfig(vocab_size=V, max_seq_len=8, n_layers=1, n_heads=1, d_model=8, dropout=0.0)).eval()
    with torch.no_grad():
        for m, s in ((target, 6.0), (draft, 4.0)):
            m.wte.weight.mul_(s)  # distinct, non-uniform distributions
    ids, temp = torch.tensor([[1, 3]]), 0.9
    with torch.no_grad():
        p1 = F.softmax(target(ids)[0][0, -1] / temp, -1)
        joint = torch.stack(
            [p1[a] * F.softmax(target(torch.tensor([[1, 3, a]]))[0][0, -1] / temp, -1) for a in range(V)]
        )
    g = torch.Generator().manual_seed(0)
    n, counts = 3000, torch.zeros(V, V)
    for _ in range(n):
        out, _ = speculative_decode(target, draft, ids, 2, k=2, do_sample=True, temperature=temp, generator=g)
        counts[out[0, 2], out[0, 3]] += 1
    expected = n * joint
    chi2 = ((counts - expected) ** 2 / expected).sum().item()
    assert expected.min() > 5  # the test's own validity condition
    assert chi2 < CHI2_999[24], chi2


# ---------------------------------------------------------------- measuring


def test_peak_memory_sees_a_large_tensor():
    used = peak_memory(lambda: torch.ones(64, 1024, 1024).sum())  # 256 MB alive for a moment
    if used is None:
        pytest.skip("no /proc on this system")
    assert 200e6 < used < 600e6


def test_time_split_groups():
    model = GPT(preset("tiny", vocab_size=300)).train()
    x = torch.randint(0, 300, (2, 17))

    def step():
        model(x[:, :-1], x[:, 1:])[1].backward()

    split = time_split(step, 300, model.cfg.d_ff)
    assert {"LM head + embedding", "loss", "MLP", "attention", "Python + dispatch"} <= set(split)
    assert all(v >= 0 for v in split.values())


def test_model_bytes_counts_tied_once():
    model = GPT(preset("tiny"))
    assert model_bytes(model) == sum(p.numel() for p in model.parameters()) * 4
    assert list(itertools.islice(model.parameters(), 1))[0].dtype == torch.float32


# ---------------------------------------------------------------- trainer options


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    g = torch.Generator().manual_seed(0)
    words = ["to", "be", "or", "not", "that", "is", "the", "question", "ROMEO", ":", "\n", "my", "lord"]
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text(" ".join(words[i] for i in torch.randint(len(words), (5000,), generator=g).tolist()))
    return path


def _train(corpus, out, resume=False, max_iters=10, **opts):
    tc = TrainConfig(device="cpu", data=str(corpus), out_dir=str(out), max_iters=max_iters, lr_decay_iters=10,
                     batch_size=4, warmup_iters=2, eval_interval=5, eval_iters=1, log_interval=1, ckpt_interval=100,
                     **opts)
    cfg = None if resume else preset("tiny", vocab_size=32, dropout=0.1)
    return train(cfg, tc, resume=resume, progress=False, print_fn=lambda s: None, wrap=low_memory)


@pytest.mark.parametrize("opts", [dict(loss_chunk_size=7), dict(checkpoint_blocks=True),
                                  dict(loss_chunk_size=16, checkpoint_blocks=True)])
def test_trainer_options_resume_exactly_and_match_the_plain_run(corpus, tmp_path, opts):
    straight = _train(corpus, tmp_path / "s", **opts)
    _train(corpus, tmp_path / "r", max_iters=5, **opts)
    resumed = _train(corpus, tmp_path / "r", resume=True, **opts)
    assert all(torch.equal(p, q) for p, q in zip(straight.model.state_dict().values(),
                                                  resumed.model.state_dict().values()))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "tokens_per_sec"} for r in rows]  # noqa: E731
    assert strip(read_metrics(tmp_path / "s")) == strip(read_metrics(tmp_path / "r"))
    assert load_checkpoint(tmp_path / "r" / "checkpoint").step == 10
    plain = _train(corpus, tmp_path / "p")  # same run without the options: equal up to float rounding
    for p, q in zip(straight.model.state_dict().values(), plain.model.state_dict().values()):
        torch.testing.assert_close(p, q, atol=1e-4, rtol=1e-3)


def test_trainer_option_checks():
    with pytest.raises(ConfigError):
        TrainConfig(loss_chunk_size=-1)
    with pytest.raises(ConfigError):
        TrainConfig(checkpoint_blocks="yes")


# ---------------------------------------------------------------- fp16 with a loss scaler (chapter 8)


def test_fp16_training_resumes_exactly_with_its_loss_scale(corpus, tmp_path):
    straight = _train(corpus, tmp_path / "s", dtype="float16")
    _train(corpus, tmp_path / "r", max_iters=5, dtype="float16")
    mid = load_checkpoint(tmp_path / "r" / "checkpoint").state["grad_scaler"]
    assert mid["scale"] > 0 and mid["_growth_tracker"] >= 0
    resumed = _train(corpus, tmp_path / "r", resume=True, dtype="float16")
    assert all(torch.equal(p, q) for p, q in zip(straight.model.state_dict().values(),
                                                  resumed.model.state_dict().values()))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "tokens_per_sec"} for r in rows]  # noqa: E731
    assert strip(read_metrics(tmp_path / "s")) == strip(read_metrics(tmp_path / "r"))
    end = load_checkpoint(tmp_path / "r" / "checkpoint").state["grad_scaler"]
    assert end == load_checkpoint(tmp_path / "s" / "checkpoint").state["grad_scaler"]
    rows = [r for r in read_metrics(tmp_path / "s") if "train_loss" in r]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]  # it learns


def test_fp16_overflowed_steps_are_skipped_not_divergence(corpus, tmp_path, monkeypatch):
    import functools

    huge = functools.partial(torch.amp.GradScaler, init_scale=2.0**40)
    monkeypatch.setattr(torch.amp, "GradScaler", huge)  # every step overflows at first
    run = _train(corpus, tmp_path / "o", max_iters=4, dtype="float16")  # no TrainError
    state = load_checkpoint(tmp_path / "o" / "checkpoint").state["grad_scaler"]
    assert state["scale"] == 2.0**36  # halved once per skipped step
    torch.manual_seed(TrainConfig().seed)  # the run's initial weights, unchanged
    init = GPT(preset("tiny", vocab_size=32, dropout=0.1)).state_dict()
    assert all(torch.equal(run.model.state_dict()[k], v) for k, v in init.items())
    assert [r["grad_norm"] for r in read_metrics(tmp_path / "o") if "grad_norm" in r] == [0.0] * 4


def test_dtype_auto_and_float16(monkeypatch):
    from llm_from_scratch.config import autocast_for, resolve_dtype

    assert resolve_dtype(torch.device("cpu")) == "float32"
    for capability, want in (((8, 0), "bfloat16"), ((9, 0), "bfloat16"), ((7, 5), "float16")):  # A100, H100, T4
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert resolve_dtype(torch.device("cuda")) == want
    assert resolve_dtype(torch.device("cuda"), "float32") == "float32"
    with autocast_for(torch.device("cpu"), "float16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float16
    TrainConfig(dtype="float16")
    with pytest.raises(ConfigError):
        TrainConfig(dtype="fp16")


def test_streaming_head_changes_speed_only():
    """Chapter 8b's StreamingHead: the same logits and tokens as chapter 4's plain head, the tied embedding and the
    state dict unchanged, a fresh transposed copy after the weight changes."""
    torch.manual_seed(0)
    model = GPT(preset("tiny")).eval()
    ids = torch.randint(0, 128, (1, 5))
    plain = generate(model, ids, 12)
    fast = streaming_head(copy.deepcopy(model))
    assert isinstance(fast.lm_head, StreamingHead) and fast.lm_head.weight is fast.wte.weight
    assert list(fast.state_dict()) == list(model.state_dict())
    assert torch.equal(generate(fast, ids, 12), plain)
    with torch.no_grad():
        torch.testing.assert_close(fast(ids[:, :1], last_only=True)[0][0, -1], model(ids[:, :1])[0][0, -1])
        fast.wte.weight.mul_(2)  # the tied weight changes: the copy follows
        x = torch.randn(1, 1, fast.cfg.d_model)
        torch.testing.assert_close(fast.lm_head(x), x @ fast.wte.weight.t())
    assert streaming_head(fast) is fast  # applying it twice changes nothing
