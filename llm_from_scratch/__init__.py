"""Build a GPT-2-style language model in PyTorch, chapter by chapter: a literate course and the package exported from it.

Modules:

- `llm_from_scratch.diagrams`: The course's concept diagrams, drawn by code in one visual style, and an interactive embedding map that works on the static website.
- `llm_from_scratch.fast`: Where the time goes in training and decoding, the roofline that says which limit applies, a cross-entropy that never holds all the logits, activation checkpointing and mixed precision, each measured against the plain path and Hugging Face on this machine.
- `llm_from_scratch.finetune`: Make a pretrained GPT do your task: a classification head, instruction tuning with a loss mask, LoRA adapters written from scratch, what each costs the base model, and the `llm-from-scratch finetune` command.
- `llm_from_scratch.generation`: Turning next-token distributions into text: greedy decoding, sampling with temperature, top-k and top-p, beam search, repetition controls, the KV cache, and streaming, all matching Hugging Face's `generate()`.
- `llm_from_scratch.inference`: A lean greedy decoder raced against the weight-streaming limit, weight-only int8 quantization and exact speculative decoding, then batching, each measured against Hugging Face on this machine.
- `llm_from_scratch.quiz`: A multiple-choice quiz widget that gives feedback in JupyterLab, Notebook 7 and Colab, and on the static course website with no kernel at all."""

__version__ = "0.1.0"
