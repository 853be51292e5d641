"""Fine-tune a GPT into a text classifier with LoRA, then label new text.

Chapters 7 and 7b in one page: JSON lines of {"text": ..., "label": ...}, the LM head
swapped for a classification head, low-rank adapters, chapter 7's `finetune` loop,
and the adapters merged into the weights. The demo data (no --data) is Shakespeare's
lines, question or statement, with the final '?' or '.' removed: the words must tell.
Without --checkpoint a tiny base model is pretrained here (seconds), and does a bit
better than chance; a base from examples/train_and_sample.py does better.

    python examples/lora_classifier.py
    python examples/lora_classifier.py --checkpoint out/example-char
    python examples/lora_classifier.py --data reviews.jsonl --classify "Great film"
    python examples/lora_classifier.py --quick    # a few seconds: a smoke test
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import torch

from llm_from_scratch.checkpoints import load_trained
from llm_from_scratch.commands.finetune import classify, read_jsonl
from llm_from_scratch.config import TrainConfig, preset
from llm_from_scratch.data import load_text
from llm_from_scratch.finetune import (
    classification_example,
    classify_accuracy,
    example_batches,
    finetune,
    speeches,
    split_indices,
    to_classifier,
)
from llm_from_scratch.lora import add_lora, merge_lora
from llm_from_scratch.tokenizer import CharTokenizer
from llm_from_scratch.trainer import train


def demo_data(path, per_label):
    """Lines of TinyShakespeare ending in '?' or '.', labelled, without that mark."""
    text = load_text("tinyshakespeare")
    lines = [ln.strip() for _, body in speeches(text) for ln in body.split("\n")]
    rows = []
    for end, label in (("?", "question"), (".", "statement")):
        kept = [ln for ln in lines if ln.endswith(end) and 20 <= len(ln) <= 64]
        rows += [dict(text=ln[:-1], label=label) for ln in kept[:per_label]]
    random.Random(0).shuffle(rows)  # as many of each label: chance is 50%
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def tiny_base(texts, steps, out_dir):
    """A 2-layer character model pretrained on TinyShakespeare, and its tokenizer."""
    corpus = load_text("tinyshakespeare")
    # the data's characters too, so that every text can be encoded
    tok = CharTokenizer.from_text(corpus + "".join(texts))
    cfg = preset("tiny", vocab_size=tok.n_vocab, max_seq_len=64)
    tc = TrainConfig(max_iters=steps, lr=3e-3, warmup_iters=steps // 10,
                     eval_interval=steps, eval_iters=5, out_dir=out_dir)
    return train(cfg, tc, progress=False, text=corpus, tokenizer=tok).model, tok


def main(argv=None):
    p = argparse.ArgumentParser(description="Fine-tune a LoRA classifier.")
    p.add_argument("--data", help='JSON lines of {"text": ..., "label": ...}')
    p.add_argument("--checkpoint", help="base model (default: pretrain a tiny one)")
    p.add_argument("--classify", action="append", help="a text to label (repeatable)")
    p.add_argument("--steps", type=int, default=300, help="fine-tuning steps")
    p.add_argument("--rank", type=int, default=8, help="LoRA rank r")
    p.add_argument("--quick", action="store_true", help="20 steps of everything")
    args = p.parse_args(argv)
    steps = 20 if args.quick else args.steps

    with tempfile.TemporaryDirectory() as tmp:  # the demo data, the base's checkpoint
        data = args.data or demo_data(Path(tmp) / "demo.jsonl", 1500)
        rows = read_jsonl(data, "classify")  # checked, errors name the line
        texts = [row["text"] for row in rows] + (args.classify or [])
        base, tok = (load_trained(args.checkpoint) if args.checkpoint
                     else tiny_base(texts, 20 if args.quick else 400, tmp))
    labels = sorted({row["label"] for row in rows})
    T = base.cfg.max_seq_len  # a longer text keeps its first T tokens
    examples = [classification_example(tok, row["text"], labels.index(row["label"]), T)
                for row in rows]
    # a fifth held out: accuracy on text the fine-tuning never saw
    train_ix, test_ix = split_indices(len(examples), 0.2)

    torch.manual_seed(0)  # the new head and LoRA's A matrices start random
    # every base weight frozen: only the adapters and the new head train
    model = add_lora(to_classifier(base, len(labels)), r=args.rank,
                     lora_alpha=2 * args.rank, trainable=("lm_head",))
    n = sum(w.numel() for w in model.parameters() if w.requires_grad)
    print(f"LoRA r={args.rank}: {n:,} of {model.num_params():,} parameters train")
    # pad id 0 is safe: padding comes after a text's last token, the one classified,
    # and causal attention never lets a token see what follows it
    batches = example_batches([examples[i] for i in train_ix], 32, pad_id=0)
    losses = finetune(model, batches, steps, lr=3e-3)
    print(f"fine-tuning loss {losses[0]:.3f} -> {losses[-1]:.3f} in {steps} steps")
    if test_ix:
        acc = classify_accuracy(model, [examples[i] for i in test_ix], pad_id=0)
        print(f"held-out accuracy {acc:.1%} on {len(test_ix)} examples")

    merge_lora(model)  # plain Linear layers again: same outputs, no extra cost
    todo = args.classify or [rows[i]["text"] for i in test_ix[:6]]
    for text, (label, prob) in zip(todo, classify(model, tok, labels, todo)):
        print(f"{label:>10} {prob:4.0%}  {text}")


if __name__ == "__main__":
    main()
