"""Trainer: schedule, accumulation, exact resume, atomic/corrupt checkpoints, DDP == single process, the `train` CLI.

Everything runs offline on a small synthetic corpus with the tiny preset, so the file takes seconds, not minutes."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from llm_from_scratch.checkpoints import load_checkpoint, load_model, save_checkpoint
from llm_from_scratch.commands.main import main
from llm_from_scratch.config import TrainConfig, preset
from llm_from_scratch.data import get_batches
from llm_from_scratch.files import CheckpointError
from llm_from_scratch.model import GPT
from llm_from_scratch.tokenizer import CharTokenizer, tokenizer_from_dict
from llm_from_scratch.trainer import configure_optimizer, get_lr, train, train_step
from llm_from_scratch.training_run import TrainError, read_metrics, restore_optimizer

# One torch thread for the whole module (shared fixture in tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


WORDS = ["to", "be", "or", "not", "that", "is", "the", "question", "ROMEO", "JULIET", ":", "\n", "my", "lord", "thou", "art"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    g = torch.Generator().manual_seed(0)
    text = " ".join(WORDS[i] for i in torch.randint(len(WORDS), (6000,), generator=g).tolist())
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def vocab(corpus) -> int:
    return CharTokenizer.from_text(corpus.read_text()).n_vocab


def tconf(corpus: Path, out: Path, **kw) -> TrainConfig:
    base = dict(device="cpu", data=str(corpus), out_dir=str(out), max_iters=8, batch_size=4, warmup_iters=2, eval_interval=4,
                eval_iters=2, log_interval=1, ckpt_interval=100)
    return TrainConfig(**{**base, **kw})


def same_weights(a: GPT, b: GPT) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def no_speed(rows):
    return [{k: v for k, v in r.items() if k != "tokens_per_sec"} for r in rows]


# --- schedule, optimizer, batches -----------------------------------------------------------------------------------

@pytest.mark.parametrize("warmup,decay", [(100, 2000), (0, 50), (10, 10)])
def test_schedule_shape(warmup, decay):
    lr, min_lr = 1e-3, 1e-4
    lrs = [get_lr(s, lr, min_lr, warmup, decay) for s in range(decay + 50)]
    assert all(0 < x <= lr for x in lrs)
    assert all(a < b for a, b in zip(lrs[:warmup], lrs[1:warmup]))                       # warmup: strictly rising
    assert lrs[warmup] == pytest.approx(lr if decay > warmup else min_lr)                  # peak right after warmup
    assert all(a >= b for a, b in zip(lrs[warmup:decay], lrs[warmup + 1:decay + 1]))     # cosine: never rising
    assert all(x == min_lr for x in lrs[decay:])                                           # then the floor
    if decay - warmup >= 10:                                                               # halfway: the midpoint
        assert get_lr(warmup + (decay - warmup) // 2, lr, min_lr, warmup, decay) == pytest.approx((lr + min_lr) / 2, rel=0.02)


def test_weight_decay_only_on_matrices():
    model = GPT(preset("tiny"))
    opt = configure_optimizer(model, 1e-3, 0.1, (0.9, 0.99))
    decay, other = opt.param_groups
    assert decay["weight_decay"] == 0.1 and other["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in other["params"])
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == model.num_params()   # tied weight once
    assert decay.get("fused") or decay.get("foreach")


def test_batches_are_a_function_of_the_step_and_shard_by_rank():
    tokens = torch.arange(1000)
    X, Y = get_batches(tokens, 8, 6, accum=2, step=3, seed=5)
    assert X.shape == (2, 6, 8) and torch.equal(Y, X + 1)
    assert torch.equal(get_batches(tokens, 8, 6, 2, 3, 5)[0], X)
    assert not torch.equal(get_batches(tokens, 8, 6, 2, 4, 5)[0], X)
    shards = [get_batches(tokens, 8, 3, 2, 3, 5, rank=r, world_size=2)[0] for r in range(2)]
    assert torch.equal(torch.cat(shards, dim=1), X)                                        # ranks split the global batch
    assert torch.equal(get_batches(tokens, 8, 12, 1, 3, 5)[0].view(2, 6, 8), X)            # accumulation: same rows


# --- gradient accumulation --------------------------------------------------------------------------------------------

def test_accumulated_gradient_equals_big_batch():
    torch.manual_seed(0)
    model = GPT(preset("tiny"))
    X, Y = get_batches(torch.randint(128, (5000,)), 32, 16, step=0, seed=0)
    model.zero_grad()
    model(X[0], Y[0])[1].backward()
    big = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    for x, y in zip(X[0].split(4), Y[0].split(4)): (model(x, y)[1] / 4).backward()
    for g, p in zip(big, model.parameters()): torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-7)


def test_accumulation_steps_equal_big_batch_steps(corpus, vocab, tmp_path):
    cfg = preset("tiny", vocab_size=vocab)
    a = train(cfg, tconf(corpus, tmp_path / "a", batch_size=8, grad_accum_steps=1), progress=False, print_fn=lambda s: None)
    b = train(cfg, tconf(corpus, tmp_path / "b", batch_size=4, grad_accum_steps=2), progress=False, print_fn=lambda s: None)
    for p, q in zip(a.model.parameters(), b.model.parameters()): torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    ra, rb = read_metrics(tmp_path / "a"), read_metrics(tmp_path / "b")
    for x, y in zip(ra[1:], rb[1:]): assert x["train_loss"] == pytest.approx(y["train_loss"], abs=1e-5)


def test_train_step_returns_mean_loss_and_steps():
    torch.manual_seed(0)
    model = GPT(preset("tiny"))
    opt = configure_optimizer(model, 1e-3, 0.0, (0.9, 0.99))
    X, Y = get_batches(torch.randint(128, (5000,)), 32, 4, accum=3, step=0, seed=0)
    with torch.no_grad(): expected = sum(model(x, y)[1] for x, y in zip(X, Y)) / 3
    before = model.wte.weight.clone()
    loss, norm = train_step(model, opt, X, Y, lr=1e-3, grad_clip=0.5)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5) and norm.item() > 0.5    # norm before clipping
    assert not torch.equal(before, model.wte.weight) and all(p.grad is None for p in model.parameters())


# --- exact resume ------------------------------------------------------------------------------------------------------

def test_resume_is_bit_exact(corpus, vocab, tmp_path):
    cfg = preset("tiny", vocab_size=vocab, dropout=0.1)                  # dropout on: its masks must resume exactly too
    quiet = dict(progress=False, print_fn=lambda s: None)
    straight = train(cfg, tconf(corpus, tmp_path / "s", max_iters=12, lr_decay_iters=12, eval_interval=3), **quiet)
    train(cfg, tconf(corpus, tmp_path / "r", max_iters=6, lr_decay_iters=12, eval_interval=3), **quiet)
    resumed = train(cfg, tconf(corpus, tmp_path / "r", max_iters=12, lr_decay_iters=12, eval_interval=3), resume=True,
                    **quiet)
    assert resumed.step == straight.step == 12
    assert same_weights(straight.model, resumed.model)
    assert straight.train_loss == resumed.train_loss and straight.val_loss == resumed.val_loss
    assert no_speed(read_metrics(tmp_path / "s")) == no_speed(read_metrics(tmp_path / "r"))
    a, b = load_checkpoint(tmp_path / "s" / "checkpoint"), load_checkpoint(tmp_path / "r" / "checkpoint")
    assert a.optimizer_tensors.keys() == b.optimizer_tensors.keys()
    assert all(torch.equal(a.optimizer_tensors[k], b.optimizer_tensors[k]) for k in a.optimizer_tensors)


def test_resume_with_a_different_model_is_refused(corpus, vocab, tmp_path):
    quiet = dict(progress=False, print_fn=lambda s: None)
    train(preset("tiny", vocab_size=vocab), tconf(corpus, tmp_path, max_iters=2), **quiet)
    with pytest.raises(CheckpointError, match="different model"):
        train(preset("tiny", vocab_size=vocab, n_layers=3), tconf(corpus, tmp_path, max_iters=4), resume=True, **quiet)
    with pytest.raises(TrainError, match="`resume`"):                  # a fresh start would destroy the checkpoint
        train(preset("tiny", vocab_size=vocab), tconf(corpus, tmp_path, max_iters=4), **quiet)


# --- checkpoints: atomic, verified ------------------------------------------------------------------------------------

@pytest.fixture
def saved(corpus, vocab, tmp_path):
    """A checkpoint at step 3 from a real short run; returns its directory."""
    res = train(preset("tiny", vocab_size=vocab), tconf(corpus, tmp_path / "run", max_iters=3), progress=False,
                print_fn=lambda s: None)
    return res.ckpt_dir


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_checkpoint_layout_loads_everywhere(saved):
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors", "optimizer.safetensors",
                                                       "tokenizer.json", "trainer_state.json"]
    model = load_model(saved)                                            # chapter 4's loader, as `generate` uses it
    tok = tokenizer_from_dict(json.loads((saved / "tokenizer.json").read_text()))
    ck = load_checkpoint(saved)
    assert ck.step == 3 and same_weights(model, ck.model) and tok.chars == ck.tokenizer.chars
    opt = configure_optimizer(ck.model, 1e-3, 0.1, (0.9, 0.99))
    restore_optimizer(opt, ck)
    assert int(opt.state_dict()["state"][0]["step"]) == 3
    assert not any(p.suffix == ".pkl" or p.suffix == ".pt" for p in saved.iterdir())   # no pickles


def test_crash_while_writing_keeps_previous_checkpoint(saved, monkeypatch):
    import safetensors.torch
    before = _snapshot(saved)
    ck = load_checkpoint(saved)
    opt = configure_optimizer(ck.model, 1e-3, 0.1, (0.9, 0.99))
    restore_optimizer(opt, ck)
    real = safetensors.torch.save_file

    def crash_halfway(tensors, filename, metadata=None):
        real(tensors, filename, metadata)
        data = Path(filename).read_bytes()
        Path(filename).write_bytes(data[: len(data) // 2])               # half the file is on disk ...
        raise OSError("simulated crash")                                  # ... when the process dies

    monkeypatch.setattr(safetensors.torch, "save_file", crash_halfway)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(saved, ck.model, opt, ck.tokenizer, ck.train_config, step=99)
    monkeypatch.undo()
    assert _snapshot(saved) == before and load_checkpoint(saved).step == 3
    assert sorted(p.name for p in saved.parent.iterdir() if p.name.startswith(".")) == []    # temp dir cleaned up


def test_crash_between_the_renames_is_recovered(saved, monkeypatch):
    from llm_from_scratch.checkpoints import recover_checkpoint

    ck = load_checkpoint(saved)
    opt = configure_optimizer(ck.model, 1e-3, 0.1, (0.9, 0.99))
    restore_optimizer(opt, ck)
    real = os.replace

    def die_on_commit(src, dst):
        if str(src).endswith(".checkpoint.tmp"): raise KeyboardInterrupt("killed between the renames")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", die_on_commit)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved, ck.model, opt, ck.tokenizer, ck.train_config, step=99)
    monkeypatch.undo()
    assert not saved.exists() and (saved.parent / ".checkpoint.old").is_dir()
    assert load_checkpoint(saved).step == 99                             # the complete new one, left in .checkpoint.tmp
    assert "recovered the complete step-99 checkpoint" in recover_checkpoint(saved)
    assert load_checkpoint(saved).step == 99 and sorted(p.name for p in saved.parent.iterdir()) == ["checkpoint", "metrics.jsonl"]
    monkeypatch.setattr(os, "replace", die_on_commit)                    # killed again, this time mid-write...
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(saved, ck.model, opt, ck.tokenizer, ck.train_config, step=100)
    monkeypatch.undo()
    (saved.parent / ".checkpoint.tmp" / "optimizer.safetensors").unlink()   # ...so the new one is incomplete
    assert load_checkpoint(saved).step == 99                             # and the previous one, in .checkpoint.old, loads
    save_checkpoint(saved, ck.model, opt, ck.tokenizer, ck.train_config, step=4)   # the next save recovers first
    assert load_checkpoint(saved).step == 4 and sorted(p.name for p in saved.parent.iterdir()) == ["checkpoint", "metrics.jsonl"]


def _edit_state(d: Path, **changes):
    state = json.loads((d / "trainer_state.json").read_text())
    (d / "trainer_state.json").write_text(json.dumps({**state, **changes}))


def _flip_byte(p: Path):
    b = bytearray(p.read_bytes()); b[len(b) - 20] ^= 0xFF; p.write_bytes(bytes(b))


@pytest.mark.parametrize("damage", [
    lambda d: _flip_byte(d / "model.safetensors"),
    lambda d: (d / "optimizer.safetensors").write_bytes((d / "optimizer.safetensors").read_bytes()[:100]),
    lambda d: (d / "trainer_state.json").write_text("{not json"),
    lambda d: (d / "tokenizer.json").unlink(),
    lambda d: (d / "trainer_state.json").write_text(json.dumps({"step": 3})),
    lambda d: _edit_state(d, sha256=5),
    lambda d: _edit_state(d, param_groups=[{"params": []}, "junk"]),
], ids=["flipped-byte", "truncated-optimizer", "bad-json", "missing-file", "incomplete-state", "bad-sums", "bad-groups"])
def test_corrupt_checkpoint_is_a_clear_error_and_nothing_is_overwritten(saved, corpus, vocab, damage):
    damage(saved)
    before = _snapshot(saved)
    with pytest.raises(CheckpointError):
        load_checkpoint(saved)
    with pytest.raises(CheckpointError):
        train(None, tconf(corpus, saved.parent, max_iters=6), resume=True, progress=False)
    assert _snapshot(saved) == before


def test_mismatched_optimizer_state_is_refused(saved):
    ck = load_checkpoint(saved)
    other = GPT(preset("tiny", vocab_size=ck.model.cfg.vocab_size, d_model=64))
    with pytest.raises(CheckpointError, match="shape"):
        restore_optimizer(configure_optimizer(other, 1e-3, 0.1, (0.9, 0.99)), ck)


# --- the CLI -----------------------------------------------------------------------------------------------------------

def run_cli(argv, capsys) -> tuple[int, str, str]:
    status = main(["train", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_smoke(corpus, tmp_path, capsys):
    out_dir = tmp_path / "tiny"
    status, out, err = run_cli(["--preset", "tiny", "--data", str(corpus), "--max-iters", "4", "--eval-interval", "2",
                                "--eval-iters", "2", "--log-interval", "2", "--out-dir", str(out_dir), "--no-progress",
                                "--sample-tokens", "20",
                                "--prompt", "ROMEO:"], capsys)
    assert status == 0, err
    assert "--- sample ---\nROMEO:" in out and f"generate --checkpoint {out_dir / 'checkpoint'}" in out
    rows = read_metrics(out_dir)
    assert [r["step"] for r in rows] == [0, 2, 4] and all("val_loss" in r for r in rows)
    assert all({"train_loss", "lr", "tokens_per_sec"} <= r.keys() for r in rows[1:])
    assert load_model(out_dir / "checkpoint").cfg.n_layers == 2
    # resume for two more steps: the metrics continue, the checkpoint advances
    status, out, err = run_cli(["--resume", "--out-dir", str(out_dir), "--max-iters", "6", "--no-progress",
                                "--sample-tokens", "0"], capsys)
    assert status == 0, err
    assert load_checkpoint(out_dir / "checkpoint").step == 6 and read_metrics(out_dir)[-1]["step"] == 6


def test_cli_config_files_and_precedence(corpus, tmp_path, capsys):
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text(f"preset: tiny\ndata: {corpus}\nmax_iters: 2\neval_iters: 1\nn_layers: 3\nd_model: 48\n"
                         f"out_dir: {tmp_path / 'y'}\n")
    status, _, err = run_cli(["--config", str(yaml_file), "--d-model", "64", "--no-progress", "--sample-tokens", "0"], capsys)
    assert status == 0, err
    cfg = load_model(tmp_path / "y" / "checkpoint").cfg
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads) == (3, 64, 2)       # file over preset, flag over file
    toml_file = tmp_path / "run.toml"
    toml_file.write_text(f'preset = "tiny"\ndata = "{corpus}"\nmax_iters = 2\neval_iters = 1\nlr = 3e-3\n'
                         f'out_dir = "{tmp_path / "t"}"\n')
    status, _, err = run_cli(["--config", str(toml_file), "--no-progress", "--sample-tokens", "0"], capsys)
    assert status == 0, err
    assert load_checkpoint(tmp_path / "t" / "checkpoint").train_config.lr == 3e-3


@pytest.mark.parametrize("argv,match", [
    (["--n-layers", "four"], "invalid int value"),
    (["--n-heads", "5"], "divisible"),
    (["--batch-size", "0"], "--batch-size"),
    (["--dropout", "1.5"], "dropout"),
    (["--tokenizer", "bpe"], "tokenizer"),
    (["--learning-rate", "1e-3"], "unrecognized"),
    (["--data", "/no/such/file.txt"], "no such file"),
    (["--max-seq-len", "100000"], "validation split"),
    (["--resume"], "no training checkpoint"),
    (["--config", "CONFIG_WITH_UNKNOWN_KEY"], "unknown field"),
    (["--config", "/no/such/config.yaml"], "not found"),
    (["--preset", "huge"], "invalid choice"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_cli_bad_arguments_give_one_line(argv, match, corpus, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("n_layers: 2\nlearning_rate: 0.1\n")
    argv = [str(bad) if a == "CONFIG_WITH_UNKNOWN_KEY" else a for a in argv]
    if "--data" not in argv: argv += ["--data", str(corpus)]
    if "--preset" not in argv: argv += ["--preset", "tiny"]
    status, out, err = run_cli([*argv, "--out-dir", str(tmp_path / "o"), "--max-iters", "1", "--no-progress"], capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llm-from-scratch train: error:") and match in lines[0], err
    assert "Traceback" not in out + err


def test_cli_missing_data_offline(tmp_path, capsys, monkeypatch):
    import urllib.request

    def offline(*a, **k): raise urllib.error.URLError("network is unreachable")

    monkeypatch.setenv("LLM_FROM_SCRATCH_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    status, _, err = run_cli(["--out-dir", str(tmp_path / "o"), "--max-iters", "1"], capsys)
    assert status == 2 and len(err.strip().splitlines()) == 1 and "cannot download tinyshakespeare" in err


def test_cli_refuses_to_overwrite_a_checkpoint(corpus, tmp_path, capsys):
    argv = ["--preset", "tiny", "--data", str(corpus), "--max-iters", "1", "--eval-iters", "1", "--out-dir", str(tmp_path),
            "--no-progress", "--sample-tokens", "0"]
    assert run_cli(argv, capsys)[0] == 0
    status, _, err = run_cli(argv, capsys)
    assert status == 2 and "--overwrite" in err
    assert run_cli([*argv, "--overwrite"], capsys)[0] == 0


# --- DDP ---------------------------------------------------------------------------------------------------------------

def test_ddp_two_processes_equal_one_process(corpus, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys\nfrom llm_from_scratch.commands.main import main\nsys.exit(main())\n")
    common = ["train", "--preset", "tiny", "--data", str(corpus), "--max-iters", "5", "--grad-accum-steps", "2",
              "--eval-interval", "5", "--eval-iters", "2", "--no-progress", "--sample-tokens", "0", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script),
                          *common, "--batch-size", "3", "--out-dir", str(tmp_path / "ddp")],
                         env=env, capture_output=True, text=True, timeout=240)
    assert ddp.returncode == 0, ddp.stdout[-3000:] + ddp.stderr[-3000:]
    one = subprocess.run([sys.executable, str(script), *common, "--batch-size", "6", "--out-dir", str(tmp_path / "one")],
                         env=env, capture_output=True, text=True, timeout=240)
    assert one.returncode == 0, one.stderr[-3000:]
    a, b = load_checkpoint(tmp_path / "ddp" / "checkpoint"), load_checkpoint(tmp_path / "one" / "checkpoint")
    assert a.step == b.step == 5
    for p, q in zip(a.model.parameters(), b.model.parameters()): torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    ra, rb = read_metrics(tmp_path / "ddp"), read_metrics(tmp_path / "one")
    assert [r["step"] for r in ra] == [r["step"] for r in rb]
    for x, y in zip(ra, rb):
        for k in ("train_loss", "val_loss"):
            if k in x: assert x[k] == pytest.approx(y[k], abs=1e-4)
    assert dataclasses.asdict(a.train_config)["batch_size"] == 3         # per-process micro-batch


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "configs").glob("*.*ml")), ids=lambda p: p.name)
def test_example_configs_are_valid(path):
    from llm_from_scratch.commands.train import resolve_configs, train_parser
    plan = resolve_configs(vars(train_parser().parse_args(["--config", str(path), "--vocab-size", "50257"])))
    assert plan.cfg.n_layers >= 1 and plan.tc.max_iters >= 1 and plan.text is None   # vocab_size given: no corpus read


def _interrupt_torchrun(script: Path, argv: list[str], out: Path, env: dict[str, str]) -> str:
    """Start a 2-process torchrun job, Ctrl-C it (SIGINT to its process group, as a terminal does) once it has logged
    three steps; its stderr."""
    import signal
    import time

    p = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(script), *argv, "--max-iters", "100000"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and p.poll() is None:    # a few steps logged: the workers are training
            m = out / "metrics.jsonl"
            if m.exists() and sum('"train_loss"' in line for line in m.read_text().splitlines()) >= 3:
                break
            time.sleep(0.2)
        assert p.poll() is None, p.communicate()[1][-3000:]
        os.killpg(p.pid, signal.SIGINT)
        return p.communicate(timeout=120)[1]
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)


def test_ctrl_c_under_torchrun_saves_the_current_step(corpus, tmp_path):
    """Ctrl-C in the terminal reaches torchrun, which passes it on to both workers: they agree on the step to stop
    after, rank 0 saves it, and the run resumes from there. (On a heavily loaded machine about one run in fifteen
    here ended without a checkpoint, torchrun killing the workers after its 30 s grace: a second try is allowed, and
    its stderr is kept for the report.)"""
    script = tmp_path / "train.py"
    script.write_text("import sys\nfrom llm_from_scratch.commands.main import main\nsys.exit(main())\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    errs = []
    for attempt in range(2):
        out = tmp_path / f"ddp{attempt}"
        argv = ["train", "--preset", "tiny", "--data", str(corpus), "--eval-iters", "1", "--eval-interval", "100000",
                "--ckpt-interval", "100000", "--log-interval", "1", "--no-progress", "--sample-tokens", "0",
                "--device", "cpu", "--batch-size", "2", "--out-dir", str(out)]
        errs.append(_interrupt_torchrun(script, argv, out, env))
        if (out / "checkpoint").is_dir():
            break
    assert (out / "checkpoint").is_dir(), "\n---\n".join(e[-3000:] for e in errs)
    err = errs[-1]
    ck = load_checkpoint(out / "checkpoint")
    assert ck.step >= 3, err[-3000:]
    assert f"interrupted after step {ck.step}" in err
    assert max(r["step"] for r in read_metrics(out)) == ck.step     # the log stops where the checkpoint is
    one = subprocess.run([sys.executable, str(script), *argv, "--resume", "--max-iters", str(ck.step + 2)],
                         env=env, capture_output=True, text=True, timeout=240)
    assert one.returncode == 0, one.stderr[-3000:]                  # and it resumes (here in one process)
    assert load_checkpoint(out / "checkpoint").step == ck.step + 2
