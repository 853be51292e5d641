"""Training-step speed: our GPT vs Hugging Face `GPT2LMHeadModel`, same config, same weights, same batch, one run.

    python benchmarks/forward_backward.py                 # the three configs of issue 3
    python benchmarks/forward_backward.py --rounds 8      # more rounds: steadier numbers
    python benchmarks/forward_backward.py --configs char  # one config
    python benchmarks/forward_backward.py --configs bpe-seed-16 --rounds 3   # chapter 8: chunked loss, checkpointing

A training step is forward + loss + backward + optimizer step (AdamW, lr 3e-4). Our model uses torch's AdamW with
`fused=True` (one kernel over all parameters; falls back to `foreach=True` where fused is not available); HF uses the
default `torch.optim.AdamW()`, as its `Trainer` would without `optim=adamw_torch_fused`. A third row times our model with
the default AdamW too, so the optimizer's share of the gain is visible. At the GPT-2 vocabulary, three more rows time
chapter 8's options (`llm_from_scratch.fast.LowMemoryLoss`): the chunked LM-head cross-entropy, activation
checkpointing per block, and both. Every row also reports the peak extra resident memory of its forward + backward
(`llm_from_scratch.fast.peak_memory`, Linux), measured in the timed rounds.

The machine is shared and noisy, so the models are timed in alternating rounds (ours, HF, ours, HF, ... with the order
flipped every round). Reported: the median tok/s over rounds, the best round's tok/s, the median of the per-round
ratios ours/HF (the figure that counts) and the ratio of the best rounds. On a machine shared with other jobs, two
OpenMP threads that keep losing their core can make every op many times slower; `--threads 1 --clock cpu` (one
thread, timed by the process's CPU time instead of the wall clock) is then the steadier comparison: it counts the
work each model does, not the time spent waiting for a core.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from llm_from_scratch.config import GPTConfig
from llm_from_scratch.fast import LowMemoryLoss, peak_memory
from llm_from_scratch.model import GPT, hf_state_dict

CONFIGS = {  # name: (GPTConfig fields, batch size); the sequence length T is max_seq_len
    "char-small": (dict(vocab_size=65, max_seq_len=64, n_layers=4, n_heads=4, d_model=128), 12),
    "char-seed": (dict(vocab_size=65, max_seq_len=256, n_layers=6, n_heads=6, d_model=384), 8),
    "bpe-seed": (dict(vocab_size=50257, max_seq_len=256, n_layers=6, n_heads=6, d_model=384), 8),
    "bpe-seed-16": (dict(vocab_size=50257, max_seq_len=256, n_layers=6, n_heads=6, d_model=384), 16),
}
LOW_MEMORY = {  # chapter 8's rows, for configs with a large vocabulary: LowMemoryLoss(chunk_size, checkpoint_blocks)
    "ours chunked loss": (256, False),
    "ours checkpointed": (0, True),
    "ours chunked+ckpt": (256, True),
}
PEAK: dict[str, int] = {}  # row -> peak extra memory (bytes) of its last forward + backward


def make_models(cfg: GPTConfig, seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Our GPT and an HF GPT2LMHeadModel with the same config and the same weights."""
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(seed)
    ours = GPT(cfg)
    hcfg = GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.max_seq_len, n_embd=cfg.d_model, n_layer=cfg.n_layers,
                      n_head=cfg.n_heads, n_inner=cfg.d_ff, resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout,
                      attn_pdrop=cfg.dropout, layer_norm_epsilon=cfg.layer_norm_eps, activation_function="gelu_new",
                      bos_token_id=None, eos_token_id=None)
    hf = GPT2LMHeadModel(hcfg)
    missing, unexpected = hf.load_state_dict(hf_state_dict(ours), strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()  # still tied
    return ours.train(), hf.train()


def adamw(params, fused: bool) -> torch.optim.Optimizer:
    if not fused: return torch.optim.AdamW(params, lr=3e-4)
    try: return torch.optim.AdamW(params, lr=3e-4, fused=True)
    except (RuntimeError, TypeError): return torch.optim.AdamW(params, lr=3e-4, foreach=True)


def step_fn(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, is_hf: bool,
            name: str = ""):
    def step() -> float:
        out = {}

        def fwd_bwd():
            if is_hf: out["loss"] = model(input_ids=x, labels=x).loss       # HF shifts labels inside
            else: out["loss"] = model(x, y)[1]
            out["loss"].backward()
        PEAK[name] = peak_memory(fwd_bwd) or 0
        loss = out["loss"]
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()
    return step


CLOCK = time.perf_counter


def timed(step, n: int) -> float:
    t0 = CLOCK()
    for _ in range(n): step()
    return CLOCK() - t0


def bench(name: str, rounds: int, steps: int | None, dropout: float) -> dict[str, float]:
    fields, B = CONFIGS[name]
    cfg = GPTConfig(**fields, dropout=dropout)
    T = cfg.max_seq_len
    ours, hf = make_models(cfg)
    g = torch.Generator().manual_seed(1)
    seq = torch.randint(0, cfg.vocab_size, (B, T + 1), generator=g)
    x_hf = seq[:, :T]                                      # HF predicts x[t+1] from x[:t+1] (labels = input_ids)
    x, y = seq[:, :T], seq[:, 1:T + 1]
    # same weights, same batch: losses agree before any step (a check that the comparison is fair)
    with torch.no_grad():
        ours.eval(), hf.eval()
        l_ours = ours(x, x.roll(-1, 1).masked_fill(torch.arange(T) == T - 1, -100))[1].item()
        l_hf = hf(input_ids=x, labels=x).loss.item()
        ours.train(), hf.train()
    assert abs(l_ours - l_hf) < 1e-4, (l_ours, l_hf)
    ours_default = GPT(cfg).train()
    ours_default.load_state_dict(ours.state_dict())
    runs = {
        "ours (AdamW fused)": step_fn(ours, adamw(ours.parameters(), fused=True), x, y, False, "ours (AdamW fused)"),
        "HF (AdamW default)": step_fn(hf, adamw(hf.parameters(), fused=False), x_hf, None, True, "HF (AdamW default)"),
        "ours (AdamW default)": step_fn(ours_default, adamw(ours_default.parameters(), fused=False), x, y, False,
                                        "ours (AdamW default)"),
    }
    if cfg.vocab_size > 1000:  # chapter 8's memory options, each on its own copy of the weights
        for k, (chunk, ckpt) in LOW_MEMORY.items():
            m = GPT(cfg).train()
            m.load_state_dict(ours.state_dict())
            runs[k] = step_fn(LowMemoryLoss(m, chunk, ckpt), adamw(m.parameters(), fused=True), x, y, False, k)

    for step in runs.values(): step()                      # warm up: allocator, optimizer state
    if steps is None:                                      # ~1 s per timed block
        steps = max(1, round(1.0 / timed(runs["HF (AdamW default)"], 1)))
    tok = {k: [] for k in runs}
    keys = list(runs)
    for r in range(rounds):
        for k in (keys if r % 2 == 0 else keys[::-1]):
            tok[k].append(steps * B * T / timed(runs[k], steps))
    base = tok["HF (AdamW default)"]
    out = {k: statistics.median(v) for k, v in tok.items()}
    best = {k: max(v) for k, v in tok.items()}
    ratios = {k: statistics.median(a / b for a, b in zip(v, base)) for k, v in tok.items()}
    print(f"\n{name}: {cfg.n_layers} layers, d_model {cfg.d_model}, {cfg.n_heads} heads, T={T}, B={B}, "
          f"vocab {cfg.vocab_size}, dropout {dropout}; {rounds} rounds x {steps} steps; initial loss ours {l_ours:.4f} "
          f"HF {l_hf:.4f}")
    for k in runs:
        print(f"  {k:22s} median {out[k]:8.0f} tok/s  best {best[k]:8.0f} tok/s   vs HF: x{ratios[k]:.2f} (median of rounds), "
              f"x{best[k] / best['HF (AdamW default)']:.2f} (best rounds)   peak fwd+bwd memory {PEAK[k] / 1e6:6.0f} MB "
              f"(x{PEAK[k] / max(PEAK['HF (AdamW default)'], 1):.2f} HF)")
    return {"ratio": ratios["ours (AdamW fused)"], "best_ratio": best["ours (AdamW fused)"] / best["HF (AdamW default)"], **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=None, help="steps per timed block (default: about 1 s worth)")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="cpu: process CPU time (use with --threads 1)")
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    import transformers
    transformers.logging.set_verbosity_error()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, fp32 CPU, "
          f"{a.clock} clock")
    res = {n: bench(n, a.rounds, a.steps, a.dropout) for n in a.configs}
    print("\nsummary (ours/HF tokens per second, training step):")
    for n, r in res.items():
        print(f"  {n:12s} ours {r['ours (AdamW fused)']:8.0f}  HF {r['HF (AdamW default)']:8.0f}  x{r['ratio']:.2f} "
              f"(best rounds x{r['best_ratio']:.2f})")


if __name__ == "__main__":
    main()
