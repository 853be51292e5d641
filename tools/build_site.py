"""Build the course website (Jupyter Book 1) from the notebooks' committed outputs into book/_build/html.

    python tools/build_site.py            # the site; notebooks not written yet are skipped with a warning
    python tools/build_site.py --strict   # fail if a notebook listed in book/_toc.yml is missing
    python tools/build_site.py -W         # also fail on any Sphinx warning

Steps (all offline once node_modules exists; `npm ci` runs first when it does not):
1. vendor the JavaScript the pages load (RequireJS, the ipywidgets HTML manager, anywidget's front end, MathJax, and
   ONNX Runtime's WebAssembly build for the live model) from node_modules into book/_vendor, so the site needs no CDN;
2. stage the book source in book/_build/src: links to nbs/*, book/_toc.yml (missing notebooks dropped; a part with
   `overview: NAME` gets a first page NAME listing its pages, each with the `> ` summary line under its title) plus one
   API reference page per module of llm_from_scratch (subpackages included: `commands.main` -> api/commands/main), and
   book/_config.yml with the repository URL taken from pyproject.toml ([project.urls] Repository, the one place it is
   configured);
3. run `jupyter-book build` (notebooks are not executed);
4. add plain-Markdown copies of the pages (`teaching_quiz.html.md`, ...) and llms.txt (nbs/llms.txt, which
   nbdev-export writes), under the names nbdev's module docstrings and llms.txt link to, with `teaching_quiz.html` ->
   `74_teaching_quiz.html` redirects.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NBS = ROOT / "nbs"
BUILD = BOOK / "_build"
SRC = BUILD / "src"
HTML = BUILD / "html"
VENDOR = BOOK / "_vendor"
NODE = ROOT / "node_modules"


def project_urls() -> dict[str, str]:
    """`[project.urls]` of pyproject.toml (Repository, Documentation), and the branch (`[tool.nbdev] branch`)."""
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {**py["project"]["urls"], "branch": py.get("tool", {}).get("nbdev", {}).get("branch", "main")}


def vendor_js() -> None:
    """Copy the browser-side bundles from node_modules into book/_vendor (served under _static/)."""
    if not (NODE / "@jupyter-widgets" / "html-manager").exists() or not (NODE / "onnxruntime-web").exists():
        print("node_modules missing: npm ci", flush=True)
        subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund"], cwd=ROOT,  # noqa: S603, S607
                       check=True)  # a fixed command from PATH, as a developer runs it
    if VENDOR.exists(): shutil.rmtree(VENDOR)
    widgets = VENDOR / "lfs-widgets"
    widgets.mkdir(parents=True)
    shutil.copy2(NODE / "requirejs" / "require.js", widgets / "require.js")
    shutil.copy2(NODE / "anywidget" / "dist" / "index.js", widgets / "anywidget.js")
    # embed-amd.js and the font files its CSS refers to by relative URL
    for f in (NODE / "@jupyter-widgets" / "html-manager" / "dist").iterdir():
        if f.name == "embed-amd.js" or f.suffix in (".woff", ".woff2", ".ttf", ".eot", ".svg"):
            shutil.copy2(f, widgets / f.name)
    mj = NODE / "mathjax" / "es5"
    keep = ["tex-mml-chtml.js", "a11y", "adaptors", "input", "output", "sre", "ui"]  # the component + what it loads lazily
    for name in keep:
        s = mj / name
        if s.is_dir(): shutil.copytree(s, VENDOR / "mathjax" / name)
        else: (VENDOR / "mathjax").mkdir(exist_ok=True); shutil.copy2(s, VENDOR / "mathjax" / name)
    # ONNX Runtime's WebAssembly build for the live model (book/assets/live_model.js loads it on the first click): the
    # wasm-only entry point and its one-thread-capable runtime; not the WebGPU/WebGL builds
    ort = VENDOR / "ort"
    ort.mkdir()
    for name in ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"):
        shutil.copy2(NODE / "onnxruntime-web" / "dist" / name, ort / name)
    for pkg in ("@jupyter-widgets/html-manager", "anywidget", "requirejs", "mathjax", "onnxruntime-web"):
        version = json.loads((NODE / pkg / "package.json").read_text())["version"]
        print(f"vendored {pkg} {version}")
    # the notebooks' widget state comes from the Python anywidget; its front end must be the same minor version
    try:
        from importlib.metadata import version as installed
        py, js = installed("anywidget"), json.loads((NODE / "anywidget" / "package.json").read_text())["version"]
        if py.split(".")[:2] != js.split(".")[:2]:
            print(f"warning: Python anywidget {py} but npm anywidget {js}: pin the same minor version in package.json")
    except Exception: pass  # noqa: S110 (the version check is advice: a missing package must not stop the build)


def _default_exp(nb_path: Path) -> str | None:
    for cell in json.loads(nb_path.read_text())["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", src, re.M)
        if cell["cell_type"] == "code" and m: return m[1]
    return None


def _title_and_summary(nb_path: Path) -> tuple[str, str]:
    """A notebook's title (its first `# ` heading) and the one-line summary under it (the `> ` lines, joined)."""
    for cell in json.loads(nb_path.read_text())["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        title = re.search(r"^#\s+(.+)$", src, re.M) if cell["cell_type"] == "markdown" else None
        if title:
            quote = re.search(r"^>.*(?:\n>.*)*", src[title.end():].lstrip("\n"), re.M)
            summary = " ".join(line.lstrip(">").strip() for line in quote[0].splitlines()) if quote else ""
            return title[1].strip(), summary
    return nb_path.stem, ""


def _overview(caption: str, pages: list[str]) -> str:
    """The first page of a part with `overview:` in the toc: each of its pages, its module and its summary line."""
    lines = [f"# {caption}", "",
             "Each page of this part is a notebook, like the chapters, and exports one module of the package. What each "
             "holds, in one line:", ""]
    for page in pages:
        title, summary = _title_and_summary(NBS / f"{page}.ipynb")
        module = _default_exp(NBS / f"{page}.ipynb")
        title = title.replace("[", "\\[").replace("]", "\\]")
        lines.append(f"- [{title}]({page}.ipynb)" + (f" (`llm_from_scratch.{module}`)" if module else "")
                     + (f": {summary}" if summary else ""))
    return "\n".join(lines) + "\n"


def stage(strict: bool) -> list[str]:
    """Write book/_build/src; return the notebooks of the toc that are built (course order)."""
    if SRC.exists(): shutil.rmtree(SRC)
    SRC.mkdir(parents=True)
    for p in NBS.iterdir():
        if not p.name.startswith((".", "_")): (SRC / p.name).symlink_to(p)

    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    missing = []
    pages = []
    for part in toc["parts"]:
        kept = []
        for ch in part["chapters"]:
            if (NBS / f"{ch['file']}.ipynb").exists(): kept.append(ch); pages.append(ch["file"])
            else: missing.append(ch["file"])
        part["chapters"] = kept
        overview = part.pop("overview", None)  # not a key Jupyter Book knows: the page is written here
        if overview and kept:
            (SRC / f"{overview}.md").write_text(_overview(part.get("caption", overview), [c["file"] for c in kept]))
            part["chapters"] = [{"file": overview}] + kept
    toc["parts"] = [p for p in toc["parts"] if p["chapters"]]
    if missing:
        msg = f"notebooks listed in book/_toc.yml but not in nbs/: {', '.join(missing)}"
        if strict: raise SystemExit(f"error: {msg}")
        print(f"warning: {msg} (skipped)", flush=True)

    # API reference: modules (dotted in subpackages: commands.main) in the order of the notebooks that export them,
    # then any others; not the packages' __init__ files nor _modidx
    order = [m for m in (_default_exp(NBS / f"{p}.ipynb") for p in pages) if m]
    mods = sorted((".".join(p.relative_to(ROOT / "llm_from_scratch").with_suffix("").parts)
                   for p in (ROOT / "llm_from_scratch").rglob("*.py") if not p.name.startswith("_")),
                  key=lambda m: (order.index(m) if m in order else len(order), m))
    (SRC / "api").mkdir()
    lines = ["# API reference", "",
             "Everything the chapters export with `#| export`, as the package `llm_from_scratch` provides it "
             "(`pip install` the repository; `from llm_from_scratch.model import GPT`). Each page is generated from "
             "the module's docstrings.", ""]
    for m in mods:
        title = f"``llm_from_scratch.{m}``"  # reST: autodoc writes reST, which a Markdown page would misparse
        rst = SRC / "api" / f"{m.replace('.', '/')}.rst"  # a page per module: api/commands/main.rst
        rst.parent.mkdir(parents=True, exist_ok=True)
        rst.write_text(f"{title}\n{'=' * len(title)}\n\n.. automodule:: llm_from_scratch.{m}\n")
        lines.append(f"- [`llm_from_scratch.{m}`]({m.replace('.', '/')}.rst)")
    (SRC / "api" / "index.md").write_text("\n".join(lines) + "\n")
    toc["parts"].append({"caption": "API reference", "chapters": [
        {"file": "api/index", "sections": [{"file": f"api/{m.replace('.', '/')}"} for m in mods]}]})
    (SRC / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))

    cfg = yaml.safe_load((BOOK / "_config.yml").read_text())
    urls = project_urls()
    cfg["repository"]["url"] = urls["Repository"].rstrip("/")
    cfg["repository"]["branch"] = urls["branch"]
    cfg["html"]["baseurl"] = urls.get("Documentation", "")
    cfg["sphinx"]["local_extensions"]["nbdev_reader"] = str(BOOK)
    cfg["logo"] = cfg["html"]["favicon"] = str(BOOK / "logo.svg")
    (SRC / "_config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return [toc["root"]] + pages


def _markdown(nb) -> str:
    """A plain-Markdown copy of a notebook as the site shows it (for llms.txt readers): prose, code, text outputs."""
    parts = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "remove-cell" in tags: continue
        if cell.cell_type == "markdown":
            badge = cell.source.startswith('<div class="lfs-export-badge">')
            parts.append(re.sub(r"</?code>", "`", re.sub(r"</?div[^>]*>", "*", cell.source)) if badge else cell.source)
            continue
        if cell.cell_type != "code": continue
        if "remove-input" not in tags and cell.source.strip(): parts.append(f"```python\n{cell.source}\n```")
        if "remove-output" in tags: continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if o.output_type == "stream": text = o.text
            elif "image/png" in data or "image/svg+xml" in data: parts.append("*(figure: see the HTML page)*"); continue
            elif "application/vnd.jupyter.widget-view+json" in data:
                parts.append("*(interactive widget: see the HTML page)*"); continue
            elif "text/markdown" in data: parts.append(data["text/markdown"]); continue
            else: text = data.get("text/plain", "") if o.output_type != "error" else "\n".join(o.get("traceback", []))
            if text.strip(): parts.append(f"```\n{text.rstrip()}\n```")
    return "\n\n".join(parts) + "\n"


def write_extras(pages: list[str]) -> None:
    """Markdown copies `<name>.html.md` and redirects `<name>.html` under the names nbdev gives the pages in module
    docstrings and llms.txt (the notebook name without its number: 74_teaching_quiz -> teaching_quiz), plus llms.txt
    itself (nbs/llms.txt, written by nbdev-export)."""
    sys.path.insert(0, str(BOOK))
    from nbdev_reader import read_nbdev
    for page in pages:
        name = re.sub(r"^\d+[a-z]?_", "", page)
        nb = read_nbdev((NBS / f"{page}.ipynb").read_text())
        (HTML / f"{name}.html.md").write_text(_markdown(nb))
        if name != page and not (HTML / f"{name}.html").exists():
            (HTML / f"{name}.html").write_text(
                f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Redirect</title>'
                f'<meta http-equiv="refresh" content="0; url={page}.html"><link rel="canonical" href="{page}.html">'
                f'</head><body><a href="{page}.html">{page}</a></body></html>\n')
    if (NBS / "llms.txt").exists(): shutil.copy2(NBS / "llms.txt", HTML / "llms.txt")


def build(warnings_as_errors: bool) -> int:
    """Run jupyter-book on the staged source; return its exit status."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(SRC), "--path-output", str(BOOK),
           "--builder", "html", "--keep-going", "--all"]  # --all: assets in the extension change pages too
    if warnings_as_errors: cmd.append("-W")
    r = subprocess.run(cmd, cwd=ROOT)  # noqa: S603 (our own Sphinx command line, no user input)
    (HTML / ".nojekyll").touch()
    return r.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strict", action="store_true", help="fail if a notebook listed in book/_toc.yml is missing")
    ap.add_argument("-W", dest="warnings_as_errors", action="store_true", help="fail on any Sphinx warning")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    vendor_js()
    pages = stage(args.strict)
    rc = build(args.warnings_as_errors)
    if rc == 0: write_extras(pages)
    print(f"site: {HTML}/index.html ({time.perf_counter() - t0:.1f} s, exit status {rc})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
