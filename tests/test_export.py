"""`llm-from-scratch export` and `llm_from_scratch.commands.export`: ONNX Runtime's logits equal PyTorch's (fp32 within
1e-4; the int8 file within 1e-4 of its int8-rounded PyTorch model, and within INT8_BOUND of the fp32 one) at lengths 1,
2 and the full context; greedy decoding through the graph, window included, equals `generate`; bad input is one line.
Also the committed site model (book/assets/live-model/): its provenance matches the file."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from llm_from_scratch.commands.export import (  # noqa: E402
    FP32_BOUND,
    ExportError,
    export_main,
    export_onnx,
    int8_reference,
    model_from_onnx,
    onnx_logits,
    onnx_session,
)
from llm_from_scratch.commands.main import main  # noqa: E402
from llm_from_scratch.commands.train import train_main  # noqa: E402
from llm_from_scratch.config import preset  # noqa: E402
from llm_from_scratch.generation import generate  # noqa: E402
from llm_from_scratch.model import GPT  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SITE_MODEL = ROOT / "book" / "assets" / "live-model" / "char.onnx"
INT8_BOUND = 0.2  # max |logit difference| of an int8 file from the fp32 model (the site's model: 0.15 at 64 tokens)
LENGTHS = (1, 2, 32)  # the tiny preset's context is 32


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny random GPT (vocabulary 65, context 32), exported fp32 and int8 (one trace each)."""
    torch.manual_seed(0)
    model = GPT(preset("tiny", vocab_size=65)).eval()
    d = tmp_path_factory.mktemp("export")
    reports = {int8: export_onnx(model, d / f"m{int(int8)}.onnx", int8=int8) for int8 in (False, True)}
    return model, d, reports


@pytest.mark.parametrize("int8", [False, True])
@pytest.mark.parametrize("T", LENGTHS)
def test_onnx_runtime_logits_equal_pytorch(tiny, int8, T):
    model, d, _ = tiny
    session = onnx_session(d / f"m{int(int8)}.onnx")
    ids = torch.randint(0, 65, (3, T), generator=torch.Generator().manual_seed(T))
    ref = int8_reference(model) if int8 else model
    with torch.no_grad():
        got, want, fp32 = onnx_logits(session, ids), ref(ids)[0], model(ids)[0]
    assert got.shape == (3, T, 65)
    assert (got - want).abs().max() <= FP32_BOUND
    assert (got - fp32).abs().max() <= (INT8_BOUND if int8 else FP32_BOUND)


def test_the_file_holds_the_weights(tiny):
    model, d, reports = tiny
    for int8 in (False, True):
        back = model_from_onnx(d / f"m{int(int8)}.onnx")
        ref = int8_reference(model) if int8 else model
        assert back.cfg == model.cfg
        assert all(torch.equal(p, q) for p, q in zip(back.parameters(), ref.parameters()))
    assert reports[True]["bytes"] < reports[False]["bytes"] / 2  # int8: a quarter of the weights' bytes, plus the graph


def _onnx_greedy(session, ids: list[int], n: int, M: int) -> list[int]:
    """Greedy decoding through the graph as book/assets/live_model.js does it: the last M tokens each step."""
    ids = list(ids)
    for _ in range(n):
        logits = onnx_logits(session, torch.tensor([ids[-M:]]))
        ids.append(int(logits[0, -1].argmax()))
    return ids


def test_greedy_through_the_graph_equals_generate_past_the_window(tiny):
    model, d, _ = tiny
    M = model.cfg.max_seq_len
    prompt = [5, 17, 40, 2]
    n = 2 * M  # past the context: the window slides, as in generate (window_shift=1)
    want = generate(model, torch.tensor(prompt), n, do_sample=False).tolist()
    assert _onnx_greedy(onnx_session(d / "m0.onnx"), prompt, n, M) == want


def test_a_model_in_training_mode_is_refused(tmp_path):
    with pytest.raises(ExportError, match="eval mode"):
        export_onnx(GPT(preset("tiny")).train(), tmp_path / "m.onnx")


@pytest.mark.parametrize("args, message", [
    (["--checkpoint", "no/such/dir", "--out", "x.onnx"], "no training checkpoint in no/such/dir"),
    (["--out", "x.onnx"], "--checkpoint"),
])
def test_bad_input_is_one_line(args, message):
    r = subprocess.run([sys.executable, "-c", "import sys; from llm_from_scratch.commands.main import main; "
                        "sys.exit(main(sys.argv[1:]))", "export", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert message in r.stderr and (len(lines) == 1 or lines[0].startswith("usage:")), r.stderr


def test_bad_out_and_bad_file(tmp_path):
    out = tmp_path / "ck"
    assert train_main(["--preset", "tiny", "--max-iters", "1", "--eval-iters", "1", "--out-dir", str(out),
                       "--no-progress", "--sample-tokens", "0"]) == 0
    with pytest.raises(ExportError, match="must name a .onnx file"):
        export_main(["--checkpoint", str(out), "--out", str(tmp_path / "m.txt")])
    assert main(["export", "--checkpoint", str(out), "--out", str(tmp_path / "m.txt")]) == 2
    (tmp_path / "junk.onnx").write_bytes(b"not a graph")
    with pytest.raises(ExportError, match="not an ONNX file written by `export`"):
        model_from_onnx(tmp_path / "junk.onnx")
    with pytest.raises(ExportError, match="no such file"):
        model_from_onnx(tmp_path / "missing.onnx")


def test_a_missing_library_names_the_extra():
    code = ("import sys; sys.modules['onnxscript'] = None\n"
            "from llm_from_scratch.commands.export import export_onnx\n"
            "from llm_from_scratch.config import preset\nfrom llm_from_scratch.model import GPT\n"
            "export_onnx(GPT(preset('tiny')).eval(), 'x.onnx')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "pip install 'llm-from-scratch-course[export]'" in r.stderr.splitlines()[-1]


def test_the_site_model_matches_its_provenance():
    """The committed model: the file is the one the export checked and described (SHA-256), chapter 5's full run
    (2000 steps, its validation loss), and ONNX Runtime reproduces the PyTorch model it holds at lengths 1, 2, 64."""
    prov = json.loads(SITE_MODEL.with_suffix(".provenance.json").read_text())
    assert hashlib.sha256(SITE_MODEL.read_bytes()).hexdigest() == prov["onnx"]["sha256"]
    assert prov["checkpoint"]["step"] == 2000 and prov["checkpoint"]["val_loss"] < 1.95
    assert json.loads(SITE_MODEL.with_suffix(".tokenizer.json").read_text())["type"] == "char"
    model = model_from_onnx(SITE_MODEL)
    session = onnx_session(SITE_MODEL)
    for T in (1, 2, model.cfg.max_seq_len):
        ids = torch.randint(0, model.cfg.vocab_size, (2, T), generator=torch.Generator().manual_seed(T))
        with torch.no_grad():
            assert (onnx_logits(session, ids) - model(ids)[0]).abs().max() <= FP32_BOUND
