"""Greedy decoding speed at batch 1: ours (KV cache) vs Hugging Face `generate()` with the same weights.

    python benchmarks/decode.py                      # GPT-2 124M shape and the seed config, 256 new tokens, 3 rounds
    python benchmarks/decode.py --configs seed --new-tokens 64 --rounds 1 --threads 1

Weights are random (GPT-2's init); both models get identical weights through `save_hf` + `from_pretrained`. Runs are
interleaved (ours, HF, ours, HF, ...) so that both see the same machine load; the best round of each is reported, with
the ratio. Timings on a shared machine are noisy: compare ratios from one run.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import torch

from llm_from_scratch.checkpoint import save_hf
from llm_from_scratch.config import GPTConfig, preset
from llm_from_scratch.generation import generate
from llm_from_scratch.model import GPT

CONFIGS = {"gpt2": lambda: preset("gpt2"), "seed": lambda: GPTConfig(dropout=0.0)}


def bench(name: str, new_tokens: int, rounds: int, prompt_len: int) -> dict:
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    ours = GPT(CONFIGS[name]()).eval()
    with tempfile.TemporaryDirectory() as d:
        save_hf(ours, d)
        hf = GPT2LMHeadModel.from_pretrained(d).eval()
    hf.generation_config.eos_token_id = None                       # never stop early: exactly new_tokens tokens
    ids = torch.randint(0, ours.cfg.vocab_size, (1, prompt_len), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)

    def run_ours(n): return generate(ours, ids, n)
    def run_hf(n): return hf.generate(ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                      eos_token_id=None, pad_token_id=0)
    a, b = run_ours(8), run_hf(8)                                   # warm-up (allocations, lazy inits)
    t_ours, t_hf = [], []
    for _ in range(rounds):
        for f, ts in ((run_ours, t_ours), (run_hf, t_hf)):
            t0 = time.perf_counter()
            out = f(new_tokens)
            ts.append(time.perf_counter() - t0)
            assert out.shape == (1, prompt_len + new_tokens)
            if f is run_ours: a = out
            else: b = out
    same = (a == b).float().mean().item()
    r = dict(config=name, params=ours.num_params(), ours=new_tokens / min(t_ours), hf=new_tokens / min(t_hf), same=same)
    r["ratio"] = r["ours"] / r["hf"]
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=["gpt2", "seed"], choices=sorted(CONFIGS))
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--prompt-len", type=int, default=1, help="1 lets the seed config (256 positions) fit 256 new tokens")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    import transformers
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
          f"batch 1, greedy, {a.new_tokens} new tokens, best of {a.rounds} interleaved rounds")
    for name in a.configs:
        r = bench(name, a.new_tokens, a.rounds, a.prompt_len)
        print(f"{r['config']:5s} ({r['params'] / 1e6:5.1f}M params): ours {r['ours']:6.1f} tok/s   HF {r['hf']:6.1f} tok/s   "
              f"ratio {r['ratio']:.2f}x   (same tokens: {r['same']:.0%})", flush=True)


if __name__ == "__main__":
    main()
