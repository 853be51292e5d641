"""Fixtures shared by the CLI robustness tests (tests/test_fuzz_cli.py, tests/test_kill.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

WORDS = ["to", "be", "or", "not", "that", "is", "the", "question", "ROMEO", "JULIET", ":", "\n", "my", "lord"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from a second thread, which only spins when the CPU is shared; restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def word_corpus(tmp_path_factory) -> Path:
    """A small synthetic corpus of Shakespearean words (offline, seconds to train on)."""
    g = torch.Generator().manual_seed(0)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text(" ".join(WORDS[i] for i in torch.randint(len(WORDS), (3000,), generator=g).tolist()))
    return path
