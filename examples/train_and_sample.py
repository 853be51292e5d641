"""Train a small character-level GPT on a text file, then sample from it.

Chapters 1, 5 and 6 in one page: a character tokenizer, `train` (AdamW, warmup and
cosine decay, a checkpoint in --out) and `generate` with sampling. The default is
nanoGPT's CPU run on TinyShakespeare: a few minutes on a laptop, seconds on a GPU.

    python examples/train_and_sample.py
    python examples/train_and_sample.py --text my_book.txt --steps 500 --prompt "The"
    python examples/train_and_sample.py --quick    # a tiny model in seconds
"""

from __future__ import annotations

import argparse
import sys

import torch

from llm_from_scratch.config import TrainConfig, preset, preset_fields
from llm_from_scratch.data import load_text
from llm_from_scratch.generation import generate
from llm_from_scratch.tokenizer import CharTokenizer, decode, encode
from llm_from_scratch.trainer import train


def main(argv=None):
    p = argparse.ArgumentParser(description="Train a character-level GPT and sample.")
    p.add_argument("--text", default="tinyshakespeare", help="corpus name or file")
    p.add_argument("--steps", type=int, help="optimizer steps (2000; --quick: 50)")
    p.add_argument("--prompt", help="start of the sample (default: the first line)")
    p.add_argument("--tokens", type=int, default=300, help="characters to sample")
    p.add_argument("--out", default="out/example-char", help="checkpoint folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample")
    p.add_argument("--quick", action="store_true", help="tiny model, 50 steps")
    args = p.parse_args(argv)

    text = load_text(args.text)
    tok = CharTokenizer.from_text(text)  # one id per distinct character of the text
    # the preset's vocab_size (65) is TinyShakespeare's; other texts have their own
    size = "tiny" if args.quick else "char"
    cfg = preset(size, vocab_size=tok.n_vocab)
    # the preset's training fields (the tiny one evaluates often), then ours; `data`
    # only names the text in the checkpoint's record: the text itself is passed in
    fields = preset_fields(size, TrainConfig)
    fields.update(out_dir=args.out, data=args.text,
                  max_iters=args.steps or (50 if args.quick else 2000))
    tc = TrainConfig(**fields)
    prompt = args.prompt or text[: text.find("\n") + 1] or text[:1]
    ids = encode(tok, prompt)  # a character the text lacks fails now, not after hours

    # overwrite: each run starts afresh in --out (a bar on a terminal, lines in a log)
    res = train(cfg, tc, overwrite=True, progress=sys.stderr.isatty(),
                text=text, tokenizer=tok)
    print(f"trained {res.step} steps: train loss {res.train_loss:.3f}, "
          f"val loss {res.val_loss:.3f}; checkpoint in {res.ckpt_dir}")

    # temperature 0.8 and top-k 20 trade a little variety for fewer misspellings;
    # the generator lives on the model's device and makes the sample repeatable
    device = next(res.model.parameters()).device
    g = torch.Generator(device).manual_seed(args.seed)
    out = generate(res.model, ids, args.tokens, do_sample=True, temperature=0.8,
                   top_k=20, generator=g)
    print(f"--- sample ---\n{decode(tok, out.tolist())}\n---")


if __name__ == "__main__":
    main()
