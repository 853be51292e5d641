// Drive headless Chromium over the built course website and report what a reader would see, as JSON.
//
//   node book/check_site.mjs CONFIG.json
//
// CONFIG: {"base": "http://127.0.0.1:PORT/", "pages": ["index", "74_teaching_quiz", ...], "chromium": "/usr/bin/chromium",
//          "screenshots": {"index": "home.png", "01_tokenization": "chapter.png"},
//          "quiz_screenshots": {"01_tokenization": "quiz.png"}, "out": "results.json",
//          "chapters": ["01_tokenization", ...]}   (on chapter pages no code cell may show a quiz definition)
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
const VIEWS = 'script[type="application/vnd.jupyter.widget-view+json"], script[type="application/vnd.lfs.widget-view+json"]';
// the text a quiz's HTML (question, option, explanation) shows
const textOf = (html) => html.replace(/<[^>]*>/g, "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
  .replace(/&#x27;|&#39;/g, "'").replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();

// Figures: how large each image is shown against its natural size, and, for figures saved under the course's
// matplotlib style (llm_from_scratch.teaching.drawing.use_course_style tags the PNG with its smallest text in pixels,
// "LFS-min-text-px"), how tall that smallest text is on the page.
async function figures(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const img of document.querySelectorAll("main div.cell_output img")) {
      if (!img.complete) await new Promise((ok) => { img.onload = img.onerror = ok; setTimeout(ok, 5000); });
      const f = { src: img.src.split("/").pop().slice(0, 16), natural: img.naturalWidth, shown: Math.round(img.getBoundingClientRect().width) };
      f.scale = +(f.shown / Math.max(f.natural, 1)).toFixed(3);
      try {
        const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        const dv = new DataView(buf.buffer);
        for (let i = 8; i + 8 < buf.length;) {  // PNG chunks: length, type, data, crc
          const len = dv.getUint32(i), type = String.fromCharCode(...buf.slice(i + 4, i + 8));
          if (type === "tEXt") {
            const txt = new TextDecoder("latin1").decode(buf.slice(i + 8, i + 8 + len)), [k, v] = txt.split("\0");
            if (k === "LFS-min-text-px") f.min_text_px = +(parseFloat(v) * f.scale).toFixed(1);
          }
          if (type === "IDAT" || type === "IEND") break;
          i += 12 + len;
        }
      } catch { /* not a PNG */ }
      out.push(f);
    }
    return out;
  });
}

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
  const state = await page.evaluate((sel) => {
    const s = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
    const views = [...document.querySelectorAll(sel)].map((v) => JSON.parse(v.textContent).model_id);
    return { models: s ? JSON.parse(s.textContent).state : {}, views };
  }, VIEWS);
  r.widget_views = state.views.length;
  const quizModels = state.views.map((id) => state.models[id]?.state)
    .filter((st) => st && Array.isArray(st.correct) && Array.isArray(st.options) && typeof st.question === "string");
  // lfs-widgets/loader.js renders anywidgets into a .lfs-anywidget beside the view's <script> tag; the HTML manager
  // (other widgets, loaded when such a view comes near the screen) renders into a .widget-subarea
  const rendered = (sel) => [...document.querySelectorAll(sel)]
    .filter((v) => [...v.parentElement.querySelectorAll(".widget-subarea, .lfs-anywidget")]
      .some((d) => d.childElementCount > 0)).length;
  if (state.views.length) {
    const t0 = Date.now();
    try {
      await page.waitForFunction((q) => document.querySelectorAll(".lfs-quiz").length >= q, quizModels.length,
                                 { timeout: 20000 });
      if (await page.evaluate(rendered, VIEWS) < state.views.length) {  // scroll to a view the loader left waiting
        await page.evaluate((sel) => [...document.querySelectorAll(sel)]
          .find((v) => !v.parentElement.querySelector(".lfs-anywidget"))?.parentElement.scrollIntoView(), VIEWS);
        await page.waitForFunction(([sel, n]) => [...document.querySelectorAll(sel)].filter((v) =>
          [...v.parentElement.querySelectorAll(".widget-subarea, .lfs-anywidget")].some((d) => d.childElementCount > 0))
          .length >= n, [VIEWS, state.views.length], { timeout: 20000 });
        r.full_manager_loaded = true;
      }
    } catch { /* recorded below as views or quizzes not rendered */ }
    r.widget_seconds = (Date.now() - t0) / 1000;
  }
  r.widgets_rendered = await page.evaluate(rendered, VIEWS);
  await page.evaluate(() => window.MathJax?.startup?.promise);  // MathJax typesets asynchronously
  if (cfg.screenshots?.[name]) await page.screenshot({ path: cfg.screenshots[name], fullPage: true });
  const domQuizzes = await page.locator(".lfs-quiz").all();
  r.quizzes_expected = quizModels.length;
  r.quizzes_rendered = domQuizzes.length;
  // no answer in view before a click: no quiz feedback or marked option, and no code cell or visible text shows an
  // option's explanation or a quiz definition with its True/False flags
  r.answer_keys = await page.evaluate(([whys, chapter]) => {
    const found = [];
    for (const pre of chapter ? document.querySelectorAll("div.cell_input pre") : []) {  // the quiz page tests Quiz itself
      const t = pre.innerText;
      if (/Quiz\(|quiz\(/.test(t) && /\b(True|False)\b|correct/.test(t)) found.push(t.slice(0, 120));
    }
    const main = document.querySelector("main")?.cloneNode(true);
    if (main) {
      main.querySelectorAll(".lfs-quiz, details:not([open]), script, style").forEach((e) => e.remove());
      const text = main.textContent.replace(/\s+/g, " ");
      for (const w of whys) if (w.length > 12 && text.includes(w)) found.push(`explanation shown: ${w.slice(0, 80)}`);
    }
    for (const fb of document.querySelectorAll(".lfs-quiz-feedback")) if (fb.textContent.trim()) found.push("feedback before a click");
    if (document.querySelector(".lfs-quiz-option.lfs-right, .lfs-quiz-option.lfs-wrong")) found.push("option marked before a click");
    return found;
  }, [quizModels.flatMap((m) => m.explanations.map((e) => textOf(e))), (cfg.chapters ?? []).includes(name)]);
  for (const quiz of domQuizzes) {
    const q = { question: (await quiz.locator(".lfs-quiz-question").textContent()).trim() };
    const model = quizModels.find((m) => textOf(m.question) === q.question);
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
  // clean outputs: no "skipping" where a result should be, no path of the machine that ran the notebook, no progress
  // bar frozen at 0% (tqdm text or a saved progress widget short of its end)
  r.bad_outputs = await page.evaluate((models) => {
    const bad = [];
    for (const o of document.querySelectorAll("div.cell_output")) {
      const t = o.innerText;
      if (/\bskipping\b/i.test(t)) bad.push(`"skipping": ${t.match(/.{0,60}skipping.{0,40}/i)[0]}`);
      const p = t.match(/(\/root\/|\/work\/|\/tmp\/|\/home\/\w+|site-packages|[A-Z]:\\Users)\S*/);
      if (p) bad.push(`local path: ${p[0].slice(0, 80)}`);
      if (/(^|\s)0%\|/m.test(t)) bad.push(`0% progress bar: ${t.match(/.{0,30}0%\|.{0,30}/)[0]}`);
    }
    for (const m of Object.values(models)) {
      const st = m.state || {};
      if (/ProgressModel$/.test(m.model_name) && st.value < st.max) bad.push(`progress widget at ${st.value}/${st.max}`);
    }
    return bad;
  }, state.models);
  // code that fits: at the desktop width no code block scrolls sideways (clientWidth excludes the scrollbar)
  r.overflowing_pre = await page.evaluate(() => [...document.querySelectorAll("main pre")]
    .filter((p) => p.scrollWidth > p.clientWidth + 1)
    .map((p) => p.textContent.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "").slice(0, 120)));
  r.code_columns = await page.evaluate(() => {
    const p = document.querySelector("main div.cell_input pre");
    if (!p) return null;
    const s = document.createElement("span"); s.textContent = "x".repeat(100); p.appendChild(s);
    const cw = s.getBoundingClientRect().width / 100; s.remove();
    const cs = getComputedStyle(p);
    return Math.floor((p.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)) / cw);
  });
  r.figures = await figures(page);
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
// Menus on every screen size (pydata-sphinx-theme bug #2451, book/assets/lfs-menu.js): at phone and tablet widths,
// tapping the visible menu button opens the chapter list and tapping a chapter opens it; the page-contents button
// opens the page's table of contents. At desktop width the menu button hides and shows the sidebar.
async function checkMenus(name, target, width, shot) {
  const mobile = width < 960;
  const ctx = await browser.newContext({ viewport: { width, height: 844 }, hasTouch: true, isMobile: mobile,
                                         serviceWorkers: "block" });
  const page = await ctx.newPage();
  const r = { width, errors: [] };
  page.on("pageerror", (e) => r.errors.push(String(e)));
  await page.route("**/*", (route) => (new URL(route.request().url()).host === base.host || /^(data|blob):/.test(route.request().url())
    ? route.continue() : route.abort("internetdisconnected")));
  const open = async () => { await page.goto(new URL(`${name}.html`, base).href, { waitUntil: "load" }); await page.waitForTimeout(300); };
  try {
    await open();
    const toggle = page.locator(".primary-toggle >> visible=true").first();
    r.menu_button = (await toggle.count()) > 0;
    const chapterLinks = page.locator(`.bd-sidebar-primary a.reference[href$=".html"] >> visible=true`);
    if (!mobile) {
      r.sidebar_before = await page.locator(".bd-sidebar-primary").isVisible();
      await toggle.click(); await page.waitForTimeout(200);
      r.sidebar_after_click = await page.locator(".bd-sidebar-primary").isVisible();
      await toggle.click(); await page.waitForTimeout(200);
      r.sidebar_after_second_click = await page.locator(".bd-sidebar-primary").isVisible();
      return r;
    }
    r.chapters_visible_before = await chapterLinks.count();
    await toggle.tap();
    const link = page.locator(`a.reference[href$="${target}.html"] >> visible=true`).first();
    await link.waitFor({ state: "visible", timeout: 5000 }).catch(() => {});
    r.chapters_visible = await chapterLinks.count();
    if (shot) await page.screenshot({ path: shot });
    if (await link.count()) {
      await link.tap();
      await page.waitForURL(`**/${target}.html*`, { timeout: 10000 }).catch(() => {});
    }
    r.navigated_to = new URL(page.url()).pathname.split("/").pop();
    await open();
    const contents = page.locator(".secondary-toggle >> visible=true").first();
    r.contents_button = (await contents.count()) > 0;
    if (r.contents_button) {
      await contents.tap();
      await page.waitForTimeout(300);
      r.contents_links_visible = await page.locator("#pst-secondary-sidebar-modal a >> visible=true").count();
    }
  } catch (e) { r.errors.push(String(e)); }
  finally { await ctx.close(); }
  return r;
}

// Page weight and time to a usable quiz, each page in a fresh browser context (nothing cached): bytes and requests
// until the network is idle, and the time from navigation until a click on a quiz option shows feedback.
async function measure(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: "block" });
  const page = await ctx.newPage();
  const done = [];
  page.on("requestfinished", (q) => done.push(q));
  const url = new URL(`${name}.html`, base).href;
  const hasQuiz = (await (await fetch(url)).text()).includes('"correct": [');
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "commit" });
  let quiz = null;
  while (hasQuiz && Date.now() - t0 < 30000) {
    const ok = await page.evaluate(() => {
      const b = document.querySelector(".lfs-quiz .lfs-quiz-option");
      if (!b) return false;
      b.click();
      return (b.closest(".lfs-quiz").querySelector(".lfs-quiz-feedback")?.textContent ?? "").length > 0;
    }).catch(() => false);
    if (ok) { quiz = (Date.now() - t0) / 1000; break; }
    await page.waitForTimeout(20);
  }
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(300);
  let bytes = 0;
  for (const q of done) bytes += Math.max(0, (await q.sizes().catch(() => ({ responseBodySize: 0 }))).responseBodySize);
  await ctx.close();
  return { mb: +(bytes / 1e6).toFixed(2), requests: done.length, quiz_seconds: quiz };
}

const search = cfg.search ? await checkSearch(cfg.search) : null;
const menus = [];
for (const m of cfg.menus ?? []) menus.push(await checkMenus(m.page, m.target, m.width, m.screenshot));
const perf = {};
for (const name of cfg.measure ?? []) perf[name] = await measure(name);
await browser.close();
writeFileSync(cfg.out, JSON.stringify({ pages: results, search, menus, perf }, null, 1));
