"""Read nbdev notebooks for Jupyter Book (myst-nb), and serve the site's JavaScript from the site itself.

Used two ways by `book/_config.yml`:

- `nb_custom_formats: {.ipynb: nbdev_reader.read_nbdev}`: myst-nb reads every notebook through `read_nbdev`, which turns
  nbdev's cell directives into what Jupyter Book understands:

  | directive in a code cell            | on the site                                                  |
  |-------------------------------------|--------------------------------------------------------------|
  | `#| hide`, `#| include: false`      | cell removed (tag `remove-cell`)                             |
  | `#| default_exp m`                  | directive dropped; the cell removed if nothing else is in it |
  | `#| export`, `#| exports`           | code shown, marked by a badge "exported to `llm_from_scratch.m`" |
  | `#| exporti`                        | the same badge ("internal")                                  |
  | `#| echo: false`                    | input removed, output kept (`remove-input`)                  |
  | `#| output: false`                  | output removed (`remove-output`)                             |
  | `#| eval: false`                    | tag `skip-execution` (the site never executes anyway)        |
  | `#| code-fold: true` / `show`       | input folded behind a toggle (`hide-input`)                  |
  | `#| fig-alt: TEXT`                  | alt text of the cell's image output (Quarto's name)          |
  | `#| code-summary: TEXT`             | the folded input's toggle reads TEXT (Quarto's name)         |

  Every `#|` line is dropped from the shown source.
- as a Sphinx extension (`local_extensions`): registers the vendored JavaScript folder (`book/_vendor`, filled by
  `tools/build_site.py` from `node_modules`) and the site's own assets (`book/assets`) as static paths, sets a default
  colour mode, keeps sphinx-thebe's duplicated inline script off the pages, and escapes the Markdown-style docstrings
  for autodoc (reST).
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parent
_DIRECTIVE = re.compile(r"^\s*#\|\s*(?P<key>[\w-]+)\s*:?\s*(?P<value>.*?)\s*$")
_EXPORT_KINDS = {"export": "", "exports": "", "exporti": " (internal)"}


def parse_directives(source: str) -> tuple[dict[str, str], str]:
    """Split a cell's source into its nbdev directives (`{'export': '', 'echo': 'false', ...}`) and the remaining code.

    >>> parse_directives("#| export\\nx = 1")
    ({'export': ''}, 'x = 1')
    """
    directives: dict[str, str] = {}
    kept = []
    for line in source.splitlines():
        m = _DIRECTIVE.match(line)
        if m:
            key = m["key"].lower().replace("-", "_")
            if key == "fig_alt" and key in directives:  # a long alt text continues on more lines
                directives[key] += " " + m["value"]
            else:
                directives[key] = m["value"]
        else: kept.append(line)
    return directives, "\n".join(kept).strip("\n")


def _is_false(v: str) -> bool:
    return v.strip().lower() in ("false", "0", "no")


def _badge(module: str | None, kind: str) -> nbformat.NotebookNode:
    name = f"llm_from_scratch.{module}" if module else "the package"
    html = (f'<div class="lfs-export-badge">exported to <code>{name}</code>{kind}</div>')
    return nbformat.v4.new_markdown_cell(html)


def nbdev_to_book(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Rewrite a notebook's cells in place (see the module docstring) and return it."""
    # nbdev-clean keeps only the kernelspec; myst-nb picks the code lexer from language_info
    nb.metadata.setdefault("language_info", {"name": "python", "pygments_lexer": "ipython3"})
    module = None
    for cell in nb.cells:
        if cell.cell_type == "code":
            d, _ = parse_directives(cell.source)
            if "default_exp" in d: module = d["default_exp"].split()[0] if d["default_exp"] else None
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            cells.append(cell)
            continue
        d, code = parse_directives(cell.source)
        tags = list(cell.metadata.get("tags", []))
        if "hide" in d or ("include" in d and _is_false(d["include"])) or (d and not code and not cell.get("outputs")):
            tags.append("remove-cell")
        if "echo" in d and _is_false(d["echo"]): tags.append("remove-input")
        if "output" in d and _is_false(d["output"]): tags.append("remove-output")
        if "eval" in d and _is_false(d["eval"]): tags.append("skip-execution")
        if "code_fold" in d and d["code_fold"].lower() in ("true", "show"): tags.append("hide-input")
        if d.get("fig_alt"):  # myst-nb reads image options from the cell's `mystnb.image` metadata
            cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = d["fig_alt"]
        if d.get("code_summary"):  # myst-nb reads the toggle's text from the cell's `mystnb` metadata
            cell.metadata.setdefault("mystnb", {})["code_prompt_show"] = d["code_summary"].strip("\"'")
        cell.source = code
        if tags: cell.metadata["tags"] = list(dict.fromkeys(tags))
        exported = [k for k in _EXPORT_KINDS if k in d]
        if exported and "remove-cell" not in tags and "remove-input" not in tags:
            cells.append(_badge(module, _EXPORT_KINDS[exported[0]]))
        cells.append(cell)
    nb.cells = cells
    _drop_stateless_widget_views(nb)
    return nb


def _drop_stateless_widget_views(nb: nbformat.NotebookNode) -> None:
    """A widget view whose model is not in the notebook's saved widget state cannot render on a static page (the
    notebook was run without saving widget state): show the output's other representation (HTML, text) instead."""
    state = (nb.metadata.get("widgets") or {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data") or {}
            view = data.get("application/vnd.jupyter.widget-view+json")
            if view and view.get("model_id") not in state and len(data) > 1:
                del data["application/vnd.jupyter.widget-view+json"]


def read_nbdev(text: str) -> nbformat.NotebookNode:
    """myst-nb reader: parse an .ipynb file's text and apply `nbdev_to_book`."""
    return nbdev_to_book(nbformat.reads(text, as_version=4))


def _add_static_paths(app, config) -> None:
    vendor = BOOK / "_vendor"
    if not (vendor / "lfs-widgets" / "embed-amd.js").exists():
        raise RuntimeError(f"{vendor} lacks the vendored widget JavaScript: build the site with `python tools/build_site.py`")
    for p in (str(vendor), str(BOOK / "assets")):
        if p not in config.html_static_path: config.html_static_path.append(p)
    # pydata-sphinx-theme logs a console error on a reader's first visit when no default colour mode is set
    config.html_context.setdefault("default_mode", "light")


def _drop_thebe_config(app) -> None:
    """We launch notebooks on Colab/Binder, not in-page with thebe. sphinx-thebe 0.3 puts its inline `const THEBE_JS_URL`
    script on every page twice, a SyntaxError in the browser console; stop it adding that script (and its loader)."""
    for listeners in app.events.listeners.values():
        for lis in list(listeners):
            h = lis.handler
            if getattr(h, "__module__", "").startswith("sphinx_thebe") and h.__name__ == "init_thebe_core":
                app.disconnect(lis.id)


_CODE_SPAN = re.compile(r"(`[^`]+`)")


def markdown_docstring_to_rst(line: str) -> str:
    r"""Escape what reST would misread in a docstring line written the Markdown way (the package's docstrings are): `|x|`
    substitutions, `*` emphasis and `name_` references outside code spans. Code spans stay code (`default_role: code`).

    >>> print(markdown_docstring_to_rst("tokens such as <|endoftext|> in `a|b`, **kwargs"))
    tokens such as <\|endoftext\|> in `a|b`, \*\*kwargs
    """
    parts = _CODE_SPAN.split(line)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", parts[i].replace("|", "\\|").replace("*", "\\*"))
    return "".join(parts)


def _escape_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = [markdown_docstring_to_rst(line) for line in lines]


_FONTAWESOME_JS = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
_SEARCH_JS = re.compile(
    r'(\s*)<script src="((?:\.\./)*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js))">'
    r"</script>")
_IMG = re.compile(r"<img (?![^>]*\bloading=)")


def _lighten_pages(app, exception) -> None:
    """Post-process the built pages. pydata-sphinx-theme puts Font Awesome's 1.5 MB JavaScript (icons as SVG) on every
    page, though its own CSS already draws the same icons from the Font Awesome web fonts: remove the script. It also
    puts the search index (over 200 kB) and Sphinx's search scripts on every page for search-as-you-type, which this
    site leaves off (the theme's default: the search box opens search.html, which loads them itself): remove them
    from the other pages, and defer them on the search page, after doctools.js. Images load lazily, so a phone fetches the figures it scrolls to, not every one at once."""
    if exception is not None or app.builder.format != "html": return
    for page in Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        lean = _IMG.sub('<img loading="lazy" ', _FONTAWESOME_JS.sub("", html))
        if page.name == "search.html":  # after doctools.js, which the theme defers
            lean = _SEARCH_JS.sub(r'\1<script defer src="\2"></script>', lean)
        else:
            lean = _SEARCH_JS.sub("", lean)
        if lean != html: page.write_text(lean, encoding="utf-8")


def _defer_scripts(app, pagename, templatename, context, doctree) -> None:
    """Load the extensions' scripts (copy buttons, toggles, search highlighting, ...) with `defer`, so they no longer
    hold up parsing the page: they all wait for the DOM anyway, and deferred scripts keep their order. Not
    documentation_options.js (320 bytes): inline scripts of the theme set fields of the object it defines."""
    files = context.get("script_files") or []
    for i, js in enumerate(files):
        attrs = dict(getattr(js, "attributes", None) or {})
        name = str(getattr(js, "filename", "") or "")
        keep = name.endswith("documentation_options.js") or {"async", "defer", "type", "body"} & set(attrs)
        if name.endswith(".js") and not keep:
            files[i] = type(js)(js.filename, priority=js.priority, **attrs, defer="defer")


def setup(app):
    """Sphinx extension: serve `book/_vendor` (npm bundles copied by the build) and `book/assets` from `_static/`."""
    app.connect("config-inited", _add_static_paths)
    app.connect("builder-inited", _drop_thebe_config)
    app.connect("autodoc-process-docstring", _escape_docstring)
    app.connect("build-finished", _lighten_pages)
    app.connect("html-page-context", _defer_scripts)
    app.add_css_file("lfs.css")
    app.add_js_file("lfs-menu.js", loading_method="defer")
    # the widget loader, inline: no request of its own, and it starts as soon as the page is parsed
    app.add_js_file(None, body=(BOOK / "assets" / "lfs-widgets" / "loader.js").read_text(encoding="utf-8"))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
