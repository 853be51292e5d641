"""Build a GPT-2-style language model in PyTorch, chapter by chapter: a literate course and the package exported from it.

Modules:

- `llm_from_scratch.beam`: Keeping several partial sequences instead of one: beam search with finished hypotheses, a length penalty and `early_stopping`, token for token as Hugging Face's `generate()` does it.
- `llm_from_scratch.drawing`: The course's diagram style: a canvas measured in inches, boxes coloured by what they hold, arrows, grids of cells, notes, and a check that every label stays legible.
- `llm_from_scratch.fast`: Where the time goes in training and decoding, the roofline that says which limit applies, a cross-entropy that never holds all the logits, activation checkpointing and mixed precision, each measured against the plain path and Hugging Face on this machine.
- `llm_from_scratch.finetune`: Make a pretrained GPT do your task: a classification head, instruction tuning with a loss mask, and what each costs the base model.
- `llm_from_scratch.finetune_run`: The engine of `llm-from-scratch finetune` and `classify`: JSON-lines data checked line by line, fine-tuned checkpoints built and loaded, and chapter 5's training loop on fine-tuning examples.
- `llm_from_scratch.generation`: Turning next-token distributions into text: greedy decoding, sampling with temperature, top-k and top-p, beam search, repetition controls, the KV cache, and streaming, all matching Hugging Face's `generate()`.
- `llm_from_scratch.generation_config`: Every decoding option in one frozen dataclass, with the field names and meaning of Hugging Face's `GenerationConfig`, checked once when it is built.
- `llm_from_scratch.gpt2_files`: GPT-2's `vocab.bpe` and `encoder.json` without a download: found, verified by SHA-256, read into merges and a token table, and turned into `tiktoken`'s GPT-2 encoding.
- `llm_from_scratch.inference`: A lean greedy decoder raced against the weight-streaming limit, weight-only int8 quantization and exact speculative decoding, then batching, each measured against Hugging Face on this machine.
- `llm_from_scratch.lora`: Fine-tune a small low-rank update instead of every weight: LoRA written from scratch, merged back into the weights or saved on its own, what it costs the base model, and the `llm-from-scratch finetune` command.
- `llm_from_scratch.maps`: Pictures of what a model computes: attention heatmaps drawn with matplotlib, and an interactive embedding map that works on the static website.
- `llm_from_scratch.quiz`: A multiple-choice quiz widget that gives feedback in JupyterLab, Notebook 7 and Colab, and on the static course website with no kernel at all."""

__version__ = "0.1.0"
