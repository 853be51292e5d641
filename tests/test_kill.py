"""The kill drill: a small training run is killed (SIGKILL) at the worst moments, including in the middle of a
checkpoint write, between the two renames of the checkpoint swap and in the middle of a metrics line, and interrupted
once with Ctrl-C (SIGINT); each time it is resumed with `--resume`. The final weights, optimizer state and metrics must
be bit-identical to an uninterrupted run's.

The moments are reached deterministically through the test hook `LLM_FROM_SCRATCH_TEST_PAUSE=POINT@STEP`: when the run
reaches POINT at STEP it prints "paused at POINT" on stderr and waits, and the test kills it there. Points: `step` (after
an optimizer step), `metrics-write` (half a metrics line written), `checkpoint-write` (weights written into the
temporary directory, state file not yet), `checkpoint-swap` (between `checkpoint -> .checkpoint.old` and
`.checkpoint.tmp -> checkpoint`)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from llm_from_scratch.commands.main import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARGS = ["--preset", "tiny", "--max-iters", "12", "--ckpt-interval", "3", "--eval-interval", "4", "--eval-iters", "2",
        "--log-interval", "1", "--dropout", "0.1", "--no-progress", "--sample-tokens", "0"]


def step_of(ckpt: Path) -> int:
    return json.loads((ckpt / "trainer_state.json").read_text())["step"]


def no_speed(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{k: v for k, v in r.items() if k != "tokens_per_sec"} for r in rows]


class Run:
    """`llm-from-scratch train ...` in a subprocess that pauses at `pause` (POINT@STEP); read its stderr until then."""

    def __init__(self, argv: list[str], pause: str | None = None):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        env.pop("LLM_FROM_SCRATCH_TEST_PAUSE", None)
        if pause:
            env["LLM_FROM_SCRATCH_TEST_PAUSE"] = pause
        self.p = subprocess.Popen([sys.executable, "-c", "import sys; from llm_from_scratch.commands.main import main; "
                                   "sys.exit(main())", "train", *argv],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.watchdog = threading.Timer(240, self.p.kill)        # never hang the test suite
        self.watchdog.start()
        self.err: list[str] = []

    def wait_paused(self) -> None:
        for line in self.p.stderr:
            self.err.append(line)
            if line.startswith("paused at"):
                return
        raise AssertionError(f"exited ({self.p.wait()}) without pausing:\n{''.join(self.err)}{self.p.stdout.read()}")

    def signal(self, sig: int) -> tuple[int, str, str]:
        self.p.send_signal(sig)
        return self.finish()

    def finish(self) -> tuple[int, str, str]:
        out, err = self.p.communicate(timeout=240)
        self.watchdog.cancel()
        return self.p.returncode, out, "".join(self.err) + err


def test_kill_drill_resumes_bit_exact(word_corpus, tmp_path, capsys):
    corpus = word_corpus
    ref, out_dir = tmp_path / "ref", tmp_path / "run"
    assert main(["train", *ARGS, "--data", str(corpus), "--out-dir", str(ref)]) == 0     # uninterrupted, in-process
    capsys.readouterr()
    base = [*ARGS, "--data", str(corpus), "--out-dir", str(out_dir)]
    resume = ["--resume", "--out-dir", str(out_dir), "--no-progress", "--sample-tokens", "0"]
    ckpt, tmp, old = out_dir / "checkpoint", out_dir / ".checkpoint.tmp", out_dir / ".checkpoint.old"
    lost = []

    # 1. killed between checkpoints (last checkpoint: step 3), after step 5
    r = Run(base, "step@5")
    r.wait_paused()
    r.signal(signal.SIGKILL)
    assert step_of(ckpt) == 3
    lost.append(5 - 3)

    # 2. killed in the middle of writing the step-6 checkpoint: the step-3 one is untouched, the half-written one unused
    r = Run(resume, "checkpoint-write@6")
    r.wait_paused()
    r.signal(signal.SIGKILL)
    assert step_of(ckpt) == 3 and tmp.is_dir() and not (tmp / "trainer_state.json").exists()
    lost.append(6 - 3)

    # 3. killed between the two renames: `checkpoint` is gone, `.checkpoint.tmp` holds a complete step-6 checkpoint
    r = Run(resume, "checkpoint-swap@6")
    r.wait_paused()
    r.signal(signal.SIGKILL)
    assert not ckpt.exists() and old.is_dir() and step_of(tmp) == 6
    # `generate` finds the newest complete checkpoint as things are, without a resume first
    assert main(["generate", "--checkpoint", str(ckpt), "--prompt", "to be", "--max-new-tokens", "5", "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("to be")
    assert main(["generate", "--checkpoint", str(out_dir), "--prompt", "to be", "--max-new-tokens", "5"]) == 0
    capsys.readouterr()
    lost.append(0)

    # 4. resumed from the step-6 checkpoint it recovers, then killed half-way through writing the step-8 metrics line
    r = Run(resume, "metrics-write@8")
    r.wait_paused()
    status, out, err = r.signal(signal.SIGKILL)
    assert re.search(r"step 6\b", out + err), out + err                 # it resumed from the recovered checkpoint
    assert step_of(ckpt) == 6 and not tmp.exists() and not old.exists()
    assert not (out_dir / "metrics.jsonl").read_text().endswith("\n")  # a torn last line
    lost.append(8 - 6)

    # 5. the torn line is dropped (and said so); Ctrl-C after step 10 writes a checkpoint there and prints the resume command
    r = Run(resume, "step@10")
    r.wait_paused()
    status, out, err = r.signal(signal.SIGINT)
    assert re.search(r"torn|incomplete", out + err, flags=re.I), out + err
    assert status == 130, (status, out, err)
    assert step_of(ckpt) == 10
    assert re.search(r"--resume\b.*--out-dir " + re.escape(str(out_dir)), out + err), out + err
    assert "Traceback" not in out + err
    lost.append(0)

    # 6. the last resume finishes: bit-identical weights, optimizer state and metrics
    status, out, err = Run(resume).finish()
    assert status == 0, err
    for f in ("model.safetensors", "optimizer.safetensors"):
        assert (ckpt / f).read_bytes() == (ref / "checkpoint" / f).read_bytes(), f
    assert no_speed(out_dir / "metrics.jsonl") == no_speed(ref / "metrics.jsonl")
    assert sorted(p.name for p in out_dir.iterdir()) == ["checkpoint", "metrics.jsonl"]
    print(f"kill drill: 5 interruptions (4 SIGKILL, 1 SIGINT), steps lost {lost} (total {sum(lost)}), bit-exact")
