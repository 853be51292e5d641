"""Every decoding strategy of chapters 6 and 6b side by side, on one prompt.

Each row is one call of `generate` with Hugging Face's option names, so the same
options work with `transformers`' `model.generate`. The model comes from a checkpoint
(`llm-from-scratch train` or examples/train_and_sample.py), or, without one, is a tiny
character model trained here in seconds: its text is poor, which makes greedy
decoding's loops and what each option does about them easy to see.

    python examples/decoding_strategies.py
    python examples/decoding_strategies.py --checkpoint out/example-char
    python examples/decoding_strategies.py --quick    # 20 training steps: a smoke test
"""

from __future__ import annotations

import argparse
import tempfile

import torch

from llm_from_scratch.checkpoints import load_trained
from llm_from_scratch.config import TrainConfig, preset
from llm_from_scratch.data import load_text
from llm_from_scratch.generation import generate
from llm_from_scratch.tokenizer import CharTokenizer, decode, encode
from llm_from_scratch.trainer import train

STRATEGIES = {  # name -> options of generate(); no options is greedy decoding
    "greedy": {},
    "sampling, temperature 1": dict(do_sample=True),
    "sampling, temperature 0.6": dict(do_sample=True, temperature=0.6),
    "top-k 10": dict(do_sample=True, top_k=10),
    "top-p 0.9": dict(do_sample=True, top_p=0.9),
    "beam search, 4 beams": dict(num_beams=4),
    # with an end token, beams finish at different lengths; the score of a finished
    # beam is sum(log p) / length**length_penalty: 0 favours short, 2 long endings
    "4 beams to a newline, length_penalty 0": dict(num_beams=4, length_penalty=0.0),
    "4 beams to a newline, length_penalty 2": dict(num_beams=4, length_penalty=2.0),
    "repetition_penalty 1.5": dict(repetition_penalty=1.5),
    "no_repeat_ngram_size 4": dict(no_repeat_ngram_size=4),
}


def tiny_model(steps):
    """A 2-layer character model trained on TinyShakespeare (a few seconds on a CPU)."""
    text = load_text("tinyshakespeare")
    tok = CharTokenizer.from_text(text)
    cfg = preset("tiny", vocab_size=tok.n_vocab)
    # a higher peak rate and a short warmup: the preset's are for 200+ steps
    # train always writes a checkpoint; this model only needs to live in memory
    with tempfile.TemporaryDirectory() as tmp:
        tc = TrainConfig(max_iters=steps, lr=3e-3, warmup_iters=steps // 10,
                         eval_interval=steps, eval_iters=5, out_dir=tmp)
        res = train(cfg, tc, progress=False, text=text, tokenizer=tok)
    return res.model, tok


def main(argv=None):
    p = argparse.ArgumentParser(description="Decoding strategies side by side.")
    p.add_argument("--checkpoint", help="a training run or checkpoint folder")
    p.add_argument("--prompt", default="ROMEO:\n", help="the text to continue")
    p.add_argument("--tokens", type=int, default=80, help="new tokens per row")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling rows")
    p.add_argument("--quick", action="store_true", help="train 20 steps, not 400")
    args = p.parse_args(argv)

    if args.checkpoint:
        model, tok = load_trained(args.checkpoint)
    else:
        model, tok = tiny_model(20 if args.quick else 400)
    ids = encode(tok, args.prompt)
    newline = encode(tok, "\n")
    device = next(model.parameters()).device
    print(f"prompt: {args.prompt!r}; ' / ' marks a newline")
    for name, options in STRATEGIES.items():
        if "newline" in name:
            options = dict(options, eos_token_id=newline)
        # every row draws from the same seed, so rows differ by their options only
        g = torch.Generator(device).manual_seed(args.seed)
        out = generate(model, ids, args.tokens, generator=g, **options)
        new = decode(tok, out[len(ids) :].tolist()).replace("\n", " / ")
        print(f"{name:40s} {new}")


if __name__ == "__main__":
    main()
