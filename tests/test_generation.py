"""Decoding in `llm_from_scratch.generation` against Hugging Face `generate()` and its logits processors.

Reference models are random tiny `transformers.GPT2LMHeadModel`s saved with `save_pretrained` and loaded into our GPT with
`from_pretrained`; their weights are scaled up so that distributions are peaky and the chosen end token really occurs.
"""
import itertools
import warnings

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402
from transformers.generation.logits_process import (  # noqa: E402
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.utils import logging as hf_logging  # noqa: E402

from llm_from_scratch.config import GenerationError, GPTConfig, preset
from llm_from_scratch.generation import (
    DecodeContext,
    decode_stream,
    generate,
    process_logits,
    stream,
)
from llm_from_scratch.model import GPT

hf_logging.set_verbosity_error()
V, EOS, PAD = 40, 10, 2   # tiny vocabulary; EOS is a token the seed-0 model emits (see test_eos_occurs)


# One torch thread for the whole module (shared fixture in tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _pair(tmp_path_factory, seed: int, vocab: int = V, n_pos: int = 32):
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=vocab, n_positions=n_pos, n_embd=32, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=1,
                     resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    hf = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():
        for p in hf.parameters():
            if p.dim() > 1: p.mul_(8.0)       # peaky distributions: greedy/beam choices far from ties
    d = tmp_path_factory.mktemp(f"hf{seed}")
    hf.save_pretrained(d)
    return hf, GPT.from_pretrained(d)


@pytest.fixture(scope="module")
def pair(tmp_path_factory): return _pair(tmp_path_factory, 0)


@pytest.fixture(scope="module")
def pair1(tmp_path_factory): return _pair(tmp_path_factory, 1)


PROMPTS = torch.tensor([[3, 4, 5, 6], [7, 8, 9, 10]])


def hf_generate(hf, ids, max_new_tokens, eos_token_id=None, pad_token_id=PAD, **kw):
    hf.generation_config.eos_token_id = eos_token_id      # None must mean "no eos", not the config's default
    kw.setdefault("top_k", 0)                             # HF defaults top_k to 50; ours to None
    return hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, pad_token_id=pad_token_id,
                       eos_token_id=eos_token_id, **kw)


def check(pair, ids=PROMPTS, n=12, **kw):
    hf, ours = pair
    ref = hf_generate(hf, ids, n, **kw)
    got = generate(ours, ids, n, pad_token_id=PAD, **kw)
    assert got.shape == ref.shape and torch.equal(got, ref), (kw, ref, got)
    return ref


# --- decoding parity with HF generate() ---

@pytest.mark.parametrize("which", ["pair", "pair1"])
def test_greedy(which, request):
    p = request.getfixturevalue(which)
    check(p, n=20)
    check(p, ids=PROMPTS[:1], n=20)
    check(p, n=20, use_cache=False)


def test_eos_occurs(pair):
    """The end token of the beam tests is one the model produces, and it stops and pads a greedy batch like HF."""
    hf, ours = pair
    out = hf_generate(hf, PROMPTS, 12)
    assert (out[:, 4:] == EOS).any()
    ref = check(pair, eos_token_id=EOS)
    assert (ref == PAD).any() or ref.size(1) < 16
    beams = check(pair, num_beams=3, eos_token_id=EOS, length_penalty=0.5, early_stopping=True)
    assert (beams[:, 4:] == EOS).any() and beams.size(1) < 16           # finished early on eos


@pytest.mark.parametrize("num_beams,length_penalty,early_stopping",
                         [(nb, lp, es) for nb in (2, 3, 5) for lp in (0.5, 1.0, 2.0) for es in (True, False, "never")])
def test_beam_search(pair, num_beams, length_penalty, early_stopping):
    kw = dict(num_beams=num_beams, length_penalty=length_penalty, early_stopping=early_stopping)
    check(pair, **kw)
    check(pair, eos_token_id=EOS, **kw)


@pytest.mark.parametrize("lp,es", [(-1.0, False), (0.0, "never"), (1.0, "never")])
def test_beam_search_other_model_and_eos(pair1, lp, es):
    hf, ours = pair1
    out = hf_generate(hf, PROMPTS, 10)
    eos = int(out[0, 6])                                     # a token this model does emit
    check(pair1, n=10, num_beams=4, eos_token_id=eos, length_penalty=lp, early_stopping=es)
    check(pair1, n=10, num_beams=4, eos_token_id=[eos, int(out[1, 7])], length_penalty=lp, early_stopping=es)


@pytest.mark.parametrize("rp", [0.7, 1.3, 2.0])
def test_repetition_penalty(pair, rp):
    check(pair, repetition_penalty=rp)
    check(pair, repetition_penalty=rp, num_beams=3)


@pytest.mark.parametrize("n", [2, 3])
def test_no_repeat_ngram(pair, n):
    ref = check(pair, no_repeat_ngram_size=n, n=20)
    for row in ref.tolist():
        grams = [tuple(row[i:i + n]) for i in range(len(row) - n + 1)]
        assert len(grams) == len(set(grams))
    check(pair, no_repeat_ngram_size=n, num_beams=3, n=20)


@pytest.mark.parametrize("kw", [
    dict(repetition_penalty=1.5, no_repeat_ngram_size=2, num_beams=3, length_penalty=0.5, eos_token_id=EOS),
    dict(repetition_penalty=1.2, no_repeat_ngram_size=3, num_beams=4, early_stopping=True, eos_token_id=EOS),
    dict(repetition_penalty=0.9, no_repeat_ngram_size=2, eos_token_id=EOS),
    dict(num_beams=3, num_return_sequences=3, length_penalty=2.0, eos_token_id=EOS, early_stopping="never"),
    dict(num_beams=2, num_return_sequences=2, repetition_penalty=1.3),
])
def test_combinations(pair, kw):
    check(pair, **kw)
    check(pair, use_cache=False, **kw)


def test_batch_vs_single(pair):
    """Each row of a batch decodes as it would alone (no padding needed: equal-length prompts)."""
    _, ours = pair
    batch = generate(ours, PROMPTS, 12, num_beams=3, eos_token_id=EOS, pad_token_id=PAD)
    for i in range(2):
        one = generate(ours, PROMPTS[i], 12, num_beams=3, eos_token_id=EOS, pad_token_id=PAD)
        assert torch.equal(batch[i, :len(one)], one) and (batch[i, len(one):] == PAD).all()


@pytest.mark.parametrize("kw", [dict(temperature=0.7), dict(top_k=5), dict(top_p=0.8), dict(temperature=1.3, top_k=10, top_p=0.9),
                                dict(repetition_penalty=1.3, top_p=0.9, eos_token_id=EOS),
                                dict(num_beams=3, temperature=0.8, eos_token_id=EOS)])
def test_sampling_matches_hf_draws(pair, kw):
    """With torch's global RNG seeded the same way, we draw exactly HF's tokens (same probabilities, same multinomial)."""
    hf, ours = pair
    torch.manual_seed(123)
    ref = hf_generate(hf, PROMPTS, 15, do_sample=True, **kw)
    torch.manual_seed(123)
    got = generate(ours, PROMPTS, 15, do_sample=True, pad_token_id=PAD, **kw)
    assert torch.equal(got, ref), (kw, ref, got)


def test_sampling_reproducible(pair):
    _, ours = pair
    g = lambda s: torch.Generator().manual_seed(s)
    a = generate(ours, PROMPTS, 30, do_sample=True, top_p=0.95, generator=g(7))
    assert torch.equal(a, generate(ours, PROMPTS, 30, do_sample=True, top_p=0.95, generator=g(7)))
    assert not torch.equal(a, generate(ours, PROMPTS, 30, do_sample=True, top_p=0.95, generator=g(8)))
    many = generate(ours, PROMPTS[0], 10, do_sample=True, num_return_sequences=4, generator=g(7))
    assert many.shape == (4, 14) and len({tuple(r) for r in many.tolist()}) > 1


# --- process_logits against HF's processors ---

def _hf_pipeline(temperature, top_k, top_p, rp, ngram, keep):
    procs = []
    if rp != 1.0: procs.append(RepetitionPenaltyLogitsProcessor(rp))
    if ngram: procs.append(NoRepeatNGramLogitsProcessor(ngram))
    if temperature != 1.0: procs.append(TemperatureLogitsWarper(temperature))
    if top_k: procs.append(TopKLogitsWarper(top_k, min_tokens_to_keep=keep))
    if top_p is not None and top_p < 1.0: procs.append(TopPLogitsWarper(top_p, min_tokens_to_keep=keep))
    return LogitsProcessorList(procs)


def _cases():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 12, (3, 9), generator=g)                     # small id range: repeats and repeated n-grams
    yield "random", ids, torch.randn(3, 30, generator=g) * 3
    yield "ties", ids, torch.randint(-3, 4, (3, 30), generator=g).float()   # many equal logits: top-k ties
    # probabilities with exact cumulative sums at top-p boundaries (0.1, 0.2, 0.3, 0.4 and 0.25 x 4)
    p = torch.tensor([[0.1, 0.2, 0.3, 0.4] + [0.0] * 26, [0.25] * 4 + [0.0] * 26, [0.5, 0.5] + [0.0] * 28])
    yield "boundaries", ids, p.clamp_min(1e-30).log()


@pytest.mark.parametrize("name,ids,logits", list(_cases()), ids=lambda x: x if isinstance(x, str) else "")
def test_process_logits_matches_hf(name, ids, logits):
    n = 0
    top_ps = (None, 0.0, 0.1, 0.3, 0.5, 0.6, 0.75, 0.9, 1.0)   # 0.1 0.3 0.6 0.9 / 0.5 0.75: exact boundaries of the cases
    for t, k, p, rp, ng, keep in itertools.product((1.0, 0.5, 1.7), (None, 0, 1, 3, 40), top_ps, (1.0, 0.7, 1.5), (0, 1, 2, 3),
                                                   (1, 3)):
        ours = process_logits(ids, logits, temperature=t, top_k=k, top_p=p, repetition_penalty=rp, no_repeat_ngram_size=ng,
                              min_tokens_to_keep=keep)
        ref = _hf_pipeline(t, k, p, rp, ng, keep)(ids, logits.clone())
        assert torch.equal(ours, ref), (name, t, k, p, rp, ng, keep)
        n += 1
    assert n == 3 * 5 * 9 * 3 * 4 * 2


def test_process_logits_rejects_bad_values():
    ids, x = torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 5)
    for kw in (dict(temperature=0), dict(temperature=-1.0), dict(top_k=-1), dict(top_k=2.5), dict(top_p=1.5), dict(top_p=-0.1),
               dict(repetition_penalty=0), dict(no_repeat_ngram_size=-1), dict(min_tokens_to_keep=0)):
        with pytest.raises(GenerationError): process_logits(ids, x, **kw)


# --- KV cache and the context window ---

def test_cache_equals_no_cache_past_the_window():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=50, max_seq_len=16, n_layers=2, n_heads=2, d_model=32, dropout=0.0)).eval()
    with torch.no_grad():
        for p in m.parameters(): p.mul_(4.0)
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    for shift in (1, 3, 8, 16):
        a = generate(m, ids, 40, use_cache=True, window_shift=shift)
        b = generate(m, ids, 40, use_cache=False, window_shift=shift)
        assert torch.equal(a, b), shift
        ctx = DecodeContext(m, window_shift=shift)
        for L in range(1, 60):
            s = ctx.window_start(L)
            assert s == 0 if L <= 16 else (16 - shift < L - s <= 16 and s % shift == 0)
    # the exact sliding window (shift 1) is the classic loop that crops to the last max_seq_len tokens
    x = ids
    with torch.no_grad():
        for _ in range(40): x = torch.cat([x, m(x[:, -16:])[0][:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(x, generate(m, ids, 40))
    # cache refills: once at the start, then once per window move
    ctx = DecodeContext(m, window_shift=4, max_len=43)
    seq = ids
    with torch.no_grad():
        for _ in range(40): seq = torch.cat([seq, ctx(seq).argmax(-1, keepdim=True)], 1)
    assert ctx.prefills == 1 + len({ctx.window_start(L) for L in range(17, 43)})


def test_long_prompt_cropped_with_warning_or_refused(pair):
    _, ours = pair                                                # max_seq_len 32
    long = torch.arange(40).remainder(V)[None]
    with pytest.warns(UserWarning, match="longer than max_seq_len"): out = generate(ours, long, 5)
    assert out.shape == (1, 45) and torch.equal(out[:, :40], long)     # the whole prompt comes back
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generate(ours, long[:, -32:], 5)                                 # a prompt that fits: no warning
    with pytest.raises(GenerationError, match="longer than max_seq_len"): generate(ours, long, 5, truncate_prompt=False)


def test_long_prompt_sees_only_the_last_window(pair):
    _, ours = pair
    long = torch.arange(40).remainder(V)[None]
    with pytest.warns(UserWarning):
        out = generate(ours, long, 1)
    with torch.no_grad(): ref = ours(long[:, -32:])[0][:, -1].argmax(-1)
    assert out[0, -1] == ref[0]


# --- API behaviour ---

def test_input_forms_and_ragged_prompts(pair):
    _, ours = pair
    one = generate(ours, [3, 4, 5], 6)
    assert one.shape == (9,) and torch.equal(one, generate(ours, torch.tensor([[3, 4, 5]]), 6)[0])
    rag = generate(ours, [[3, 4, 5], [6, 7]], 6, num_beams=2)
    assert isinstance(rag, list) and [len(r) for r in rag] == [9, 8]
    assert torch.equal(rag[1], generate(ours, [6, 7], 6, num_beams=2))
    assert generate(ours, PROMPTS, 0).shape == PROMPTS.shape


def test_stream_and_streamer(pair):
    _, ours = pair
    full = generate(ours, PROMPTS, 10, eos_token_id=EOS)
    toks = list(stream(ours, PROMPTS, 10, eos_token_id=EOS))
    assert torch.equal(torch.stack(toks, 1), full[:, 4:])
    got = []
    assert torch.equal(generate(ours, PROMPTS, 10, eos_token_id=EOS, streamer=got.append), full) and len(got) == len(toks)
    with pytest.raises(GenerationError, match="beam"): generate(ours, PROMPTS, 3, num_beams=2, streamer=print)
    with pytest.raises(GenerationError, match="beam"): stream(ours, PROMPTS, 3, num_beams=2)
    with pytest.raises(GenerationError, match="unknown"): stream(ours, PROMPTS, 3, temprature=2.0)


def test_mode_restored_and_no_dropout():
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=30, max_seq_len=16, n_layers=1, n_heads=2, d_model=16, dropout=0.5)).train()
    a = generate(m, [1, 2, 3], 8)
    assert m.training and torch.equal(a, generate(m, [1, 2, 3], 8))   # eval mode inside: dropout off, deterministic


@pytest.mark.parametrize("args,kw,match", [
    ((torch.zeros(1, 0, dtype=torch.long), 3), {}, "empty"),
    ((torch.zeros(1, 3), 3), {}, "integer"),
    ((torch.tensor([[1, 99]]), 3), {}, r"\[0, 40\)"),
    ((torch.tensor([[1, 2]]), -1), {}, "max_new_tokens"),
    ((torch.tensor([[1, 2]]), 3), dict(num_beams=0), "num_beams"),
    ((torch.tensor([[1, 2]]), 3), dict(num_beams=2, num_return_sequences=3), "num_return_sequences"),
    ((torch.tensor([[1, 2]]), 3), dict(num_return_sequences=2), "greedy"),
    ((torch.tensor([[1, 2]]), 3), dict(early_stopping="sometimes"), "early_stopping"),
    ((torch.tensor([[1, 2]]), 3), dict(do_sample=True, temperature=0.0), "temperature"),
    ((torch.tensor([[1, 2]]), 3), dict(do_sample=True, top_p=2.0), "top_p"),
    ((torch.tensor([[1, 2]]), 3), dict(window_shift=0), "window_shift"),
    (("hello", 3), {}, "input_ids"),
])
def test_errors(pair, args, kw, match):
    with pytest.raises(GenerationError, match=match): generate(pair[1], *args, **kw)


# --- text streaming and the command ---

def test_decode_stream_holds_back_partial_characters():
    from llm_from_scratch.tokenizer import get_tokenizer
    tok = get_tokenizer("gpt2")
    text = "naïve café 🤖 ok"
    ids = tok.encode(text)
    pieces = list(decode_stream(tok, ids))
    assert "".join(pieces) == text and not any("\ufffd" in p for p in pieces) and len(pieces) > 3


@pytest.fixture(scope="module")
def char_ckpt(tmp_path_factory):
    from llm_from_scratch.checkpoints import save_checkpoint
    from llm_from_scratch.config import TrainConfig
    from llm_from_scratch.tokenizer import CharTokenizer
    tok = CharTokenizer("\n abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:.,!?")
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=tok.n_vocab, max_seq_len=32, n_layers=2, n_heads=2, d_model=32, dropout=0.0))
    d = tmp_path_factory.mktemp("ckpt") / "checkpoint"
    save_checkpoint(d, m, torch.optim.AdamW(m.parameters()), tok, TrainConfig(), step=0)
    return d, m, tok


def test_cli_streams_from_checkpoint(char_ckpt, monkeypatch):
    from llm_from_scratch.commands.main import main
    d, m, tok = char_ckpt
    writes = []

    class Recorder:
        def write(self, s): writes.append(s)
        def flush(self): pass
    monkeypatch.setattr("sys.stdout", Recorder())
    assert main(["generate", "--checkpoint", str(d), "--prompt", "ROMEO:", "--greedy", "--max-new-tokens", "40"]) == 0
    text = "".join(writes)
    ref = tok.decode(generate(m, tok.encode("ROMEO:"), 40).tolist())
    assert text == ref + "\n" and len(writes) > 20               # streamed piece by piece, not printed at the end
    writes.clear()
    assert main(["generate", "--checkpoint", str(d.parent), "--prompt", "A", "--seed", "1", "--top-k", "5",
                 "--num-samples", "2", "--max-new-tokens", "10"]) == 0   # the run directory works too
    assert "".join(writes).count("\n---\n") == 1
    writes.clear()
    assert main(["generate", "--checkpoint", str(d), "--prompt", "A", "--num-beams", "3", "--max-new-tokens", "10"]) == 0
    assert "".join(writes) == tok.decode(generate(m, tok.encode("A"), 10, num_beams=3).tolist()) + "\n"


def test_cli_errors(char_ckpt, tmp_path, capsys):
    import shutil

    from llm_from_scratch.commands.main import main
    d, _, _ = char_ckpt
    broken = tmp_path / "broken"
    shutil.copytree(d, broken)
    (broken / "tokenizer.json").unlink()
    corrupt = tmp_path / "corrupt"
    shutil.copytree(d, corrupt)
    (corrupt / "tokenizer.json").write_text("{not json")
    badw = tmp_path / "badw"
    shutil.copytree(d, badw)
    (badw / "model.safetensors").write_bytes(b"garbage")
    cases = [(["--checkpoint", str(tmp_path / "nope")], "not found"), (["--checkpoint", str(broken)], "tokenizer.json"),
             (["--checkpoint", str(corrupt)], "corrupt"), (["--checkpoint", str(badw)], "model.safetensors"),
             (["--checkpoint", str(d), "--prompt", ""], "empty prompt"),
             (["--checkpoint", str(d), "--prompt", "hi ☃"], "not in this tokenizer"),
             (["--checkpoint", str(d), "--temperature", "0"], "temperature")]
    for args, msg in cases:
        assert main(["generate", *args]) == 2, args
        cap = capsys.readouterr()
        err = cap.err.strip()
        assert msg in err and len(err.splitlines()) == 1 and cap.out == "", (args, err, cap.out)


def test_cli_pretrained_gpt2_and_special_tokens(tmp_path, capsys):
    """--pretrained with a local HF directory (GPT-2 vocabulary, tiny width); special tokens need --allow-special."""
    from llm_from_scratch.commands.main import main
    torch.manual_seed(0)
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_positions=64, n_embd=8, n_layer=1, n_head=2))
    hf.save_pretrained(tmp_path / "gpt2-tiny")
    args = ["generate", "--pretrained", str(tmp_path / "gpt2-tiny"), "--max-new-tokens", "5", "--greedy"]
    assert main([*args, "--prompt", "Hello, world"]) == 0
    assert capsys.readouterr().out.startswith("Hello, world")
    assert main([*args, "--prompt", "<|endoftext|>Hi"]) == 2
    assert "special token" in capsys.readouterr().err
    assert main([*args, "--prompt", "<|endoftext|>Hi", "--allow-special"]) == 0


def test_cli_generates_from_a_trained_checkpoint(tmp_path, monkeypatch):
    """End to end: `llm-from-scratch train` writes a checkpoint, `generate` streams from it (the run dir works too)."""
    from llm_from_scratch.commands.main import main
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--max-iters", "2", "--eval-iters", "1", "--eval-interval", "2",
                 "--out-dir", str(out), "--no-progress", "--sample-tokens", "0"]) == 0
    writes = []

    class Recorder:
        def write(self, s): writes.append(s)
        def flush(self): pass
    monkeypatch.setattr("sys.stdout", Recorder())
    for ckpt in (out / "checkpoint", out):
        writes.clear()
        assert main(["generate", "--checkpoint", str(ckpt), "--prompt", "ROMEO:", "--max-new-tokens", "15", "--seed", "0"]) == 0
        assert "".join(writes).startswith("ROMEO:") and len(writes) >= 15


@pytest.mark.parametrize("empty", [[], [[]], torch.tensor([], dtype=torch.long), torch.zeros(1, 0, dtype=torch.long)])
def test_an_empty_prompt_says_so(empty):
    """The first-hour mistake `generate(model, [])`: the message is about the empty prompt, not about a dtype."""
    model = GPT(preset("tiny")).eval()
    with pytest.raises(GenerationError, match=r"input_ids is empty: the prompt needs at least one token"):
        generate(model, empty, 5)
