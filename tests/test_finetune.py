"""Fine-tuning (chapters 7 and 7b, toolkit `finetune_run`): LoRA merge, the loss mask, the classification head, and the `finetune` / `classify` /
`generate` commands end to end on tiny JSON-lines files, with exact resume and one-line errors for bad input.

Everything runs offline on a small synthetic corpus and a one-layer model, so the file takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from llm_from_scratch.commands.main import main
from llm_from_scratch.config import GPTConfig
from llm_from_scratch.finetune import (
    END,
    IGNORE_INDEX,
    FinetuneError,
    classification_example,
    format_prompt,
    pad_batch,
    sft_example,
    to_classifier,
)
from llm_from_scratch.lora import (
    LoRALinear,
    add_lora,
    load_adapters,
    load_finetuned,
    merge_lora,
    save_adapters,
)
from llm_from_scratch.model import GPT
from llm_from_scratch.tokenizer import CharTokenizer

# One torch thread for the whole module (shared fixture in tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


TEXT = (
    "ROMEO:\nBut soft, what light through yonder window breaks?\n\n"
    "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\n\n"
    "Instruction: Input: Response: Give How many Write it in CAPITALS. first last word?\n\n"
) * 40
TOK = CharTokenizer.from_text(TEXT)


def tiny_gpt(seed: int = 0, d_model: int = 32) -> GPT:
    torch.manual_seed(seed)
    cfg = GPTConfig(
        vocab_size=TOK.n_vocab,
        max_seq_len=96,
        n_layers=1,
        n_heads=2,
        d_model=d_model,
        dropout=0.0,
    )
    return GPT(cfg)


# ---- LoRA ----


def test_lora_starts_at_base_and_merges_to_the_same_logits():
    model = tiny_gpt()
    x = torch.randint(TOK.n_vocab, (2, 20))
    with torch.no_grad():
        ref = model(x)[0]
        add_lora(model, r=4, lora_alpha=8)
        assert torch.equal(model(x)[0], ref)  # B = 0
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.normal_(0, 0.1)
        adapted = model(x)[0]
        assert not torch.allclose(adapted, ref)
        merge_lora(model)
        assert not any(isinstance(m, LoRALinear) for m in model.modules())
        torch.testing.assert_close(model(x)[0], adapted, atol=1e-5, rtol=1e-5)


def test_lora_trains_only_adapters_and_named_modules():
    model = add_lora(to_classifier(tiny_gpt(), 3), r=2, trainable=("lm_head",))
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names and all(".lora_" in n or n == "lm_head.weight" for n in names)
    assert (
        sum(isinstance(m, LoRALinear) for m in model.modules()) == 4
    )  # c_attn, 2 x c_proj, c_fc


@pytest.mark.parametrize("r", [0, -1, 33])
def test_lora_rank_must_fit_the_layer(r):
    with pytest.raises(FinetuneError, match="LoRA rank"):
        add_lora(tiny_gpt(), r=r)


def test_adapters_round_trip_onto_the_base(tmp_path):
    base = tiny_gpt()
    sd = {k: v.clone() for k, v in base.state_dict().items()}
    model = add_lora(to_classifier(tiny_gpt(), 2), r=4, trainable=("lm_head",))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.normal_()
    path = save_adapters(model, tmp_path / "a.safetensors")
    fresh = tiny_gpt(seed=1)
    fresh.load_state_dict(sd)
    fresh, info = load_adapters(to_classifier(fresh, 2), path)
    assert info["r"] == 4
    x = torch.randint(TOK.n_vocab, (2, 10))
    with torch.no_grad():
        torch.testing.assert_close(fresh(x)[0], model(x)[0])


# ---- loss mask and classification head ----


def test_loss_mask_keeps_exactly_the_response():
    examples = [
        dict(instruction="Give the first word.", input="But soft", response="But"),
        dict(instruction="How many words?", input="O Romeo", response="two"),
    ]
    pairs = [sft_example(TOK, ex, 96) for ex in examples]
    X, Y = pad_batch(pairs, pad_id=0)
    for row, (ex, (x, _)) in enumerate(zip(examples, pairs)):
        n_prompt = len(TOK.encode(format_prompt(ex["instruction"], ex["input"])))
        n_resp = len(TOK.encode(ex["response"] + END))
        assert len(x) == n_prompt + n_resp - 1
        counted = (Y[row] != IGNORE_INDEX).nonzero().flatten().tolist()
        assert counted == list(
            range(n_prompt - 1, n_prompt - 1 + n_resp)
        )  # not prompt, not padding
        assert TOK.decode(Y[row, counted].tolist()) == ex["response"] + END
        assert (Y[row, len(x) :] == IGNORE_INDEX).all() and (
            X[row, len(x) :] == 0
        ).all()
    x, y = sft_example(TOK, examples[0], 96, mask_prompt=False)
    assert IGNORE_INDEX not in y


def test_classification_head_shapes_and_padding():
    model = to_classifier(tiny_gpt(), 3).eval()
    pairs = [
        classification_example(TOK, t, k, 96)
        for k, t in enumerate(["But soft", "O Romeo, Romeo!", "art"])
    ]
    X, Y = pad_batch(pairs, pad_id=0)
    assert (Y != IGNORE_INDEX).sum(1).tolist() == [1, 1, 1]
    assert Y[1, len(pairs[1][0]) - 1] == 1
    with torch.no_grad():
        logits, loss = model(X, Y)
        alone = model(X[:1, : len(pairs[0][0])])[0]
    assert logits.shape == (3, X.size(1), 3) and loss.ndim == 0
    torch.testing.assert_close(
        logits[0, : alone.size(1)], alone[0]
    )  # right padding is invisible
    with pytest.raises(FinetuneError):
        to_classifier(tiny_gpt(), 1)


# ---- the command line ----


def _jsonl(path: Path, rows) -> str:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)
    )
    return str(path)


def _pretrain(d: Path, max_iters: int, d_model: int, *extra: str) -> Path:
    """A tiny base model trained by `llm-from-scratch train` in `d`; its checkpoint."""
    (d / "text.txt").write_text(TEXT)
    argv = ["train", "--data", str(d / "text.txt"), "--out-dir", str(d / "run"),
            "--max-iters", str(max_iters), "--batch-size", "2", "--eval-iters", "1",
            "--n-layers", "1", "--n-heads", "2", "--d-model", str(d_model),
            "--max-seq-len", "96", "--sample-tokens", "0", "--no-progress",
            "--device", "cpu", *extra]  # fmt: skip
    assert main(argv) == 0
    return d / "run" / "checkpoint"


@pytest.fixture(scope="module")
def base_ckpt(tmp_path_factory) -> Path:
    return _pretrain(tmp_path_factory.mktemp("base"), 2, 32, "--eval-interval", "2")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("jsonl")
    lines = [
        "But soft what light",
        "O Romeo Romeo",
        "wherefore art thou",
        "through yonder window",
    ]
    return dict(
        cls=_jsonl(
            d / "cls.jsonl",
            [dict(text=t, label=["a", "b"][i % 2]) for i, t in enumerate(lines * 2)],
        ),
        sft=_jsonl(
            d / "sft.jsonl",
            [
                dict(instruction="Give the first word.", input=t, response=t.split()[0])
                for t in lines
            ],
        ),
    )


def _run(tmp, *args) -> int:
    common = [
        "--no-progress",
        "--batch-size",
        "4",
        "--eval-interval",
        "2",
        "--ckpt-interval",
        "2",
        "--log-interval",
        "2",
    ]
    return main(["finetune", *common, *args])


def test_finetune_classify_with_lora_resumes_exactly(base_ckpt, data, tmp_path, capsys):
    args = [
        "--checkpoint",
        str(base_ckpt),
        "--data",
        data["cls"],
        "--task",
        "classify",
        "--lora-rank",
        "4",
    ]
    assert (
        _run(tmp_path, *args, "--max-iters", "4", "--out-dir", str(tmp_path / "a")) == 0
    )
    assert (
        _run(tmp_path, *args, "--max-iters", "2", "--out-dir", str(tmp_path / "b")) == 0
    )
    assert (
        _run(
            tmp_path,
            *args,
            "--max-iters",
            "4",
            "--out-dir",
            str(tmp_path / "b"),
            "--resume",
        )
        == 0
    )
    a, _, meta = load_finetuned(tmp_path / "a")
    b, _, _ = load_finetuned(tmp_path / "b")
    assert meta["labels"] == ["a", "b"] and meta["lora"]["r"] == 4
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    rows = lambda d: [
        {k: v for k, v in json.loads(r).items() if k != "tokens_per_sec"}
        for r in (d / "metrics.jsonl").read_text().splitlines()
    ]
    assert rows(tmp_path / "a") == rows(tmp_path / "b")
    assert (tmp_path / "a" / "adapters.safetensors").is_file()
    capsys.readouterr()
    assert (
        main(
            [
                "classify",
                "--checkpoint",
                str(tmp_path / "a"),
                "--text",
                "But soft",
                "--text",
                "O Romeo",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(
        line.split("\t")[0] in ("a", "b") and 0.5 <= float(line.split("\t")[1]) <= 1
        for line in out
    )


def test_finetune_instruct_then_generate(base_ckpt, data, tmp_path, capsys):
    args = [
        "--checkpoint",
        str(base_ckpt),
        "--data",
        data["sft"],
        "--task",
        "instruct",
        "--max-iters",
        "2",
    ]
    assert _run(tmp_path, *args, "--out-dir", str(tmp_path / "s")) == 0
    capsys.readouterr()
    argv = [
        "generate",
        "--checkpoint",
        str(tmp_path / "s"),
        "--prompt",
        "Give the first word.",
        "--input",
        "But soft",
        "--greedy",
        "--max-new-tokens",
        "10",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith(format_prompt("Give the first word.", "But soft"))
        and END not in out[-len(END) - 1 :]
    )
    assert main(["classify", "--checkpoint", str(tmp_path / "s"), "--text", "x"]) == 2


@pytest.mark.parametrize(
    "rows, task, extra, match",
    [
        (
            ['{"text": "But soft", "label": "a"}', '{"text": "O Romeo", "label": '],
            "classify",
            [],
            "line 2: not valid JSON",
        ),
        ([{"text": "But soft"}], "classify", [], "line 1: missing field 'label'"),
        (
            [{"instruction": "Give the first word.", "input": "But soft"}],
            "instruct",
            [],
            "missing field 'response'",
        ),
        ([], "classify", [], "holds no examples"),
        (
            [{"text": "But soft", "label": "a"}, {"text": "O", "label": "b"}],
            "classify",
            ["--val-data", "UNSEEN"],
            "label 'c' was not seen in training",
        ),
        (
            [{"instruction": "Give the first word.", "input": "But soft", "response": "But"}],
            "instruct",
            ["--lora-rank", "0"],
            "--lora-rank must be in",
        ),
        (
            [{"instruction": "Give the first word.", "input": "But soft", "response": "But"}],
            "instruct",
            ["--lora-rank", "999"],
            "--lora-rank must be in",
        ),
    ],
)
def test_bad_input_one_line_status_2(
    rows, task, extra, match, base_ckpt, tmp_path, capsys
):
    path = _jsonl(tmp_path / "d.jsonl", rows)
    unseen = _jsonl(tmp_path / "u.jsonl", [{"text": "But soft", "label": "c"}])
    extra = [unseen if e == "UNSEEN" else e for e in extra]
    argv = [
        "--checkpoint",
        str(base_ckpt),
        "--data",
        path,
        "--task",
        task,
        "--max-iters",
        "1",
        "--out-dir",
        str(tmp_path / "o"),
        *extra,
    ]
    assert _run(tmp_path, *argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and match in err, err
    assert not (tmp_path / "o" / "checkpoint").exists()


def test_resume_onto_a_different_architecture_is_refused(
    base_ckpt, data, tmp_path, capsys
):
    d = tmp_path / "other"
    d.mkdir()
    other = str(_pretrain(d, 1, 16))  # another architecture (width 16, not 32)
    args = [
        "--data",
        data["cls"],
        "--task",
        "classify",
        "--out-dir",
        str(tmp_path / "r"),
    ]
    assert (
        _run(tmp_path, "--checkpoint", str(base_ckpt), *args, "--max-iters", "2") == 0
    )
    capsys.readouterr()
    assert (
        _run(tmp_path, "--checkpoint", other, *args, "--max-iters", "4", "--resume")
        == 2
    )
    assert "different architecture" in capsys.readouterr().err
    assert (
        _run(tmp_path, "--checkpoint", str(tmp_path / "r"), *args, "--overwrite") == 2
    )  # not a base
    assert "already fine-tuned" in capsys.readouterr().err
