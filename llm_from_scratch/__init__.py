"""Build a GPT-2-style language model in PyTorch, chapter by chapter: a literate course and the package exported from it.

Modules:

- `llm_from_scratch.generation`: Turning next-token distributions into text: greedy decoding, sampling with temperature, top-k and top-p, beam search, repetition controls, the KV cache, and streaming, all matching Hugging Face's `generate()`.
- `llm_from_scratch.quiz`: A multiple-choice quiz widget that gives feedback in JupyterLab, Notebook 7 and Colab, and on the static course website with no kernel at all."""

__version__ = "0.1.0"
