"""Browser test of the built course website (book/_build/html, made by `python tools/build_site.py`).

A local HTTP server (a thread) serves the site; headless Debian Chromium, driven by playwright-core from npm
(book/check_site.mjs), opens every page with all requests that leave the server blocked (no network), and reports
what it saw. Skips, with the reason, when Chromium, Node, node_modules/playwright-core or the built site is missing;
`.ci/run` installs Chromium and builds the site first. Screenshots (home page, one chapter, that chapter's first quiz after a
wrong and a right click, the chapter at 390 px with its menu open) go to book/_build/screenshots/. The run also prints
each chapter page's weight, request count and time until a quiz answers a click (printed, not asserted against a tight
time: the machine is shared).
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "book" / "_build" / "html"
SHOTS = ROOT / "book" / "_build" / "screenshots"
MENU_WIDTHS = (390, 800, 1280)  # phone, tablet (both: menu in a dialog), desktop (menu button hides the sidebar)
MAX_CHAPTER_MB = 4.0  # the aim is under 3 MB; 4 MB fails if the 3.6 MB widget manager comes back to every page
MIN_TEXT_PX = 9  # smallest figure text as shown, for figures saved under the course style (use_course_style)
def _toc_chapters() -> list[str]:
    """The chapter pages in course order, from the book's table of contents."""
    import yaml
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    return [c["file"] for p in toc["parts"] if p.get("caption") == "Chapters" for c in p["chapters"]]


CHAPTERS = _toc_chapters()
QUIZ_PAGE = "74_teaching_quiz"  # the notebook of llm_from_scratch.teaching.quiz


def _chromium() -> str | None:
    for c in (os.environ.get("LFS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if c and shutil.which(c): return shutil.which(c)
    return None


def _pages() -> list[str]:
    """Every page of the built site (course pages and the API reference), home page first."""
    skip = {"genindex", "search", "py-modindex"}
    names = sorted(str(p.relative_to(SITE).with_suffix("")) for p in SITE.rglob("*.html")
                   if not p.relative_to(SITE).parts[0].startswith("_") and 'http-equiv="refresh"' not in p.read_text())
    return ["index"] + [n for n in names if n not in skip and n != "index"]


def _notebook_pages(pages: list[str]) -> list[str]:
    return [p for p in pages if (SITE / "_sources" / f"{p}.ipynb").exists()]


def _repo() -> tuple[str, str, str]:
    """(owner, repository, branch) from pyproject.toml, where the site build takes them from."""
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    owner, repo = py["project"]["urls"]["Repository"].rstrip("/").split("/")[-2:]
    return owner, repo, py.get("tool", {}).get("nbdev", {}).get("branch", "main")


def _has_quiz(page: str) -> bool:
    """Does the built page carry saved widget state with a Quiz in it (a model with `correct` answers)?"""
    html = (SITE / f"{page}.html").read_text()
    return 'application/vnd.jupyter.widget-state+json' in html and '"correct": [' in html


def _screenshot_chapter(pages: list[str]) -> str:
    """The chapter to photograph: the first in course order that shows a quiz, else the first built."""
    built = [c for c in CHAPTERS if c in pages]
    return ([c for c in built if _has_quiz(c)] or built or [QUIZ_PAGE])[0]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory):
    """Run the browser over the site once; return ({page: what it saw}, the folder of its screenshots)."""
    chromium = _chromium()
    if chromium is None: pytest.skip("Chromium is not installed (apt-get install chromium)")
    if shutil.which("node") is None: pytest.skip("Node.js is not installed")
    if not (ROOT / "node_modules" / "playwright-core").exists(): pytest.skip("node_modules/playwright-core missing (npm ci)")
    if not (SITE / "index.html").exists(): pytest.skip("the site is not built (python tools/build_site.py)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pages = _pages()
        tmp = tmp_path_factory.mktemp("site")
        shots = tmp / "screenshots"  # copied to book/_build/screenshots at the end (other pytest runs may share it)
        shots.mkdir()
        chapter = _screenshot_chapter(pages)
        chapters = [c for c in CHAPTERS if c in pages]
        target = next((c for c in chapters if c != chapter), chapter)  # the chapter the menu test taps
        cfg = {"base": f"http://127.0.0.1:{server.server_address[1]}/", "pages": pages, "chromium": chromium,
               "screenshots": {"index": str(shots / "home.png"), chapter: str(shots / "chapter.png")},
               "quiz_screenshots": {chapter: str(shots / "quiz.png")}, "search": "attention",
               "menus": [{"page": chapter, "target": target, "width": w,
                          "screenshot": str(shots / f"chapter-{w}-menu.png") if w == 390 else None}
                         for w in MENU_WIDTHS],
               "measure": chapters + ["index"], "chapters": chapters, "out": str(tmp / "results.json")}
        (tmp / "config.json").write_text(json.dumps(cfg))
        r = subprocess.run(["node", str(ROOT / "book" / "check_site.mjs"), str(tmp / "config.json")], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"browser run failed:\n{r.stdout}\n{r.stderr}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        for f in shots.iterdir(): shutil.copy2(f, SHOTS / f.name)
        out = json.loads((tmp / "results.json").read_text())
        return out["pages"], shots, out["search"], out["menus"], out["perf"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site(browser_run):
    return browser_run[0]


def test_every_page_loads_offline_without_errors(site):
    assert "index" in site and len(site) > 3, f"pages seen: {sorted(site)}"
    problems = {}
    for name, r in site.items():
        bad = {k: r.get(k) for k in ("fatal", "console_errors", "page_errors", "failed_requests", "external_requests")
               if r.get(k)}
        if bad: problems[name] = bad
    assert not problems, json.dumps(problems, indent=1)


def test_every_image_loads(site):
    bad = {name: r["bad_images"] for name, r in site.items() if r["bad_images"]}
    assert not bad, bad
    assert sum(r["images"] for r in site.values()) > 0


def test_launch_buttons_open_the_right_notebook(site):
    owner, repo, branch = _repo()
    pages = _notebook_pages(list(site))
    assert "index" in pages and len(pages) >= 2
    for name in pages:
        colab = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/nbs/{name}.ipynb"
        binder = f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?urlpath=lab/tree/nbs/{name}.ipynb"
        assert colab in site[name]["launch_links"], (name, site[name]["launch_links"])
        assert binder in site[name]["launch_links"], (name, site[name]["launch_links"])


def test_every_saved_widget_renders(site):
    """Every widget view saved in a notebook (quizzes, explorers) is drawn by the site's own widget JavaScript."""
    bad = {n: (r["widgets_rendered"], r["widget_views"]) for n, r in site.items() if r["widgets_rendered"] != r["widget_views"]}
    assert not bad, f"(rendered, saved) per page: {bad}"


def test_quizzes_answer_clicks_without_a_kernel(site):
    with_quiz = {n: r for n, r in site.items() if r["quizzes_expected"]}
    assert QUIZ_PAGE in with_quiz, "the quiz notebook's saved Quiz widget was not found"
    for name, r in with_quiz.items():
        assert r["quizzes_rendered"] == r["quizzes_expected"], (name, r)
        for q in r["quizzes"]:
            assert "error" not in q, (name, q)
            if "wrong_feedback" in q:
                assert q["wrong_feedback"].startswith("Not quite") and q["wrong_marked"], (name, q)
            assert q["right_feedback"].startswith("Correct") and q["right_marked"], (name, q)


def test_site_features(site):
    home = site["index"]
    assert home["has_search"], "no search box on the home page"
    assert all(r["has_search"] for r in site.values())
    assert home["math"] > 0, "the home page's math was not typeset (MathJax)"
    assert any(r["copy_buttons"] for r in site.values()), "no code copy buttons"
    api = [n for n in site if n.startswith("api/")]
    assert {"api/model", "api/config", "api/commands/main", "api/teaching/quiz"} <= set(api), api
    assert not [n for n, r in site.items() if r["raw_rst"]], "reST source shown as text"
    assert not {n: r["directive_lines"] for n, r in site.items() if r["directive_lines"]}, "nbdev `#|` lines shown"
    assert all(site[n]["api_entries"] > 0 for n in api if n != "api/index"), {n: site[n]["api_entries"] for n in api}


def test_no_answer_key_in_view(site):
    """Before a click, no quiz shows its answer: no code cell with a quiz definition, no explanation in the page text,
    no feedback or marked option (test_quizzes_answer_clicks_without_a_kernel then clicks a wrong and a right one)."""
    bad = {n: r["answer_keys"] for n, r in site.items() if r.get("answer_keys")}
    assert not bad, json.dumps(bad, indent=1)


def test_code_fits_at_desktop_width(site):
    """At 1280 px no code block on a notebook page scrolls sideways: the column shows at least 88 columns of code
    (ruff's line length) and outputs wrap."""
    pages = _notebook_pages(list(site))
    cols = {n: site[n]["code_columns"] for n in pages if site[n].get("code_columns")}
    print("\ncode columns at 1280 px:", sorted(set(cols.values())))
    assert all(c >= 88 for c in cols.values()), cols
    bad = {n: site[n]["overflowing_pre"] for n in pages if site[n]["overflowing_pre"]}
    assert not bad, json.dumps(bad, indent=1)


def test_outputs_are_clean(site):
    """No "skipping" where a result should be, no absolute local path, no progress bar frozen at 0%."""
    bad = {n: r["bad_outputs"] for n, r in site.items() if r.get("bad_outputs")}
    assert not bad, json.dumps(bad, indent=1)


def test_menus_open_on_every_screen_size(browser_run):
    menus = {m["width"]: m for m in browser_run[3]}
    assert set(menus) == set(MENU_WIDTHS), menus
    for w, m in menus.items():
        assert not m["errors"] and m["menu_button"], m
        if w >= 960:
            assert m["sidebar_before"] and not m["sidebar_after_click"] and m["sidebar_after_second_click"], m
            continue
        assert m["chapters_visible_before"] == 0 and m["chapters_visible"] >= 6, m  # closed, then the chapter list
        assert m["navigated_to"].endswith(".html") and m["navigated_to"] != "", m
        assert m["contents_button"] and m["contents_links_visible"] > 0, m


def test_menu_navigates_to_the_tapped_chapter(browser_run):
    cfg_targets = [m for m in browser_run[3] if m["width"] < 960]
    for m in cfg_targets:
        assert m["navigated_to"] in {f"{c}.html" for c in CHAPTERS}, m


def test_page_weight_and_time_to_quiz(browser_run):
    perf = browser_run[4]
    print("\npage                     MB  requests  quiz usable after (s)")
    for name, p in perf.items():
        print(f"{name:22s} {p['mb']:5.2f} {p['requests']:6d}    {p['quiz_seconds']}")
    heavy = {n: p["mb"] for n, p in perf.items() if p["mb"] > MAX_CHAPTER_MB}
    assert not heavy, heavy
    assert all(p["quiz_seconds"] for n, p in perf.items() if n in CHAPTERS), perf  # every chapter's quiz answers


def test_figures_are_legible(site):
    """Figures saved under the course style carry their smallest text size (PNG text "LFS-min-text-px"): as shown at
    1280 px it is at least MIN_TEXT_PX. Figures from before the style (no tag) are listed until their chapter reruns."""
    small, untagged = {}, {}
    for n, r in site.items():
        for f in r.get("figures", []):
            if "min_text_px" not in f: untagged.setdefault(n, []).append(f["scale"])
            elif f["min_text_px"] < MIN_TEXT_PX: small.setdefault(n, []).append(f)
    if untagged: print("\nfigures saved before the course style (shown scale):", json.dumps(untagged))
    assert not small, json.dumps(small, indent=1)


def test_search_finds_pages(browser_run):
    search = browser_run[2]
    assert search["hits"] > 0 and not search["console_errors"], search


def test_screenshots_written(browser_run):
    site, shots = browser_run[:2]
    for f in ("home.png", "chapter.png", "chapter-390-menu.png"):
        assert (shots / f).stat().st_size > 10_000, f
    if any(r.get("quiz_screenshot") for r in site.values()): assert (shots / "quiz.png").stat().st_size > 1_000


# ---- without a browser: the notebook reader, the Colab cells, the links nbdev writes into module docstrings ----

def _import(path: Path, name: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _nb(*cells):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def test_reader_turns_nbdev_directives_into_book_tags():
    reader = _import(ROOT / "book" / "nbdev_reader.py", "nbdev_reader")
    nb = reader.nbdev_to_book(_nb("md:# Title", "#| default_exp model", "#| export\nclass GPT: pass", "#| hide\nx = 1",
                                  "#|echo: false\nplot()", "#| eval: false\ntrain()", "#| exports\ny = 2", "z = 3"))
    src = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]
    assert src[1] == ("code", "", ["remove-cell"])                                     # default_exp
    assert src[2][0] == "markdown" and "exported to <code>llm_from_scratch.model</code>" in src[2][1]
    assert src[3] == ("code", "class GPT: pass", [])                                   # directive line dropped
    assert src[4] == ("code", "x = 1", ["remove-cell"])                                # hide
    assert src[5] == ("code", "plot()", ["remove-input"])                              # echo: false
    assert src[6] == ("code", "train()", ["skip-execution"])                           # eval: false
    assert src[7][0] == "markdown" and src[8] == ("code", "y = 2", [])                 # exports: badge too
    assert src[9] == ("code", "z = 3", [])
    assert not any("#|" in c.source for c in nb.cells)
    assert nb.metadata["language_info"]["pygments_lexer"] == "ipython3"


def test_reader_gives_figures_their_alt_text():
    reader = _import(ROOT / "book" / "nbdev_reader.py", "nbdev_reader")
    nb = reader.nbdev_to_book(_nb("#| code-fold: true\n#| fig-alt: A box and an arrow.\nplot()"))
    cell = nb.cells[0]
    assert cell.source == "plot()" and cell.metadata["tags"] == ["hide-input"]
    assert cell.metadata["mystnb"]["image"]["alt"] == "A box and an arrow."
    two = reader.nbdev_to_book(_nb("#| fig-alt: A box\n#| fig-alt: and an arrow.\nplot()")).cells[0]
    assert two.metadata["mystnb"]["image"]["alt"] == "A box and an arrow."


def test_reader_shows_the_fallback_of_a_widget_without_saved_state():
    reader = _import(ROOT / "book" / "nbdev_reader.py", "nbdev_reader")
    nb = _nb("quiz('x')")
    view = {"model_id": "abc", "version_major": 2, "version_minor": 1}
    nb.cells[0].outputs = [{"output_type": "execute_result", "execution_count": None, "metadata": {},
                            "data": {"application/vnd.jupyter.widget-view+json": view, "text/html": "<p>q</p>"}}]
    out = reader.nbdev_to_book(nb).cells[0].outputs[0]
    assert "application/vnd.jupyter.widget-view+json" not in out["data"] and out["data"]["text/html"] == "<p>q</p>"


def test_reader_folds_plumbing_behind_its_summary():
    reader = _import(ROOT / "book" / "nbdev_reader.py", "nbdev_reader")
    nb = reader.nbdev_to_book(_nb('#| code-fold: true\n#| code-summary: "Hashes of the files"\nH = {}'))
    cell = nb.cells[0]
    assert cell.source == "H = {}" and cell.metadata["tags"] == ["hide-input"]
    assert cell.metadata["mystnb"]["code_prompt_show"] == "Hashes of the files"


def test_colab_cell_is_inserted_before_the_first_code_cell_and_checked():
    colab = _import(ROOT / "tools" / "colab_cells.py", "colab_cells")
    nb = _nb("md:# Title", "#| default_exp model", "x = 1")
    assert colab.problem(nb) == "no Colab install cell"
    colab.write(nb)
    assert colab.problem(nb) is None and nb.cells[1].id == "colab-install"
    assert nb.cells[1].metadata["tags"] == ["remove-cell", "colab-install"]
    owner, repo, branch = _repo()
    src = nb.cells[1].source  # installs the release, else the repository at its tag, else the branch
    assert f'repo = "https://github.com/{owner}/{repo}"' in src and f"@{branch}" in src and "google.colab" in src
    nb.cells[1].source = nb.cells[1].source.replace("@main", "@old")
    assert "stale" in colab.problem(nb)
    colab.write(nb)
    assert colab.problem(nb) is None and sum(c.get("id") == "colab-install" for c in nb.cells) == 1


def test_doc_links_in_module_docstrings_exist_on_the_site():
    if not (SITE / "index.html").exists(): pytest.skip("the site is not built (python tools/build_site.py)")
    import importlib
    import re
    pages = set(_pages())
    pkg = ROOT / "llm_from_scratch"
    for py in sorted(pkg.rglob("*.py")):
        if py.name.startswith("_"): continue  # __init__ files, _modidx
        mod = ".".join(py.relative_to(pkg).with_suffix("").parts)  # commands/main.py -> commands.main
        nb = next((n for n in (ROOT / "nbs").glob("*.ipynb")
                   if re.search(rf"#\|\s*default_exp\s+{re.escape(mod)}\b(?!\.)", n.read_text())), None)
        if nb is None or nb.stem not in pages: continue  # a module whose chapter is not on the site yet
        doc = importlib.import_module(f"llm_from_scratch.{mod}").__doc__ or ""
        for url in re.findall(r"Docs: \S+/([\w.-]+\.html\.md)", doc):
            assert (SITE / url).exists(), (mod, url)
            assert (SITE / url.removesuffix(".md")).exists(), (mod, url)


def test_markdown_docstrings_are_escaped_for_autodoc():
    reader = _import(ROOT / "book" / "nbdev_reader.py", "nbdev_reader")
    esc = reader.markdown_docstring_to_rst
    assert esc("special tokens such as <|endoftext|>") == "special tokens such as <\\|endoftext\\|>"
    assert esc("keeps `a|b*c_` and `**kw`") == "keeps `a|b*c_` and `**kw`"
    assert esc("see name_ or *args") == "see name\\_ or \\*args"


def test_staged_book_lists_support_pages_after_the_chapters_and_every_module(tmp_path, monkeypatch):
    """The staged toc: the chapters, then one part with every other notebook, opened by an overview page that gives
    each page one line (its summary), then the API reference with a page per module, subpackages' modules included."""
    import yaml
    build_site = _import(ROOT / "tools" / "build_site.py", "build_site")
    monkeypatch.setattr(build_site, "SRC", tmp_path / "src")
    build_site.stage(strict=True)
    toc = yaml.safe_load((tmp_path / "src" / "_toc.yml").read_text())
    assert [p["caption"] for p in toc["parts"]][0] == "Chapters" and toc["parts"][-1]["caption"] == "API reference"
    assert len(toc["parts"]) == 3 and not any("overview" in p for p in toc["parts"])
    overview, *support = [c["file"] for c in toc["parts"][1]["chapters"]]
    notebooks = {p.stem for p in (ROOT / "nbs").glob("*.ipynb")} - set(CHAPTERS) - {"index"}
    assert set(support) == notebooks and QUIZ_PAGE in support
    lines = (tmp_path / "src" / f"{overview}.md").read_text().splitlines()
    for page in support:
        (line,) = [s for s in lines if f"]({page}.ipynb)" in s]
        assert line.startswith("- [") and "`llm_from_scratch." in line and len(line.split("`: ", 1)[-1]) > 20, line
    api = [s["file"] for s in toc["parts"][-1]["chapters"][0]["sections"]]
    assert {"api/model", "api/commands/main", "api/teaching/quiz"} <= set(api), api
    assert not [a for a in api if a.rsplit("/", 1)[-1].startswith("_")], api
    rst = (tmp_path / "src" / "api" / "commands" / "main.rst").read_text()
    assert ".. automodule:: llm_from_scratch.commands.main" in rst
