"""Build a GPT-2-style language model in PyTorch, chapter by chapter: a literate course and the package exported from it.

Modules:

- `llm_from_scratch.beam`: Keeping several partial sequences instead of one: beam search with finished hypotheses, a length penalty and `early_stopping`, token for token as Hugging Face's `generate()` does it.
- `llm_from_scratch.diagrams`: The course's concept diagrams, drawn by code in one visual style, and an interactive embedding map that works on the static website.
- `llm_from_scratch.fast`: Where the time goes in training and decoding, a cross-entropy that never holds all the logits, activation checkpointing, weight-only int8 quantization and exact speculative decoding, each measured against the plain path and Hugging Face on this machine.
- `llm_from_scratch.finetune`: Make a pretrained GPT do your task: a classification head, instruction tuning with a loss mask, LoRA adapters written from scratch, what each costs the base model, and the `llm-from-scratch finetune` command.
- `llm_from_scratch.generation`: Turning next-token distributions into text: greedy decoding, sampling with temperature, top-k and top-p, beam search, repetition controls, the KV cache, and streaming, all matching Hugging Face's `generate()`.
- `llm_from_scratch.generation_config`: Every decoding option in one frozen dataclass, with the field names and meaning of Hugging Face's `GenerationConfig`, checked once when it is built.
- `llm_from_scratch.gpt2_files`: GPT-2's `vocab.bpe` and `encoder.json` without a download: found, verified by SHA-256, read into merges and a token table, and turned into `tiktoken`'s GPT-2 encoding.
- `llm_from_scratch.quiz`: A multiple-choice quiz widget that gives feedback in JupyterLab, Notebook 7 and Colab, and on the static course website with no kernel at all."""

__version__ = "0.1.0"
