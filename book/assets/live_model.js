// The course's character model, running in the reader's browser: no server, no kernel.
//
// A page puts `<div class="lfs-live-model"></div>` where the box goes and loads this script. The box has a prompt, a
// Generate button, greedy or sampling with temperature, top-k and top-p, and a length; the text appears as it is
// produced. Nothing heavy loads with the page: ONNX Runtime's WebAssembly build (served by the site, copied from npm's
// onnxruntime-web by tools/build_site.py into _static/ort/) and the model (_static/live-model/char.onnx, written by
// `llm-from-scratch export`) load on the first click. One thread: GitHub Pages cannot send the COOP/COEP headers that
// WebAssembly threads need.
//
// Decoding is `llm_from_scratch.generation.generate`'s, step for step: the model sees the last max_seq_len tokens
// (window_shift=1); greedy takes the argmax of the logits; sampling divides them by the temperature, keeps the top-k
// (ties with the k-th included), then the top-p nucleus (Hugging Face's rule: sort ascending and drop each token whose
// mass, with all less likely ones, is <= 1 - p; the most likely always stays), and draws from the softmax.
// tests/test_browser_model.py checks that greedy text here equals `generate`'s for the same weights.
(function () {
  "use strict";
  const script = document.currentScript;
  const BASE = new URL(".", script ? script.src : document.baseURI).href;  // .../_static/
  const MODEL = BASE + "live-model/char.onnx";
  let loading = null;  // the promise of {ort, session, chars, stoi, M, V, prov}, made on the first click

  const CSS = `
.lfs-live { border: 1px solid var(--pst-color-border, #ccc); border-radius: 6px; padding: .8rem; margin: 1rem 0; }
.lfs-live textarea { width: 100%; box-sizing: border-box; font-family: var(--pst-font-family-monospace, monospace);
  font-size: .95rem; }
.lfs-live-controls { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin: .5rem 0; }
.lfs-live-controls label { display: inline-flex; gap: .3rem; align-items: center; white-space: nowrap; }
.lfs-live-controls input[type=number] { width: 5.5em; }
.lfs-live-controls input:disabled { opacity: .5; }
.lfs-live button { padding: .3rem 1.1rem; font-weight: 600; }
.lfs-live button:focus-visible, .lfs-live input:focus-visible, .lfs-live textarea:focus-visible {
  outline: 3px solid var(--pst-color-primary, #1a73e8); outline-offset: 1px; }
.lfs-live-out { white-space: pre-wrap; word-break: break-word; min-height: 3em; max-height: 24em; overflow-y: auto;
  margin: .5rem 0 .3rem; }
.lfs-live-out .lfs-live-prompt { font-weight: 700; }
.lfs-live-status { font-size: .85rem; margin: 0; color: var(--pst-color-text-muted, #555); }
.lfs-live-status.lfs-live-error { color: var(--pst-color-danger, #b00020); }`;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  }

  function number(label, cls, value, attrs) {
    const input = el("input", { type: "number", class: cls, value: String(value), inputmode: "decimal", ...attrs });
    return [el("label", {}, label, input), input];
  }

  async function load() {
    const ort = await import(BASE + "ort/ort.wasm.min.mjs");
    ort.env.wasm.wasmPaths = BASE + "ort/";
    ort.env.wasm.numThreads = 1;  // no SharedArrayBuffer without COOP/COEP
    ort.env.wasm.proxy = false;
    const [session, tok, prov] = await Promise.all([
      ort.InferenceSession.create(MODEL, { executionProviders: ["wasm"], graphOptimizationLevel: "basic" }),
      fetch(MODEL.replace(/\.onnx$/, ".tokenizer.json")).then((r) => r.json()),
      fetch(MODEL.replace(/\.onnx$/, ".provenance.json")).then((r) => r.json()),
    ]);
    if (tok.type !== "char") throw new Error(`tokenizer ${tok.type}: this page reads only the character tokenizer`);
    const chars = [...tok.chars];
    return { ort, session, chars, stoi: new Map(chars.map((c, i) => [c, i])), M: prov.model.max_seq_len,
             V: prov.model.vocab_size, prov };
  }

  // ---- the decoding rules of llm_from_scratch.generation (scores: a Float64Array of the last position's logits)
  function argmax(s) {
    let best = 0;
    for (let i = 1; i < s.length; i++) if (s[i] > s[best]) best = i;  // the first of equal maxima, as torch
    return best;
  }
  function topK(s, k) {
    k = Math.min(Math.max(k, 1), s.length);
    const kth = Float64Array.from(s).sort().reverse()[k - 1];
    return s.map((x) => (x < kth ? -Infinity : x));
  }
  function softmax(s) {
    const m = Math.max(...s);
    const e = s.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / z);
  }
  function topP(s, p) {
    const order = [...s.keys()].sort((a, b) => s[a] - s[b]);  // ascending
    const probs = softmax(Float64Array.from(order, (i) => s[i]));
    const out = Float64Array.from(s);
    let cum = 0;
    for (let j = 0; j < order.length - 1; j++) {  // the most likely one always stays
      cum += probs[j];
      if (cum <= 1 - p) out[order[j]] = -Infinity;
    }
    return out;
  }
  function sample(s, o) {
    if (o.temperature !== 1) s = s.map((x) => x / o.temperature);
    if (o.topK) s = topK(s, o.topK);
    if (o.topP < 1) s = topP(s, o.topP);
    const probs = softmax(s);
    let r = Math.random(), i = 0;
    for (; i < probs.length - 1; i++) { r -= probs[i]; if (r < 0) break; }
    return i;
  }

  function render(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    root.classList.add("lfs-live");
    root.setAttribute("role", "group");
    root.setAttribute("aria-label", "Generate text with the course's character model, in this browser");
    const id = `lfs-live-prompt-${document.querySelectorAll(".lfs-live").length}`;
    const prompt = el("textarea", { rows: "2", class: "lfs-live-prompt-input", id, spellcheck: "false" });
    prompt.value = root.dataset.prompt || "ROMEO:";
    const greedy = el("input", { type: "checkbox", class: "lfs-live-greedy" });
    const [tempL, temp] = number("temperature", "lfs-live-temperature", 0.8, { min: "0.05", max: "5", step: "0.05" });
    const [kL, topk] = number("top-k", "lfs-live-top-k", 0, { min: "0", step: "1", title: "0: all tokens" });
    const [pL, topp] = number("top-p", "lfs-live-top-p", 1, { min: "0", max: "1", step: "0.05", title: "1: all tokens" });
    const [nL, count] = number("characters", "lfs-live-count", 200, { min: "1", max: "2000", step: "1" });
    const button = el("button", { type: "button", class: "lfs-live-generate" }, "Generate");
    const out = el("div", { class: "lfs-live-out", "aria-live": "polite", "aria-label": "Generated text",
                            tabindex: "0" });
    const status = el("p", { class: "lfs-live-status", role: "status" },
      "Runs here, in your browser: the first click loads ONNX Runtime and the model (about 17 MB, once).");
    root.replaceChildren(
      el("label", { class: "lfs-live-label", for: id }, "Prompt (Ctrl+Enter generates)"), prompt,
      el("div", { class: "lfs-live-controls" }, el("label", {}, greedy, "greedy"), tempL, kL, pL, nL, button),
      out, status);
    const sync = () => { for (const i of [temp, topk, topp]) i.disabled = greedy.checked; };
    greedy.addEventListener("change", sync);
    sync();
    const say = (text, error) => { status.textContent = text; status.classList.toggle("lfs-live-error", !!error); };
    if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
      button.disabled = true;
      say("This browser has no WebAssembly (or it is turned off), which the model needs to run in the page. "
          + "Enable it, or run the model with `llm-from-scratch generate` or in Colab.", true);
      root.dataset.state = "no-wasm";
      return;
    }
    let stop = false, running = false;
    async function generate() {
      if (running) { stop = true; return; }
      const opts = { greedy: greedy.checked, temperature: +temp.value, topK: Math.round(+topk.value || 0),
                     topP: topp.value === "" ? 1 : +topp.value, n: Math.round(+count.value) };
      const text = prompt.value;
      if (!text) { say("Type a prompt first: the model continues it.", true); return; }
      if (!opts.greedy && !(opts.temperature > 0)) { say("The temperature must be a number > 0.", true); return; }
      if (!opts.greedy && !(opts.topP >= 0 && opts.topP <= 1)) { say("top-p must be between 0 and 1.", true); return; }
      if (!opts.greedy && !(opts.topK >= 0)) { say("top-k must be 0 (all tokens) or more.", true); return; }
      if (!(opts.n >= 1 && opts.n <= 2000)) { say("characters: from 1 to 2000.", true); return; }
      const t0 = performance.now();
      running = true; stop = false;
      button.textContent = "Stop";
      root.dataset.state = "loading";
      try {
        if (!loading) { say("Loading ONNX Runtime and the model..."); loading = load(); }
        let m;
        try { m = await loading; } catch (e) { loading = null; throw e; }
        const unknown = [...new Set([...text].filter((c) => !m.stoi.has(c)))];
        if (unknown.length) {
          say(`The model knows only the ${m.chars.length} characters of TinyShakespeare; not `
              + unknown.map((c) => JSON.stringify(c)).join(", ") + ".", true);
          return;
        }
        const ids = [...text].map((c) => m.stoi.get(c));
        out.replaceChildren(el("span", { class: "lfs-live-prompt", text }));
        const made = document.createTextNode("");
        out.append(made);
        root.dataset.state = "running";
        say("Generating...");
        let first = null, tStart = null;
        for (let i = 0; i < opts.n && !stop; i++) {
          const win = ids.slice(Math.max(0, ids.length - m.M));  // the last max_seq_len tokens
          const input = new m.ort.Tensor("int64", BigInt64Array.from(win, BigInt), [1, win.length]);
          const logits = (await m.session.run({ input_ids: input })).logits.data;
          const last = Float64Array.from(logits.subarray((win.length - 1) * m.V, win.length * m.V));
          const tok = opts.greedy ? argmax(last) : sample(last, opts);
          ids.push(tok);
          made.data += m.chars[tok];
          out.scrollTop = out.scrollHeight;
          if (first === null) { first = performance.now() - t0; tStart = performance.now(); }
          await new Promise((ok) => setTimeout(ok, 0));  // let the page paint the new character
        }
        const n = ids.length - [...text].length;
        const secs = (performance.now() - tStart) / 1000;
        const rate = n > 1 ? (n - 1) / secs : 0;
        root.dataset.firstTokenMs = String(Math.round(first));
        root.dataset.tokensPerSecond = rate.toFixed(1);
        root.dataset.generated = made.data;
        say(`${n} characters${stop ? " (stopped)" : ""}; the first ${(first / 1000).toFixed(2)} s after the click, `
            + `then ${rate.toFixed(0)} a second. Model: chapter 5's, step ${m.prov.checkpoint.step}, validation loss `
            + `${m.prov.checkpoint.val_loss.toFixed(3)}${m.prov.onnx.int8 ? ", int8 weights" : ""}.`);
      } catch (e) {
        say(`The model could not run here: ${e.message || e}`, true);
      } finally {
        running = false;
        button.textContent = "Generate";
        root.dataset.state = "done";
      }
    }
    button.addEventListener("click", generate);
    prompt.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); generate(); }
    });
  }

  function start() {
    if (!document.getElementById("lfs-live-css")) document.head.append(el("style", { id: "lfs-live-css", text: CSS }));
    document.querySelectorAll(".lfs-live-model").forEach(render);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
