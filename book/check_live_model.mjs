// Drive the live model (book/assets/live_model.js) in headless Chromium and report what a reader would see, as JSON.
//
//   node book/check_live_model.mjs CONFIG.json
//
// CONFIG: {"base": "http://127.0.0.1:PORT/", "chromium": "/usr/bin/chromium", "page": "06_generation",
//          "prompts": ["ROMEO:", ...], "count": 100, "out": "results.json", "screenshot": "live.png"}
// Used by tests/test_browser_model.py, which serves book/_build/html. Requests that leave the server are blocked. It
// records: what the page fetched before any click (the runtime and the model must not be among them); for each prompt,
// typed into the box, greedy text of `count` characters, the click-to-first-character time and characters a second;
// a sampled run (temperature, top-k, top-p set); a run started from the keyboard at 390 px, and whether the box fits
// that width; and what the box says in a browser without WebAssembly.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = new URL(cfg.base);
const url = new URL(`${cfg.page}.html`, base).href;
const browser = await chromium.launch({
  executablePath: cfg.chromium, headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});
const out = { errors: [], before_click: [], greedy: [] };

async function open(viewport, init, errors = out.errors) {
  const ctx = await browser.newContext({ viewport, serviceWorkers: "block" });
  const page = await ctx.newPage();
  if (init) await page.addInitScript(init);
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  await page.route("**/*", (route) => (new URL(route.request().url()).host === base.host
    || /^(data|blob):/.test(route.request().url()) ? route.continue() : route.abort("internetdisconnected")));
  return { ctx, page };
}

async function run(page, prompt, settings) {
  const box = page.locator(".lfs-live-model").first();
  await box.locator("textarea").fill(prompt);
  await box.locator(".lfs-live-greedy").setChecked(settings.greedy);
  for (const [cls, v] of Object.entries(settings.fields ?? {})) await box.locator(`.${cls}`).fill(String(v));
  await box.locator(".lfs-live-count").fill(String(cfg.count));
  if (settings.keyboard) {
    await box.locator("textarea").focus();
    await page.keyboard.press("Control+Enter");
  } else {
    await box.locator(".lfs-live-generate").click();
  }
  await page.waitForFunction((b) => b.dataset.state === "done", await box.elementHandle(), { timeout: 120000 });
  return box.evaluate((b) => ({ text: b.dataset.generated ?? null, first_token_ms: +b.dataset.firstTokenMs,
    tokens_per_second: +b.dataset.tokensPerSecond, status: b.querySelector(".lfs-live-status").textContent }));
}

try {
  // desktop: nothing heavy before the click, then greedy runs and a sampled one
  const { ctx, page } = await open({ width: 1280, height: 900 });
  const seen = [];
  page.on("request", (q) => seen.push(q.url()));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector(".lfs-live-model .lfs-live-generate", { timeout: 20000 });
  await page.waitForTimeout(500);
  out.before_click = seen.filter((u) => /\/ort\/|live-model\//.test(u));
  if (cfg.screenshot) await page.locator(".lfs-live-model").first().screenshot({ path: cfg.screenshot });
  for (const prompt of cfg.prompts) out.greedy.push({ prompt, ...(await run(page, prompt, { greedy: true })) });
  out.sampled = await run(page, cfg.prompts[0], { greedy: false,
    fields: { "lfs-live-temperature": 0.8, "lfs-live-top-k": 10, "lfs-live-top-p": 0.9 } });
  await ctx.close();

  // phone width, by keyboard
  const phone = await open({ width: 390, height: 844 });
  await phone.page.goto(url, { waitUntil: "load" });
  await phone.page.waitForSelector(".lfs-live-model .lfs-live-generate", { timeout: 20000 });
  out.phone = await run(phone.page, cfg.prompts[0], { greedy: true, keyboard: true });
  out.phone.fits = await phone.page.locator(".lfs-live-model").first().evaluate((b) => {
    const r = b.getBoundingClientRect();
    return b.scrollWidth <= b.clientWidth + 1 && r.right <= window.innerWidth + 1;
  });
  if (cfg.phone_screenshot) await phone.page.locator(".lfs-live-model").first().screenshot({ path: cfg.phone_screenshot });
  await phone.ctx.close();

  // no WebAssembly
  out.no_wasm_errors = [];  // other scripts of the page may need WebAssembly too: recorded apart
  const bare = await open({ width: 1280, height: 900 }, () => { delete globalThis.WebAssembly; }, out.no_wasm_errors);
  await bare.page.goto(url, { waitUntil: "load" });
  await bare.page.waitForSelector(".lfs-live-model .lfs-live-generate", { timeout: 20000 });
  out.no_wasm = await bare.page.locator(".lfs-live-model").first().evaluate((b) => ({
    state: b.dataset.state, disabled: b.querySelector(".lfs-live-generate").disabled,
    status: b.querySelector(".lfs-live-status").textContent }));
  await bare.ctx.close();
} catch (e) {
  out.errors.push(`fatal: ${e}`);
} finally {
  await browser.close();
  writeFileSync(cfg.out, JSON.stringify(out, null, 1));
}
