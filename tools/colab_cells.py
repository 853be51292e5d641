"""Give every notebook a first code cell that installs the course package when the notebook runs in Google Colab.

    python tools/colab_cells.py --write [NB ...]   # insert or update the cell (default: every nbs/*.ipynb)
    python tools/colab_cells.py --check [NB ...]   # exit 1 if a notebook lacks the cell, it is stale, or the pinned
                                                   # release lacks a module the notebook imports (CI)
    python tools/colab_cells.py --version          # print the package version (release workflow, wheel smoke test)

The cell installs the release the notebook was written for: `llm-from-scratch==VERSION` from PyPI (VERSION is
`__version__` in llm_from_scratch/__init__.py, the one place the version lives), else the repository at the tag
`vVERSION` (before the release reaches PyPI), else the repository's branch (a version not tagged yet). The repository
comes from pyproject.toml (`[project.urls] Repository`, branch `[tool.nbdev] branch`). The cell is plain Python
(no magics), so it reads the same before and after `ruff format`; it does nothing outside Colab and carries the cell
tag `remove-cell`, so the website hides it. It goes just before the notebook's first other code cell (after the
title), and has the cell id `colab-install`.

`--check` also reads every `llm_from_scratch.MODULE` a notebook imports and fails when the release its cell pins does
not hold that module: the tree at the tag `vVERSION` when the tag exists (what PyPI and the tag install), else this
checkout (the release is cut from it). A chapter written after the last release then cannot pin that release.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "colab-install"
TAGS = ["remove-cell", "colab-install"]


def version() -> str:
    """The package version: `__version__` in llm_from_scratch/__init__.py, read without importing the package."""
    tree = ast.parse((ROOT / "llm_from_scratch" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("llm_from_scratch/__init__.py sets no __version__")


def extras(nb=None) -> str:
    """The package extras a notebook's cell installs: the course extra (figures, quizzes), plus the ONNX exporter's
    for a notebook that imports or defines (`#| default_exp`) `commands.export`."""
    code = [] if nb is None else [c.source for c in nb.cells if c.cell_type == "code"]
    used = {m for s in code for m in IMPORT.findall(s) + DEFAULT_EXP.findall(s)}
    return "course,export" if "commands.export" in used else "course"


def install_source(extra: str = "course") -> str:
    """The cell's code: the pinned release, the repository at its tag, the branch (already `ruff format`ted).

    A release from PyPI counts only if its metadata names our repository, so that a namesake on PyPI is never
    what the notebook runs on."""
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    name = py["project"]["name"]
    url = py["project"]["urls"]["Repository"].rstrip("/")
    branch = py.get("tool", {}).get("nbdev", {}).get("branch", "main")
    v = version()
    return ("# In Google Colab, install the course package (this cell does nothing elsewhere):\n"
            f"# release {v} from PyPI, else the repository at tag v{v}, else its {branch} branch.\n"
            "import subprocess\n"
            "import sys\n"
            "from importlib import metadata\n"
            "\n"
            'if "google.colab" in sys.modules:\n'
            f'    repo = "{url}"\n'
            '    pip = [sys.executable, "-m", "pip"]\n'
            "    for spec in (\n"
            f'        "{name}[{extra}]=={v}",\n'
            f'        f"{name}[{extra}] @ git+{{repo}}@v{v}",\n'
            f'        f"{name}[{extra}] @ git+{{repo}}@{branch}",\n'
            "    ):\n"
            '        done = subprocess.run([*pip, "install", "-q", spec], capture_output=True)\n'
            "        if done.returncode == 0:\n"
            f'            meta = metadata.metadata("{name}")\n'
            '            urls = meta.get_all("Project-URL") or []\n'
            "            if any(repo in url for url in urls):  # ours, not a namesake on PyPI\n"
            '                print("installed", spec)\n'
            "                break\n"
            f'            subprocess.run([*pip, "uninstall", "-q", "-y", "{name}"])\n'
            "    else:\n"
            "        raise RuntimeError(done.stderr.decode())  # the last attempt's error")


def _is_colab_cell(cell) -> bool:
    return cell.get("id") == CELL_ID or "colab-install" in cell.get("metadata", {}).get("tags", [])


def release_modules(v: str) -> set[str]:
    """The dotted modules (`commands.main`, ...) of release `v`: the tree at tag `vV` if the tag exists, else this
    checkout's."""
    tag = subprocess.run(["git", "ls-tree", "-r", "--name-only", f"v{v}", "--", "llm_from_scratch"],  # noqa: S603, S607
                         cwd=ROOT, capture_output=True, text=True)  # git from PATH, a fixed command
    files = tag.stdout.split() if tag.returncode == 0 and tag.stdout.strip() else [
        str(p.relative_to(ROOT)) for p in (ROOT / "llm_from_scratch").rglob("*.py")]
    mods = set()
    for f in files:
        if f.endswith(".py") and not Path(f).name.startswith("_"):
            mods.add(".".join(Path(f).with_suffix("").parts[1:]))
        elif f.endswith("/__init__.py") and f.count("/") > 1:
            mods.add(".".join(Path(f).parent.parts[1:]))
    return mods


IMPORT = re.compile(r"(?:from|import)\s+llm_from_scratch\.([\w.]+)")
DEFAULT_EXP = re.compile(r"^#\|\s*default_exp\s+([\w.]+)", re.M)


def missing_modules(nb, modules: set[str]) -> list[str]:
    """The `llm_from_scratch` modules the notebook's code imports that `modules` lacks."""
    used = {m for c in nb.cells if c.cell_type == "code" for m in IMPORT.findall(c.source)}
    return sorted(used - modules)


def _place(nb) -> int:
    """Index the cell should have: before the first other code cell (or at the end if there is none)."""
    others = [c for c in nb.cells if not _is_colab_cell(c)]
    return next((i for i, c in enumerate(others) if c.cell_type == "code"), len(others))


def problem(nb) -> str | None:
    """Why the notebook's Colab cell is missing or stale, or None if it is right."""
    found = [i for i, c in enumerate(nb.cells) if _is_colab_cell(c)]
    if not found: return "no Colab install cell"
    if len(found) > 1: return "more than one Colab install cell"
    cell = nb.cells[found[0]]
    if cell.cell_type != "code" or cell.source != install_source(extras(nb)): return "stale Colab install cell (source differs)"
    if not set(TAGS) <= set(cell.metadata.get("tags", [])): return "Colab install cell lacks its tags"
    if found[0] != _place(nb): return "Colab install cell is not the first code cell"
    return None


def write(nb) -> None:
    """Insert or update the cell in place."""
    import nbformat

    nb.cells = [c for c in nb.cells if not _is_colab_cell(c)]
    cell = nbformat.v4.new_code_cell(install_source(extras(nb)), id=CELL_ID, metadata={"tags": list(TAGS)})
    nb.cells.insert(_place(nb), cell)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", action="store_true", help="insert or update the cell")
    g.add_argument("--check", action="store_true", help="exit 1 if a notebook lacks the cell or it is stale")
    g.add_argument("--version", action="store_true", help="print the package version and exit")
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every nbs/*.ipynb")
    args = ap.parse_args(argv)
    if args.version:
        print(version())
        return 0
    import nbformat  # only here: --version runs before the project's dependencies are installed

    paths = args.notebooks or sorted((ROOT / "nbs").glob("*.ipynb"))
    bad, modules = 0, release_modules(version())
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        why = problem(nb)
        if args.check:
            if why: print(f"{p}: {why} (fix: python tools/colab_cells.py --write {p})"); bad += 1
            if lacks := missing_modules(nb, modules):
                print(f"{p}: imports {lacks}, which release {version()} (pinned by its Colab cell) lacks; "
                      "raise __version__ and release it"); bad += 1
        elif why:
            write(nb)
            nbformat.write(nb, p)
            print(f"{p}: Colab install cell written")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
