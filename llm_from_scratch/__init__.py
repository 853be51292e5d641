"""Build a GPT-2-style language model in PyTorch, chapter by chapter: a literate course and the package exported from it.

Modules:

- `llm_from_scratch.attention`: Scaled dot-product attention, the causal mask and multi-head self-attention: the one layer in which tokens look at each other.
- `llm_from_scratch.beam`: Keeping several partial sequences instead of one: beam search with finished hypotheses, a length penalty and `early_stopping`, token for token as Hugging Face's `generate()` does it.
- `llm_from_scratch.checkpoints`: Save and load our models and training checkpoints safely: atomic writes, SHA-256 checks, crash recovery.
- `llm_from_scratch.commands.export`: `llm-from-scratch export`: a trained checkpoint as an ONNX graph, checked against PyTorch, for ONNX Runtime on a server or in a reader's browser.
- `llm_from_scratch.commands.finetune`: Fine-tuning from files: JSON-lines data checked line by line, chapter 5's training loop on fine-tuning examples, and a classifier's labels from the command line.
- `llm_from_scratch.commands.flags`: One `--field-name` flag per config field, typed by its annotation and documented by its own description; errors in the words the user typed.
- `llm_from_scratch.commands.generate`: `llm-from-scratch generate`: a checkpoint, a fine-tuned checkpoint or GPT-2's weights, and every decoding option of chapter 6 as a flag.
- `llm_from_scratch.commands.main`: `llm-from-scratch`: one command with a subcommand per job: `train`, `generate`, `finetune`, `classify`, `data`, `export`.
- `llm_from_scratch.commands.train`: `llm-from-scratch train`: settings from a preset, a config file and flags, resolved once and checked before training; a sample at the end.
- `llm_from_scratch.config`: Every setting of the course in validated dataclasses (`GPTConfig`, `TrainConfig`, `GenerationConfig`) with one default each, the presets, config files; the errors meant for people; quick mode; devices, precision and memory.
- `llm_from_scratch.data`: Download a corpus once, verify it, cache it; split it; draw batches of (input, target) windows as a pure function of the step; find GPT-2's tokenizer files offline.
- `llm_from_scratch.fast`: Where the time goes in training and decoding, the roofline that says which limit applies, a cross-entropy that never holds all the logits, activation checkpointing and mixed precision, each measured against the plain path and Hugging Face on this machine.
- `llm_from_scratch.fast_decoding`: A lean greedy decoder raced against the weight-streaming limit, weight-only int8 quantization and exact speculative decoding, then batching, each measured against Hugging Face on this machine.
- `llm_from_scratch.files`: Atomic writes, fsync, and readers that turn a missing or corrupt file into one clear line; GPT-2's weights from the Hugging Face Hub.
- `llm_from_scratch.finetune`: Make a pretrained GPT do your task: a classification head, instruction tuning with a loss mask, and what each costs the base model.
- `llm_from_scratch.generation`: Turning next-token distributions into text: greedy decoding, sampling with temperature, top-k and top-p, beam search, repetition controls, the KV cache, and streaming, all matching Hugging Face's `generate()`.
- `llm_from_scratch.lora`: Fine-tune a small low-rank update instead of every weight: LoRA written from scratch, merged back into the weights or saved on its own, what it costs the base model, and the `llm-from-scratch finetune` command.
- `llm_from_scratch.model`: GPT-2 assembled: embeddings, a stack of blocks, a tied output head; its loss and size; input checks and eval mode.
- `llm_from_scratch.modern`: RMSNorm, rotary position embeddings, SwiGLU, grouped-query attention and QK-norm, added to chapter 4's GPT one at a time and each measured; the result equals Hugging Face's Llama and Qwen3 logit for logit.
- `llm_from_scratch.teaching.diagrams`: The course's concept diagrams, drawn by code in one visual style.
- `llm_from_scratch.teaching.drawing`: One size and one set of fonts for every figure of the course, legible in the website's article column; the diagram style: a canvas measured in inches, boxes coloured by what they hold, arrows, grids of cells, notes, and a check that every label stays legible.
- `llm_from_scratch.teaching.explorers`: Interactive explorers for attention maps and samples that also work on the static website.
- `llm_from_scratch.teaching.maps`: Pictures of what a model computes: attention heatmaps drawn with matplotlib, and an interactive embedding map that works on the static website.
- `llm_from_scratch.teaching.quiz`: A multiple-choice quiz widget that gives feedback in JupyterLab, Notebook 7 and Colab, and on the static course website with no kernel at all.
- `llm_from_scratch.tokenizer`: Text to ids and back: characters, bytes, a byte-level BPE trained from scratch, and GPT-2's own tokenizer.
- `llm_from_scratch.trainer`: Train the GPT: AdamW, LR schedule, gradient accumulation, exact-resume checkpoints and DDP.
- `llm_from_scratch.training_run`: What chapter 5's loop needs around it: the run set up and checked before its first step, the optimizer state restored on resume, the metrics it keeps, and its safety (signals, several processes, out-of-memory messages, the kill drill).
- `llm_from_scratch.transformer`: LayerNorm, the GELU activation, the position-wise MLP and residual connections, assembled into GPT-2's pre-norm block."""

__version__ = "0.3.0"
