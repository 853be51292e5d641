"""The live model on the built course site (book/assets/live_model.js, on the home page and chapter 6's page), in
headless Chromium as in tests/test_site.py: a local server serves book/_build/html, book/check_live_model.mjs drives the
page with every request that leaves the server blocked. Prompts are typed into the box and generated greedily; the text
must equal what `generate` (llm_from_scratch.generation) makes from the same weights, read from the served model file
(`model_from_onnx`). Also: the runtime and the model are not fetched before the first click (page weight and time to a
quiz as before), a sampled run works, the box fits 390 px and generates from the keyboard, and a browser without
WebAssembly gets a clear message. Prints the click-to-first-character time and characters a second. Skips like
test_site.py when Chromium, Node, playwright-core or the built site is missing.
"""
from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
from http.server import ThreadingHTTPServer

import pytest
import torch
from test_site import (  # the site test's server and browser lookup
    ROOT,
    SHOTS,
    SITE,
    _chromium,
    _Quiet,
)

PAGES = ("06_generation", "index")
PROMPTS = ("ROMEO:", "To be, or not", "KING HENRY VI:\nWhat")
COUNT = 100  # characters a prompt: past the model's 64-character window


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    chromium = _chromium()
    missing = {"Chromium (apt-get install chromium)": chromium, "Node.js": shutil.which("node"),
               "node_modules/playwright-core (npm ci)": (ROOT / "node_modules" / "playwright-core").exists(),
               "the built site (python tools/build_site.py)": (SITE / "index.html").exists()}
    if lacking := [what for what, there in missing.items() if not there]: pytest.skip(f"no {lacking[0]}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = tmp_path_factory.mktemp("live")
    results = {}
    try:
        for page in PAGES:
            cfg = {"base": f"http://127.0.0.1:{server.server_address[1]}/", "chromium": chromium, "page": page,
                   "prompts": list(PROMPTS) if page == PAGES[0] else list(PROMPTS[:1]), "count": COUNT,
                   "out": str(tmp / f"{page}.json"), "screenshot": str(tmp / f"live-{page}.png"),
                   "phone_screenshot": str(tmp / f"live-{page}-390.png")}
            (tmp / f"{page}-config.json").write_text(json.dumps(cfg))
            r = subprocess.run(["node", str(ROOT / "book" / "check_live_model.mjs"), str(tmp / f"{page}-config.json")],
                               cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, f"browser run failed:\n{r.stdout}\n{r.stderr}"
            results[page] = json.loads((tmp / f"{page}.json").read_text())
        SHOTS.mkdir(parents=True, exist_ok=True)
        for f in tmp.glob("*.png"): shutil.copy2(f, SHOTS / f.name)
    finally:
        server.shutdown()
        server.server_close()
    return results


@pytest.fixture(scope="module")
def expected():
    """`generate`'s greedy text for each prompt, from the weights of the model file the site serves."""
    from llm_from_scratch.commands.export import model_from_onnx
    from llm_from_scratch.generation import generate
    served = SITE / "_static" / "live-model" / "char.onnx"
    if not served.exists(): pytest.skip("the built site has no live model")
    model = model_from_onnx(served)
    chars = json.loads(served.with_suffix(".tokenizer.json").read_text())["chars"]
    out = {}
    for p in PROMPTS:
        ids = torch.tensor([chars.index(c) for c in p])
        new = generate(model, ids, COUNT, do_sample=False)[len(ids):]
        out[p] = "".join(chars[int(t)] for t in new)
    return out


@pytest.mark.parametrize("page", PAGES)
def test_greedy_text_in_the_browser_equals_generate(live, expected, page):
    r = live[page]
    assert not r["errors"], r["errors"]
    assert r["greedy"], r
    for g in r["greedy"]:
        assert g["text"] == expected[g["prompt"]], (g["prompt"], g["text"], expected[g["prompt"]])
    print(f"\n{page}: greedy text equals generate's for {len(r['greedy'])} prompt(s) of {COUNT} characters; "
          + "; ".join(f"first character {g['first_token_ms'] / 1000:.2f} s after the click, "
                      f"{g['tokens_per_second']:.0f} characters/s" for g in r["greedy"]))


@pytest.mark.parametrize("page", PAGES)
def test_nothing_heavy_loads_before_the_click(live, page):
    assert live[page]["before_click"] == [], live[page]["before_click"]


def test_sampling_phone_keyboard_and_no_webassembly(live):
    r = live[PAGES[0]]
    s = r["sampled"]
    assert s["text"] is not None and len(s["text"]) == COUNT, s
    phone = r["phone"]
    assert phone["fits"] and phone["text"] is not None and len(phone["text"]) == COUNT, phone
    nw = r["no_wasm"]
    assert nw["state"] == "no-wasm" and nw["disabled"] and "no WebAssembly" in nw["status"], nw
