// Drive headless Chromium over the built course website and report what a reader would see, as JSON.
//
//   node book/check_site.mjs CONFIG.json
//
// CONFIG: {"base": "http://127.0.0.1:PORT/", "pages": ["index", "00_quiz", ...], "chromium": "/usr/bin/chromium",
//          "screenshots": {"index": "home.png", "01_tokenization": "chapter.png"},
//          "quiz_screenshots": {"01_tokenization": "quiz.png"}, "out": "results.json"}
// Used by tests/test_site.py, which serves book/_build/html and checks the results. For each page it records: console
// errors and uncaught exceptions, requests that failed or that left the local server (all are blocked: the site must
// work with no network), images that did not load, the launch-button links, and for every quiz widget what a wrong
// click and a right click showed. No Jupyter kernel exists anywhere in this.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = new URL(cfg.base);
const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});  // playwright-core gives each launch a fresh temporary --user-data-dir
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: "block" });
const results = {};

async function checkPage(name) {
  const r = { console_errors: [], page_errors: [], failed_requests: [], external_requests: [], bad_images: [],
              images: 0, launch_links: [], quizzes: [], widget_views: 0, title: "" };
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error") r.console_errors.push(`${m.text()} @ ${m.location().url}`); });
  page.on("pageerror", (e) => r.page_errors.push(String(e)));
  page.on("requestfailed", (q) => { if (!r.external_requests.includes(q.url())) r.failed_requests.push(`${q.url()}: ${q.failure()?.errorText}`); });
  page.on("response", (s) => { if (s.status() >= 400) r.failed_requests.push(`${s.url()}: HTTP ${s.status()}`); });
  await page.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.protocol === "data:" || u.protocol === "blob:" || u.host === base.host) return route.continue();
    r.external_requests.push(route.request().url());
    return route.abort("internetdisconnected");
  });
  await page.goto(new URL(`${name}.html`, base).href, { waitUntil: "load" });
  r.title = await page.title();

  // widgets: every saved widget view should be rendered by the HTML manager; quizzes are the anywidget Quiz models
  const state = await page.evaluate(() => {
    const s = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
    const views = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
      .map((v) => JSON.parse(v.textContent).model_id);
    return { models: s ? JSON.parse(s.textContent).state : {}, views };
  });
  r.widget_views = state.views.length;
  const quizModels = state.views.map((id) => state.models[id]?.state)
    .filter((st) => st && Array.isArray(st.correct) && Array.isArray(st.options) && typeof st.question === "string");
  // the HTML manager puts each rendered view in a .widget-subarea beside its <script> tag
  const rendered = () => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
    .filter((v) => [...v.parentElement.querySelectorAll(".widget-subarea")].some((d) => d.childElementCount > 0)).length;
  if (state.views.length) {
    const t0 = Date.now();
    try {
      await page.waitForFunction(([n, q]) => document.querySelectorAll(".widget-subarea > *").length >= n &&
                                 document.querySelectorAll(".lfs-quiz").length >= q,
                                 [state.views.length, quizModels.length], { timeout: 20000 });
    } catch { /* recorded below as views or quizzes not rendered */ }
    r.widget_seconds = (Date.now() - t0) / 1000;
  }
  r.widgets_rendered = await page.evaluate(rendered);
  await page.evaluate(() => window.MathJax?.startup?.promise);  // MathJax typesets asynchronously
  if (cfg.screenshots?.[name]) await page.screenshot({ path: cfg.screenshots[name], fullPage: true });
  const domQuizzes = await page.locator(".lfs-quiz").all();
  r.quizzes_expected = quizModels.length;
  r.quizzes_rendered = domQuizzes.length;
  for (const quiz of domQuizzes) {
    const q = { question: (await quiz.locator(".lfs-quiz-question").textContent()).trim() };
    const model = quizModels.find((m) => m.question.replace(/`/g, "") === q.question);
    if (!model) { q.error = "no saved quiz model matches this question"; r.quizzes.push(q); continue; }
    const options = quiz.locator(".lfs-quiz-option");
    const feedback = quiz.locator(".lfs-quiz-feedback");
    const wrong = model.correct.indexOf(false), right = model.correct.indexOf(true);
    if (wrong >= 0) {
      await options.nth(wrong).click();
      q.wrong_feedback = (await feedback.textContent()).trim();
      q.wrong_marked = await options.nth(wrong).evaluate((b) => b.classList.contains("lfs-wrong"));
    }
    await options.nth(right).click();
    q.right_feedback = (await feedback.textContent()).trim();
    q.right_marked = await options.nth(right).evaluate((b) => b.classList.contains("lfs-right"));
    r.quizzes.push(q);
    const shot = cfg.quiz_screenshots?.[name];  // the first quiz of a page, after its two clicks
    if (shot && !r.quiz_screenshot) { await quiz.screenshot({ path: shot }); r.quiz_screenshot = shot; }
  }

  // images: make lazy ones load, then check that each decoded
  const imgs = await page.evaluate(async () => {
    const all = [...document.images];
    all.forEach((i) => { i.loading = "eager"; });
    await Promise.all(all.map((i) => (i.complete ? null : new Promise((ok) => { i.onload = i.onerror = ok; setTimeout(ok, 5000); }))));
    return all.map((i) => ({ src: i.currentSrc || i.src, w: i.naturalWidth }));
  });
  r.images = imgs.length;
  r.bad_images = imgs.filter((i) => !(i.w > 0)).map((i) => i.src);
  r.launch_links = await page.evaluate(() => [...document.querySelectorAll("a")].map((a) => a.href)
    .filter((h) => h.includes("colab.research.google.com") || h.includes("mybinder.org")));
  r.has_search = await page.locator('input[name="q"], .search-button, button[aria-label*="Search" i]').count() > 0;
  r.copy_buttons = await page.locator("button.copybtn").count();
  await page.evaluate(() => window.MathJax?.startup?.promise);  // MathJax typesets asynchronously
  r.math = await page.locator("mjx-container").count();
  r.directive_lines = await page.evaluate(() => [...document.querySelectorAll("div.cell pre")]
    .filter((p) => /^\s*#\|/m.test(p.innerText)).length);  // nbdev directives must not show in code cells
  r.api_entries = await page.locator("dl.py").count();  // autodoc's rendered classes and functions
  r.raw_rst = await page.evaluate(() => /\.\. (py:|auto)\w+::/.test(document.querySelector("main")?.innerText ?? ""));
  await page.close();
  return r;
}

// a few tabs at once: most of a page's time is spent waiting on scripts, not computing
const queue = [...cfg.pages];
async function worker() {
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const t0 = Date.now();
    try { results[name] = await checkPage(name); results[name].seconds = (Date.now() - t0) / 1000; }
    catch (e) { results[name] = { fatal: String(e) }; }
  }
}
await Promise.all(Array.from({ length: cfg.tabs ?? 4 }, worker));

// the search page finds a word every chapter uses (Sphinx's index is served by the site: no search service)
async function checkSearch(word) {
  const page = await context.newPage();
  const r = { word, console_errors: [], hits: 0 };
  page.on("console", (m) => { if (m.type() === "error") r.console_errors.push(`${m.text()} @ ${m.location().url}`); });
  page.on("response", (s) => { if (s.status() >= 400) r.console_errors.push(`${s.url()}: HTTP ${s.status()}`); });
  await page.goto(new URL(`search.html?q=${encodeURIComponent(word)}`, base).href, { waitUntil: "load" });
  try { await page.waitForFunction(() => document.querySelectorAll("#search-results li, ul.search li").length > 0, null, { timeout: 20000 }); }
  catch { /* no hits: reported as 0 */ }
  r.hits = await page.locator("#search-results li, ul.search li").count();
  await page.close();
  return r;
}
const search = cfg.search ? await checkSearch(cfg.search) : null;
await browser.close();
writeFileSync(cfg.out, JSON.stringify({ pages: results, search }, null, 1));
