"""Greedy decoding speed at batch 1: ours (KV cache) vs Hugging Face `generate()` with the same weights.

    python benchmarks/decode.py                      # GPT-2 124M shape and the seed config, 256 new tokens, 3 rounds
    python benchmarks/decode.py --configs seed --new-tokens 64 --rounds 1 --threads 1
    python benchmarks/decode.py --configs seed --compile   # adds greedy_decode with torch.compile'd blocks
    python benchmarks/decode.py --configs spec       # chapter 8b: speculative decoding of a trained pair vs HF assisted

Rows per config: chapter 6's `generate` (with chapter 8b's `streaming_head`, as the generate command runs it); chapter 8b's `greedy_decode` in fp32 and on the int8 copy
(`quantize_int8`); HF `generate()`; and the fp32 weight-streaming limit (one matrix-vector product over as many fp32
weights as the model has, timed in the same rounds). The `spec` config trains chapter 8b's character-level target
(4 blocks, width 128) and draft (1 block, width 64) on TinyShakespeare with chapter 5's trainer (`--train-iters`), then
times greedy decoding of 122 characters: our plain `greedy_decode`, our `speculative_decode` at several k, HF
`generate()` and HF assisted generation (`assistant_model=`) with the same draft; all must give the same tokens.

Weights are random (GPT-2's init); both models get identical weights through `save_hf` + `from_pretrained`. Runs are
interleaved (ours, HF, ours, HF, ...) so that both see the same machine load; the best round of each is reported, with
the ratio. Timings on a shared machine are noisy: compare ratios from one run.
"""
from __future__ import annotations

import argparse
import copy
import tempfile
import time

import torch

from llm_from_scratch.config import GPTConfig, preset
from llm_from_scratch.fast_decoding import (
    greedy_decode,
    model_bytes,
    quantize_int8,
    speculative_decode,
    streaming_head,
)
from llm_from_scratch.generation import generate
from llm_from_scratch.model import GPT

CONFIGS = {"gpt2": lambda: preset("gpt2"), "seed": lambda: GPTConfig(dropout=0.0), "spec": None}


class _Stack(torch.nn.Module):
    """All blocks as one module, so that torch.compile sees (and fuses) the whole stack."""

    def __init__(self, blocks: torch.nn.ModuleList):
        super().__init__()
        self.blocks = blocks

    def forward(self, x: torch.Tensor, cache) -> torch.Tensor:
        for b in self.blocks:
            x = b(x, cache)
        return x


def compiled(model: GPT) -> GPT:
    """A copy of `model` whose blocks run through torch.compile (inductor, C++ on CPU), for `greedy_decode`."""
    m = copy.deepcopy(model)
    m.h = torch.nn.ModuleList([torch.compile(_Stack(m.h), dynamic=True)])
    return m


def bench(name: str, new_tokens: int, rounds: int, prompt_len: int, compile_: bool = False) -> dict:
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    ours = GPT(CONFIGS[name]()).eval()
    with tempfile.TemporaryDirectory() as d:
        ours.save_hf(d)
        hf = GPT2LMHeadModel.from_pretrained(d).eval()
    hf.generation_config.eos_token_id = None                       # never stop early: exactly new_tokens tokens
    ids = torch.randint(0, ours.cfg.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)

    q8 = quantize_int8(ours)
    streaming = streaming_head(copy.deepcopy(ours))                # generate's head as `llm-from-scratch generate` runs it
    W, v = torch.randn(model_bytes(ours) // 4 // ours.cfg.d_model, ours.cfg.d_model), torch.randn(ours.cfg.d_model)
    runs = {
        "ours generate (ch. 6)": lambda n: generate(streaming, ids, n),
        "ours greedy_decode fp32": lambda n: greedy_decode(ours, ids, n),
        "ours greedy_decode int8": lambda n: greedy_decode(q8, ids, n),
        "HF generate()": lambda n: hf.generate(ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
                                               do_sample=False, eos_token_id=None, pad_token_id=0),
        "fp32 limit": lambda n: [torch.mv(W, v) for _ in range(n)],
    }
    if compile_:
        oc = compiled(ours)
        t0 = time.perf_counter()
        greedy_decode(oc, ids, 8)
        print(f"torch.compile of the blocks: {time.perf_counter() - t0:.0f} s (first call)", flush=True)
        runs["ours greedy_decode fp32 compiled"] = lambda n: greedy_decode(oc, ids, n)
    outs = {k: f(8) for k, f in runs.items()}                      # warm-up (allocations, lazy inits)
    best = {k: 0.0 for k in runs}
    for r in range(rounds):
        for k in (runs if r % 2 == 0 else list(runs)[::-1]):
            t0 = time.perf_counter()
            out = runs[k](new_tokens)
            best[k] = max(best[k], new_tokens / (time.perf_counter() - t0))
            if k != "fp32 limit":
                assert out.shape == (1, prompt_len + new_tokens)
                outs[k] = out
    ref = outs["HF generate()"]
    same = {k: (o == ref).float().mean().item() for k, o in outs.items() if k != "fp32 limit"}
    assert same["ours greedy_decode fp32"] == 1.0 and same["ours generate (ch. 6)"] == 1.0, same
    assert same.get("ours greedy_decode fp32 compiled", 1.0) == 1.0, same
    return dict(config=name, params=ours.num_params(), best=best, same=same,
                ours=best["ours generate (ch. 6)"], hf=best["HF generate()"])


def bench_spec(new_tokens: int, rounds: int, train_iters: int, ks: list[int]) -> None:
    import tempfile

    from llm_from_scratch.config import TrainConfig
    from llm_from_scratch.tokenizer import encode
    from llm_from_scratch.trainer import train
    def fit(cfg):
        tc = TrainConfig(out_dir=tempfile.mkdtemp(), max_iters=train_iters, warmup_iters=min(50, train_iters // 4),
                         eval_interval=train_iters, eval_iters=20, ckpt_interval=train_iters, log_interval=train_iters)
        return train(cfg, tc, progress=False, print_fn=lambda s: None)
    t0 = time.perf_counter()
    rt = fit(preset("char", max_seq_len=128))
    rd = fit(preset("char", max_seq_len=128, n_layers=1, n_heads=2, d_model=64))
    target, draft = rt.model.eval(), rd.model.eval()
    print(f"spec: trained target ({target.num_params():,} params, val loss {rt.val_loss:.3f}) and draft "
          f"({draft.num_params():,} params, val loss {rd.val_loss:.3f}) in {time.perf_counter() - t0:.0f} s", flush=True)
    ids = torch.tensor([encode(rt.tokenizer, "ROMEO:")])
    n = min(new_tokens, target.cfg.max_seq_len - ids.size(1))
    hf_t, hf_d = target.to_hf(), draft.to_hf()
    kw = dict(attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=n, min_new_tokens=n,
              eos_token_id=None, pad_token_id=0)
    runs = {"HF generate()": lambda: hf_t.generate(ids, **kw),
            "HF assisted": lambda: hf_t.generate(ids, assistant_model=hf_d, **kw),
            "ours greedy_decode": lambda: greedy_decode(target, ids, n)}
    runs |= {f"ours speculative k={k}": (lambda k=k: speculative_decode(target, draft, ids, n, k=k)[0]) for k in ks}
    outs = {k: f() for k, f in runs.items()}
    assert all(torch.equal(o, outs["HF generate()"]) for o in outs.values()), "tokens differ"
    best = {k: 0.0 for k in runs}
    for r in range(rounds):
        for k in (runs if r % 2 == 0 else list(runs)[::-1]):
            t0 = time.perf_counter()
            runs[k]()
            best[k] = max(best[k], n / (time.perf_counter() - t0))
    for k, v in best.items():
        extra = ""
        if k.startswith("ours speculative"):
            st = speculative_decode(target, draft, ids, n, k=int(k.split("=")[1]))[1]
            extra = f"   acceptance {st['accepted'] / st['proposed']:.0%}, {n / st['rounds']:.2f} tokens per target pass"
        print(f"  {k:24s} {v:7.1f} tok/s   x{v / best['HF generate()']:.2f} HF generate()   "
              f"x{v / best['HF assisted']:.2f} HF assisted{extra}", flush=True)
    print(f"  (all {len(runs)} produced the same {n} tokens)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=["gpt2", "seed"], choices=sorted(CONFIGS))
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--prompt-len", type=int, default=1, help="1 lets the seed config (256 positions) fit 256 new tokens")
    p.add_argument("--compile", action="store_true", help="add a row: greedy_decode with torch.compile'd blocks")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--train-iters", type=int, default=600, help="spec: training steps of target and draft")
    p.add_argument("--ks", type=int, nargs="+", default=[2, 3, 4, 6, 8], help="spec: draft lengths to time")
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    import os

    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
          f"batch 1, greedy, {a.new_tokens} new tokens, best of {a.rounds} interleaved rounds; "
          f"load average {os.getloadavg()[0]:.1f}")
    for name in a.configs:
        if name == "spec":
            bench_spec(a.new_tokens, a.rounds, a.train_iters, a.ks)
            continue
        r = bench(name, a.new_tokens, a.rounds, a.prompt_len, a.compile)
        lim = r["best"]["fp32 limit"]
        print(f"{r['config']:5s} ({r['params'] / 1e6:5.1f}M params):")
        for k, v in r["best"].items():
            tail = f"   same tokens as HF: {r['same'][k]:.0%}" if k in r["same"] else ""
            print(f"  {k:24s} {v:7.1f} tok/s   {v / lim:5.0%} of the fp32 limit   x{v / r['hf']:.2f} HF{tail}", flush=True)


if __name__ == "__main__":
    main()
