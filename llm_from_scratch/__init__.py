"""Build a GPT-2-style language model in PyTorch, chapter by chapter: a literate course and the package exported from it.

Modules:

- `llm_from_scratch.quiz`: A multiple-choice quiz widget that gives feedback in JupyterLab, Notebook 7 and Colab, and on the static course website with no kernel at all."""

__version__ = "0.1.0"
