"""The scripts in examples/ run as a reader runs them, on tiny configs (`--quick`): each `main(argv)` is called in this
process (no second torch import), and one script once more as `python examples/NAME.py` for its real exit status.
TinyShakespeare comes from the data cache, as in test_tokenizer.py; the rest is a synthetic corpus."""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# One torch thread for the whole module (shared fixture in tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def load_example(name: str) -> dict:
    """The globals of examples/NAME.py, loaded without running its `__main__` block."""
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))


def run_example(name: str, *argv: str) -> str:
    """Call examples/NAME.py's `main(argv)`; return what it printed. Any exception, SystemExit included, fails."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        load_example(name)["main"](list(argv))
    return out.getvalue()


@pytest.fixture(scope="module")
def char_run(tmp_path_factory, word_corpus, one_torch_thread) -> tuple[Path, str]:
    """train_and_sample.py on the synthetic corpus: (its run folder, what it printed); the other scripts load it."""
    out_dir = tmp_path_factory.mktemp("examples") / "run"
    printed = run_example("train_and_sample", "--quick", "--text", str(word_corpus), "--out", str(out_dir),
                          "--prompt", "to be", "--tokens", "40")
    return out_dir, printed


def test_train_and_sample_on_a_text_file(char_run):
    out_dir, printed = char_run
    assert "trained 50 steps: train loss" in printed
    assert "--- sample ---\nto be" in printed
    assert (out_dir / "checkpoint").is_dir()


def test_train_and_sample_defaults_to_tinyshakespeare(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = run_example("train_and_sample", "--quick", "--steps", "10", "--tokens", "20")
    assert "trained 10 steps" in printed and "--- sample ---\nFirst Citizen:\n" in printed
    assert (tmp_path / "out" / "example-char" / "checkpoint").is_dir()


def test_decoding_strategies_with_a_model_trained_in_the_script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = run_example("decoding_strategies", "--quick", "--tokens", "12")
    names = load_example("decoding_strategies")["STRATEGIES"]
    rows = [line for line in printed.splitlines() if line[:40].rstrip() in names]
    assert len(rows) == 10 and rows[0].startswith("greedy ")
    assert not list(tmp_path.iterdir())  # the tiny model's checkpoint went to a temporary folder


def test_decoding_strategies_from_a_checkpoint_as_a_script(char_run, tmp_path):
    out_dir, _ = char_run
    cmd = [sys.executable, str(EXAMPLES / "decoding_strategies.py"), "--checkpoint", str(out_dir),
           "--prompt", "to be", "--tokens", "8"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # as one_torch_thread, in the child
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "prompt: 'to be'" in p.stdout and "no_repeat_ngram_size 4" in p.stdout


def test_lora_classifier_on_the_demo_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = run_example("lora_classifier", "--quick")
    assert "LoRA r=8:" in printed and "fine-tuning loss" in printed and "held-out accuracy" in printed
    labelled = [line.split()[0] for line in printed.splitlines()[-6:]]
    assert set(labelled) <= {"question", "statement"}


def test_lora_classifier_on_a_jsonl_file_from_a_checkpoint(char_run, tmp_path, monkeypatch):
    out_dir, _ = char_run
    monkeypatch.chdir(tmp_path)
    rows = [{"text": f"my lord {w} to be", "label": "lord"} for w in ("is", "or", "not", "the")] * 5
    rows += [{"text": f"{w} question that is", "label": "other"} for w in ("be", "or", "to", "my")] * 5
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    printed = run_example("lora_classifier", "--checkpoint", str(out_dir), "--data", str(data), "--steps", "5",
                          "--rank", "2", "--classify", "my lord", "--classify", "the question")
    lines = printed.splitlines()
    assert "LoRA r=2:" in printed and "held-out accuracy" in printed
    assert lines[-2].endswith("  my lord") and lines[-1].endswith("  the question")
    assert {line.split()[0] for line in lines[-2:]} <= {"lord", "other"}
