"""Bad input at the command line: every case gets one line on stderr naming the problem in the user's terms (the flag
they typed), exit status 2, no traceback, and a pre-existing good checkpoint stays byte-identical.

Every command is covered: `train`, `generate`, `finetune`, `classify` and `data`. Black-box: the cases go through
`llm_from_scratch.commands.main.main(argv)` in-process (fast), and a handful through the real
console script in a subprocess. Each case works on its own copy of one small trained run, so a case that damages files
cannot affect the next, and the copy's checkpoint is compared byte for byte with the original afterwards."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from llm_from_scratch.commands.main import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = ["--no-progress", "--sample-tokens", "0"]
TRAIN = ["--preset", "tiny", "--max-iters", "4", "--eval-iters", "1", "--eval-interval", "2", "--log-interval", "1"]


@pytest.fixture(scope="module")
def world(tmp_path_factory, word_corpus) -> dict[str, Path]:
    """A corpus, a good character-level run (checkpoint at step 4) and a GPT-2-tokenizer checkpoint, made by the CLI."""
    root, corpus = tmp_path_factory.mktemp("fuzz"), word_corpus
    good = root / "good"
    assert main(["train", *TRAIN, "--data", str(corpus), "--out-dir", str(good), *FAST]) == 0
    bpe = root / "bpe"
    assert main(["train", "--preset", "tiny", "--tokenizer", "gpt2", "--max-iters", "1", "--eval-iters", "1",
                 "--data", str(corpus), "--out-dir", str(bpe), *FAST]) == 0
    words = corpus.read_text().split()
    rows = [{"text": " ".join(words[i:i + 6]), "label": "even" if i % 2 == 0 else "odd"} for i in range(0, 600, 3)]
    cls = root / "cls.jsonl"
    cls.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sft = root / "sft.jsonl"
    sft.write_text("".join(json.dumps({"instruction": "Repeat.", "input": r["text"], "response": r["text"]}) + "\n"
                           for r in rows))
    ft = root / "ft"                                                # a small classifier, fine-tuned with LoRA
    assert main(["finetune", "--checkpoint", str(good / "checkpoint"), "--task", "classify", "--data", str(cls),
                 "--lora-rank", "2", "--max-iters", "2", "--batch-size", "4", "--eval-interval", "2",
                 "--out-dir", str(ft), "--no-progress"]) == 0
    return dict(corpus=corpus, good=good, bpe=bpe / "checkpoint", cls=cls, sft=sft, ft=ft / "checkpoint")


def snapshot(d: Path) -> dict[str, bytes]:
    """Every file under `d` (relative path -> bytes), hidden siblings included."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _flip(p: Path):
    b = bytearray(p.read_bytes())
    b[len(b) - 20] ^= 0xFF
    p.write_bytes(bytes(b))


def _read_only_dir(tmp: Path) -> str:
    """A directory nobody may write to. root ignores permission bits, so root gets a path on a file system that
    refuses new directories (/sys)."""
    if os.geteuid() != 0:
        d = tmp / "ro"
        d.mkdir()
        d.chmod(0o555)
        return str(d / "out")
    if not Path("/sys").is_dir():
        pytest.skip("running as root without /sys: no read-only place to point --out-dir at")
    return "/sys/llm-from-scratch-test/out"


# setup(tmp, run) runs before the case: `run` is the case's copy of the good run, `tmp` a scratch folder.
SETUPS = {
    "binary": lambda tmp, run: (tmp / "bin.yaml").write_bytes(bytes(range(256)) * 4),
    "binary-txt": lambda tmp, run: (tmp / "bin.txt").write_bytes(b"\xff\xfe\x00\x81" * 500),
    "empty-json": lambda tmp, run: (tmp / "empty.json").write_text(""),
    "empty-txt": lambda tmp, run: (tmp / "empty.txt").write_text(""),
    "short-txt": lambda tmp, run: (tmp / "short.txt").write_text("hello world"),
    "txt-config": lambda tmp, run: (tmp / "c.txt").write_text("lr: 0.1\n"),
    "list-yaml": lambda tmp, run: (tmp / "list.yaml").write_text("- 1\n- 2\n"),
    "inf-yaml": lambda tmp, run: (tmp / "inf.yaml").write_text("preset: tiny\nlr: .inf\n"),
    "str-yaml": lambda tmp, run: (tmp / "str.yaml").write_text("preset: tiny\nn_layers: two\n"),
    "a-file": lambda tmp, run: (tmp / "a-file").write_text("not a directory\n"),
    "empty-dir": lambda tmp, run: (tmp / "empty-dir").mkdir(),
    "flip-model": lambda tmp, run: _flip(run / "checkpoint" / "model.safetensors"),
    "cut-optimizer": lambda tmp, run: (run / "checkpoint" / "optimizer.safetensors").write_bytes(
        (run / "checkpoint" / "optimizer.safetensors").read_bytes()[:100]),
    "bad-state": lambda tmp, run: (run / "checkpoint" / "trainer_state.json").write_text("{not json"),
    "bad-metrics": lambda tmp, run: (run / "metrics.jsonl").write_text(
        '{"step": 0, "val_loss": 3.0}\n{"step": 1, "train_lo\n{"step": 2, "train_loss": 2.9}\n'),
    "bad-tokenizer": lambda tmp, run: (run / "checkpoint" / "tokenizer.json").write_text("{not json"),
    "wrong-tokenizer": lambda tmp, run: (run / "checkpoint" / "tokenizer.json").write_text('{"type": "char", "chars": 5}'),
    "bad-config": lambda tmp, run: (run / "checkpoint" / "config.json").write_text('{"n_layers": "x"}'),
    "jsonl-torn": lambda tmp, run: (tmp / "torn.jsonl").write_text('{"text": "to be", "label": "a"}\n{"text": "or"\n'),
    "jsonl-not-object": lambda tmp, run: (tmp / "list.jsonl").write_text('["to be", "a"]\n'),
    "jsonl-no-label": lambda tmp, run: (tmp / "nolabel.jsonl").write_text('{"text": "to be"}\n'),
    "jsonl-empty": lambda tmp, run: (tmp / "empty.jsonl").write_text(""),
    "jsonl-one-label": lambda tmp, run: (tmp / "one.jsonl").write_text('{"text": "to be", "label": "a"}\n' * 8),
    "jsonl-binary": lambda tmp, run: (tmp / "bin.jsonl").write_bytes(b"\xff\xfe\x00\x81" * 50),
    "jsonl-unseen-label": lambda tmp, run: (tmp / "unseen.jsonl").write_text('{"text": "to be", "label": "prose"}\n'),
}

# (id, argv, regex the one stderr line must match, setup).  {run}: the case's copy of the good run; {ckpt}: its
# checkpoint; {tmp}: scratch; {data}: the corpus; {bpe}: a checkpoint with GPT-2's tokenizer; {ro}: an unwritable path.
R = ["train", "--resume", "--out-dir", "{run}", *FAST]             # resume the good run
F = ["finetune", "--checkpoint", "{ckpt}", "--out-dir", "{tmp}/ft", "--max-iters", "2", "--no-progress"]
C = ["classify", "--checkpoint", "{ft}"]
T = ["train", *TRAIN, "--data", "{data}", "--out-dir", "{tmp}/o", *FAST]   # a fresh run
G = ["generate", "--checkpoint", "{ckpt}", "--max-new-tokens", "5", "--seed", "0"]
CASES = [
    # --- config values: non-finite, negative, out of range, huge -----------------------------------------------------
    ("resume-lr-inf", [*R, "--lr", "inf"], r"--lr\b.*\binf\b", None),
    ("lr-nan", [*T, "--lr", "nan"], r"--lr\b.*\bnan\b", None),
    ("lr-negative", [*T, "--lr", "-0.001"], r"--lr\b", None),
    ("resume-min-lr-nan", [*R, "--min-lr", "nan"], r"--min-lr\b.*\bnan\b", None),
    ("resume-weight-decay-inf", [*R, "--weight-decay", "inf"], r"--weight-decay\b.*\binf\b", None),
    ("grad-clip-nan", [*T, "--grad-clip", "nan"], r"--grad-clip\b.*\bnan\b", None),
    ("grad-clip-negative", [*T, "--grad-clip", "-1"], r"--grad-clip\b", None),
    ("layer-norm-eps-nan", [*T, "--layer-norm-eps", "nan"], r"--layer-norm-eps\b.*\bnan\b", None),
    ("layer-norm-eps-zero", [*T, "--layer-norm-eps", "0"], r"--layer-norm-eps\b", None),
    ("dropout-nan", [*T, "--dropout", "nan"], r"--dropout\b.*\bnan\b", None),
    ("beta2-one", [*T, "--beta2", "1"], r"--beta2\b", None),
    ("val-fraction-nan", [*T, "--val-fraction", "nan"], r"--val-fraction\b.*\bnan\b", None),
    ("max-iters-negative", [*T, "--max-iters", "-5"], r"--max-iters\b", None),
    ("max-iters-float", [*T, "--max-iters", "1.5"], r"--max-iters\b.*1\.5", None),
    ("warmup-negative", [*T, "--warmup-iters", "-1"], r"--warmup-iters\b", None),
    ("lr-decay-iters-zero", [*T, "--lr-decay-iters", "0"], r"--lr-decay-iters\b", None),
    ("n-heads-zero", [*T, "--n-heads", "0"], r"--n-heads\b", None),
    ("heads-not-dividing", [*T, "--n-heads", "3"], r"--d-model\b.*--n-heads\b|--n-heads\b.*--d-model\b", None),
    ("vocab-too-small", [*T, "--vocab-size", "5"], r"--vocab-size\b", None),
    ("seed-too-big", [*T, "--seed", str(2**64)], r"--seed\b", None),
    ("dtype-unknown", [*T, "--dtype", "float8"], r"--dtype\b", None),
    ("compile-not-bool", [*T, "--compile", "maybe"], r"--compile\b", None),
    ("sample-tokens-negative", [*T[:-2], "--sample-tokens", "-1"], r"--sample-tokens\b", None),
    ("train-prompt-empty", [*T[:-2], "--sample-tokens", "10", "--prompt", ""], r"--prompt\b.*empty", None),
    ("train-prompt-unknown-chars", [*T[:-2], "--sample-tokens", "10", "--prompt", "日本"], r"--prompt\b", None),
    ("d-model-huge", [*T, "--d-model", "65536"], r"--d-model\b.*\d+(\.\d+)? ?[GT]B", None),
    ("batch-size-huge", [*T, "--batch-size", "10000000"], r"--batch-size\b.*\d+(\.\d+)? ?[GT]B", None),
    ("resume-diverges", [*R, "--lr", "1e30", "--max-iters", "8"], r"step \d+.*(nan|inf|finite).*--lr\b", None),
    ("resume-other-model", [*R, "--n-layers", "3"], r"--n-layers\b", None),
    ("resume-other-tokenizer", [*R, "--tokenizer", "gpt2"], r"--tokenizer\b.*char", None),
    # --- files ---------------------------------------------------------------------------------------------------------
    ("config-binary", [*T, "--config", "{tmp}/bin.yaml"], r"--config\b.*(UTF-8|text)", "binary"),
    ("config-empty-json", [*T, "--config", "{tmp}/empty.json"], r"--config\b.*empty\.json", "empty-json"),
    ("config-directory", [*T, "--config", "{tmp}"], r"--config\b.*directory", None),
    ("config-missing", [*T, "--config", "{tmp}/missing.yaml"], r"--config\b.*not found", None),
    ("config-wrong-suffix", [*T, "--config", "{tmp}/c.txt"], r"--config\b.*\.yaml", "txt-config"),
    ("config-not-mapping", [*T, "--config", "{tmp}/list.yaml"], r"--config\b.*mapping", "list-yaml"),
    ("config-lr-inf", [*T, "--config", "{tmp}/inf.yaml"], r"\blr\b.*\binf\b.*inf\.yaml|inf\.yaml.*\blr\b.*\binf\b", "inf-yaml"),
    ("config-wrong-type", [*T, "--config", "{tmp}/str.yaml"], r"n_layers.*str\.yaml|str\.yaml.*n_layers", "str-yaml"),
    ("data-binary", [*T, "--data", "{tmp}/bin.txt"], r"--data\b.*(UTF-8|text)", "binary-txt"),
    ("data-empty", [*T, "--data", "{tmp}/empty.txt"], r"--data\b.*empty", "empty-txt"),
    ("data-directory", [*T, "--data", "{tmp}"], r"--data\b.*directory", None),
    ("data-too-short", [*T, "--data", "{tmp}/short.txt"], r"--data\b|--max-seq-len\b", "short-txt"),
    ("out-dir-is-a-file", [*T, "--out-dir", "{tmp}/a-file"], r"--out-dir\b.*(not a directory|is a file)", "a-file"),
    ("out-dir-read-only", [*T, "--out-dir", "{ro}"], r"--out-dir\b.*(read-only|ermission|not permitted|cannot)", None),
    ("out-dir-holds-checkpoint", ["train", *TRAIN, "--data", "{data}", "--out-dir", "{run}", *FAST],
     r"--resume\b.*--overwrite\b", None),
    ("data-cmd-binary", ["data", "{tmp}/bin.txt"], r"(UTF-8|text)", "binary-txt"),
    ("data-cmd-empty", ["data", "{tmp}/empty.txt"], r"empty", "empty-txt"),
    ("data-cmd-directory", ["data", "{tmp}"], r"directory", None),
    ("data-cmd-unknown", ["data", "no-such-corpus"], r"no-such-corpus", None),
    # --- checkpoints ------------------------------------------------------------------------------------------------
    ("resume-no-checkpoint", ["train", "--resume", "--out-dir", "{tmp}/none", *FAST], r"--out-dir\b|--resume\b", None),
    ("resume-flipped-byte", R, r"model\.safetensors.*(corrupt|SHA-256)", "flip-model"),
    ("resume-cut-optimizer", R, r"optimizer\.safetensors.*(corrupt|SHA-256)", "cut-optimizer"),
    ("resume-bad-state", R, r"trainer_state\.json", "bad-state"),
    ("resume-torn-metrics-middle", R, r"metrics\.jsonl.*line 2", "bad-metrics"),
    ("generate-missing-checkpoint", ["generate", "--checkpoint", "{tmp}/missing"], r"--checkpoint\b.*not found", None),
    ("generate-checkpoint-is-file", ["generate", "--checkpoint", "{tmp}/a-file"], r"--checkpoint\b.*not a directory",
     "a-file"),
    ("generate-empty-dir", ["generate", "--checkpoint", "{tmp}/empty-dir"], r"--checkpoint\b", "empty-dir"),
    ("generate-flipped-byte", G, r"model\.safetensors.*(corrupt|SHA-256)", "flip-model"),
    ("generate-bad-tokenizer", G, r"tokenizer\.json", "bad-tokenizer"),
    ("generate-wrong-tokenizer", G, r"tokenizer\.json", "wrong-tokenizer"),
    ("generate-bad-config", G, r"config\.json", "bad-config"),
    ("generate-pretrained-missing", ["generate", "--pretrained", "{tmp}/nothing"], r"--pretrained\b", None),
    # --- prompts ------------------------------------------------------------------------------------------------------
    ("prompt-empty", [*G, "--prompt", ""], r"empty prompt.*--prompt\b|--prompt\b.*empty", None),
    ("prompt-unknown-chars", [*G, "--prompt", "日本"], r"--prompt\b", None),
    ("prompt-special-token", ["generate", "--checkpoint", "{bpe}", "--prompt", "<|endoftext|>", "--max-new-tokens", "3"],
     r"--allow-special\b", None),
    # --- devices -----------------------------------------------------------------------------------------------------
    ("generate-device-unknown", [*G, "--device", "nosuch"], r"--device\b.*nosuch", None),
    ("generate-device-unavailable", [*G, "--device", "cuda:99"], r"--device\b.*cuda:99", None),
    ("generate-device-meta", [*G, "--device", "meta"], r"--device\b.*meta", None),
    ("train-device-unknown", [*T, "--device", "nosuch"], r"--device\b.*nosuch", None),
    ("train-device-unavailable", [*T, "--device", "cuda:99"], r"--device\b.*cuda:99", None),
    # --- generate options ---------------------------------------------------------------------------------------------
    ("num-beams-zero", [*G, "--num-beams", "0"], r"--num-beams\b", None),
    ("num-beams-negative", [*G, "--num-beams", "-1"], r"--num-beams\b", None),
    ("num-samples-zero", [*G, "--num-samples", "0"], r"--num-samples\b", None),
    ("num-samples-negative", [*G, "--num-samples", "-1"], r"--num-samples\b", None),
    ("temperature-zero", [*G, "--temperature", "0"], r"--temperature\b.*--greedy\b", None),
    ("temperature-nan", [*G, "--temperature", "nan"], r"--temperature\b.*\bnan\b", None),
    ("temperature-inf", [*G, "--temperature", "inf"], r"--temperature\b.*\binf\b", None),
    ("top-k-negative", [*G, "--top-k", "-1"], r"--top-k\b", None),
    ("top-p-above-one", [*G, "--top-p", "1.5"], r"--top-p\b", None),
    ("top-p-nan", [*G, "--top-p", "nan"], r"--top-p\b.*\bnan\b", None),
    ("repetition-penalty-zero", [*G, "--repetition-penalty", "0"], r"--repetition-penalty\b", None),
    ("repetition-penalty-nan", [*G, "--repetition-penalty", "nan"], r"--repetition-penalty\b.*\bnan\b", None),
    ("length-penalty-nan", [*G, "--num-beams", "2", "--length-penalty", "nan"], r"--length-penalty\b.*\bnan\b", None),
    ("no-repeat-ngram-negative", [*G, "--no-repeat-ngram-size", "-1"], r"--no-repeat-ngram-size\b", None),
    ("max-new-tokens-negative", [*G, "--max-new-tokens", "-1"], r"--max-new-tokens\b", None),
    ("max-new-tokens-huge", [*G, "--max-new-tokens", str(10**12)], r"--max-new-tokens\b.*\d+(\.\d+)? ?[GT]B", None),
    ("max-new-tokens-huge-beams", [*G, "--num-beams", "2", "--max-new-tokens", str(10**12)],
     r"--max-new-tokens\b.*\d+(\.\d+)? ?[GT]B", None),
    ("window-shift-zero", [*G, "--window-shift", "0"], r"--window-shift\b", None),
    ("generate-seed-too-big", [*G, "--seed", str(2**64)], r"--seed\b", None),
    ("generate-no-source", ["generate", "--prompt", "hi"], r"--checkpoint\b.*--pretrained\b", None),
    ("generate-unknown-flag", [*G, "--bogus"], r"--bogus\b", None),
    ("generate-not-an-int", [*G, "--max-new-tokens", "ten"], r"--max-new-tokens\b.*\bten\b", None),
    ("unknown-command", ["nosuch"], r"nosuch", None),
    # --- finetune ------------------------------------------------------------------------------------------------------
    ("finetune-data-missing", [*F, "--task", "classify", "--data", "{tmp}/none.jsonl"], r"--data\b", None),
    ("finetune-data-torn", [*F, "--task", "classify", "--data", "{tmp}/torn.jsonl"], r"torn\.jsonl.*line 2", "jsonl-torn"),
    ("finetune-data-not-object", [*F, "--task", "classify", "--data", "{tmp}/list.jsonl"], r"list\.jsonl.*line 1",
     "jsonl-not-object"),
    ("finetune-data-no-label", [*F, "--task", "classify", "--data", "{tmp}/nolabel.jsonl"], r"label", "jsonl-no-label"),
    ("finetune-data-empty", [*F, "--task", "classify", "--data", "{tmp}/empty.jsonl"], r"empty\.jsonl", "jsonl-empty"),
    ("finetune-data-binary", [*F, "--task", "classify", "--data", "{tmp}/bin.jsonl"], r"bin\.jsonl", "jsonl-binary"),
    ("finetune-one-label", [*F, "--task", "classify", "--data", "{tmp}/one.jsonl"], r"label", "jsonl-one-label"),
    ("finetune-wrong-task-data", [*F, "--task", "instruct", "--data", "{cls}"], r"instruction|response", None),
    ("finetune-unseen-val-label", [*F, "--task", "classify", "--data", "{cls}", "--val-data", "{tmp}/unseen.jsonl"],
     r"prose", "jsonl-unseen-label"),
    ("finetune-task-unknown", [*F, "--task", "summarise", "--data", "{cls}"], r"--task\b", None),
    ("finetune-lora-rank-zero", [*F, "--task", "classify", "--data", "{cls}", "--lora-rank", "0"], r"--lora-rank\b", None),
    ("finetune-lora-rank-huge", [*F, "--task", "classify", "--data", "{cls}", "--lora-rank", "1000"], r"--lora-rank\b",
     None),
    ("finetune-lora-alpha-nan", [*F, "--task", "classify", "--data", "{cls}", "--lora-rank", "2", "--lora-alpha", "nan"],
     r"--lora-alpha\b", None),
    ("finetune-lr-nan", [*F, "--task", "classify", "--data", "{cls}", "--lr", "nan"], r"--lr\b.*\bnan\b", None),
    ("finetune-no-checkpoint", ["finetune", "--checkpoint", "{tmp}/none", "--task", "classify", "--data", "{cls}",
                                "--out-dir", "{tmp}/ft"], r"--checkpoint\b", None),
    ("finetune-flipped-base", [*F, "--task", "classify", "--data", "{cls}"], r"model\.safetensors.*(corrupt|SHA-256)",
     "flip-model"),
    ("finetune-out-dir-is-a-file", ["finetune", "--checkpoint", "{ckpt}", "--task", "classify", "--data", "{cls}",
                                    "--out-dir", "{tmp}/a-file", "--max-iters", "2", "--no-progress"],
     r"--out-dir\b.*(not a directory|is a file)", "a-file"),
    # --- classify ------------------------------------------------------------------------------------------------------
    ("classify-no-text", C, r"--text\b", None),
    ("classify-empty-text", [*C, "--text", ""], r"--text\b.*empty|empty.*--text\b", None),
    ("classify-not-a-classifier", ["classify", "--checkpoint", "{ckpt}", "--text", "to be"], r"classif", None),
    ("classify-missing-checkpoint", ["classify", "--checkpoint", "{tmp}/none", "--text", "to be"], r"--checkpoint\b", None),
    ("classify-unknown-chars", [*C, "--text", "日本"], r"--text\b", None),
    ("generate-from-classifier", ["generate", "--checkpoint", "{ft}", "--prompt", "to be"], r"classify", None),
]


def fill(argv: list[str], world: dict[str, Path], tmp: Path, run: Path) -> list[str]:
    subs = dict(run=run, ckpt=run / "checkpoint", tmp=tmp, data=world["corpus"], bpe=world["bpe"], cls=world["cls"],
                ft=world["ft"])
    if any("{ro}" in a for a in argv):
        subs["ro"] = _read_only_dir(tmp)
    return [a.format(**subs) if "{" in a else a for a in argv]


COMMANDS = ("train", "generate", "finetune", "classify", "data")


def check_one_line(status: int, out: str, err: str, pattern: str, argv: list[str]):
    import re

    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert status == 2, f"exit {status} for {argv}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    assert "Traceback" not in out + err, err
    assert len(lines) == 1, f"{len(lines)} lines on stderr for {argv}:\n{err}"
    assert lines[0].startswith(f"llm-from-scratch {argv[0]}: error: ") or argv[0] not in COMMANDS, lines[0]
    assert re.search(pattern, lines[0], flags=re.I), f"{lines[0]!r} does not match {pattern!r}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_line_and_touches_nothing(case, world, tmp_path, capsys):
    name, argv, pattern, setup = case
    run = tmp_path / "run"
    shutil.copytree(world["good"], run)
    if setup:
        SETUPS[setup](tmp_path, run)
    before, good_before = snapshot(run), snapshot(world["good"])
    argv = fill(argv, world, tmp_path, run)
    capsys.readouterr()
    status = main(argv)
    out, err = capsys.readouterr()
    check_one_line(status, out, err, pattern, argv)
    if argv[0] == "generate":
        assert out == "", f"generate printed before failing: {out!r}"
    assert snapshot(world["good"]) == good_before
    after = snapshot(run)
    ck = {k: v for k, v in before.items() if k.startswith("checkpoint/")}
    assert {k: v for k, v in after.items() if k.startswith("checkpoint/")} == ck, "the checkpoint changed"
    assert sorted(after) == sorted(before), "files appeared or disappeared next to the checkpoint"
    if name != "resume-diverges":          # the only case that trains: its log may grow, the checkpoint may not
        assert after == before


def test_disk_full_while_saving_keeps_the_checkpoint(world, tmp_path, capsys, monkeypatch):
    """A checkpoint write that fails (disk full) is one line, exit 2, and the previous checkpoint stays as it was."""
    import safetensors.torch

    run = tmp_path / "run"
    shutil.copytree(world["good"], run)
    before = snapshot(run / "checkpoint")
    real = safetensors.torch.save_file

    def full(tensors, filename, metadata=None):
        real(tensors, filename, metadata)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(filename))

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    argv = ["train", "--resume", "--out-dir", str(run), "--max-iters", "6", *FAST]
    status = main(argv)
    out, err = capsys.readouterr()
    check_one_line(status, out, err, r"(space|disk).*step 4|step 4.*(space|disk)", argv)
    assert snapshot(run / "checkpoint") == before
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint", "metrics.jsonl"]


def test_checkpoint_files_share_one_mode(world):
    """Every file of a checkpoint gets the mode any new file of the user's gets (0o666 less the umask), not a mix of
    mkstemp's private 0o600 and the usual 0o644."""
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (world["good"] / "checkpoint").iterdir()}
    assert set(modes.values()) == {0o666 & ~umask}, modes


def test_cli_flags_count():
    """The table is the promise of the issue: at least 40 bad inputs, grouped."""
    assert len(CASES) >= 40


# --- the real console script ----------------------------------------------------------------------------------------

def console_script() -> list[str]:
    exe = Path(sys.executable).parent / "llm-from-scratch"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("llm-from-scratch")
    if found is None:
        pytest.skip("the llm-from-scratch console script is not installed")
    return [found]


SUBPROCESS_CASES = ["resume-lr-inf", "data-empty", "num-beams-zero", "generate-device-unknown"]


def test_console_script_cases(world, tmp_path):
    """A handful of cases through the installed `llm-from-scratch` command: same one line, same exit status."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    by_name = {c[0]: c for c in CASES}
    procs = []
    for name in SUBPROCESS_CASES:
        _, argv, pattern, setup = by_name[name]
        tmp = tmp_path / name
        tmp.mkdir()
        run = tmp / "run"
        shutil.copytree(world["good"], run)
        if setup:
            SETUPS[setup](tmp, run)
        argv = fill(argv, world, tmp, run)
        procs.append((name, argv, pattern, run, snapshot(run),
                      subprocess.Popen(console_script() + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, env=env)))
    for name, argv, pattern, run, before, p in procs:
        out, err = p.communicate(timeout=300)
        check_one_line(p.returncode, out, err, pattern, argv)
        assert snapshot(run) == before, name
