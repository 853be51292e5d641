"""Check that every notebook's imports can be met where the home page says the chapters run: Binder and Colab.

    python tools/notebook_imports.py        # exit 1, with one line per import that an environment cannot meet

Binder installs binder/requirements.txt, then this package with its `course` extra (binder/postBuild; also `export`);
Colab has its own image (COLAB below: the libraries the notebooks use that Colab ships, as of 2026) and the Colab cell
installs this package with its `course` extra (also `export` where the notebook imports `commands.export`): the check
counts the `course` extra only, the stricter case. An import is met when the distribution that provides it (from this environment's
metadata) is among those installed, directly or as a dependency of one of them. Run in the dev environment, where every
notebook's imports are installed (`pip install -e ".[dev]"`).
"""
from __future__ import annotations

import ast
import json
import re
import sys
from importlib import metadata
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
COLAB = {"torch", "transformers", "scikit-learn", "pytest", "huggingface-hub", "matplotlib", "ipywidgets", "ipython",
         "numpy", "tqdm", "pyyaml", "regex", "safetensors"}  # preinstalled in Google Colab's image


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(lines: list[str]) -> set[str]:
    """Distribution names of requirement lines (markers kept only if they hold here)."""
    from packaging.requirements import Requirement

    out = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            out.add(norm(req.name))
    return out


def closure(names: set[str]) -> set[str]:
    """`names` and everything they depend on, as installed here."""
    todo, seen = list(names), set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        try:
            todo += requirement_names([r for r in metadata.requires(n) or [] if "extra ==" not in r])
        except metadata.PackageNotFoundError:
            pass
    return seen


def environments() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = requirement_names(project["dependencies"] + project["optional-dependencies"]["course"])
    binder = requirement_names((ROOT / "binder" / "requirements.txt").read_text().splitlines())
    return {"Binder": closure(ours | binder), "Colab": closure(ours | {norm(n) for n in COLAB})}


def imports(nb: Path) -> set[str]:
    """Top-level modules a notebook's code imports (not the package itself, not the standard library)."""
    found = set()
    for c in json.loads(nb.read_text())["cells"]:
        if c["cell_type"] != "code":
            continue
        src = "\n".join(ln for ln in "".join(c["source"]).splitlines() if not ln.lstrip().startswith(("%", "!")))
        for n in ast.walk(ast.parse(src)):
            if isinstance(n, ast.Import):
                found |= {a.name.split(".")[0] for a in n.names}
            elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                found.add(n.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"llm_from_scratch", "tomli"}  # tomli: Python < 3.11 only, a dep


def main() -> int:
    provides = metadata.packages_distributions()
    envs, bad = environments(), 0
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        for mod in sorted(imports(nb)):
            dists = {norm(d) for d in provides.get(mod, [])}
            if not dists:
                print(f"{nb.name}: imports {mod}, which no installed distribution provides"); bad += 1
            for env, have in envs.items():
                if dists and not dists & have:
                    print(f"{nb.name}: imports {mod} ({', '.join(sorted(dists))}), which {env} does not install"); bad += 1
    print(f"{len(list((ROOT / 'nbs').glob('*.ipynb')))} notebooks, {bad} import(s) Binder or Colab cannot meet")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
