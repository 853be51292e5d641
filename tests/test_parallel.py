"""The test command runs on two xdist workers (conftest.py): notebooks that write the same relative folder must be one
unit of work (conftest.SAME_WORKER), or two kernels would write (and rmtree) it at the same time.

A notebook's relative folders are read from its code: `Path("out") / "NAME"` and "out/NAME..." strings, in the cells
that are not exported (the package's defaults, such as the presets' out_dir, are not writes). A notebook that moves
to a fresh folder (`os.chdir(...)`) writes nothing under nbs/."""
from __future__ import annotations

import importlib.util
import json
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = re.compile(r"""Path\(\s*["']out["']\s*\)\s*/\s*["']([^"'/]+)|["']out/([^"'/]+)""")


def root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def relative_folders(nb: Path) -> set[str]:
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    code = ["".join(c["source"]) for c in cells]
    if any("os.chdir(" in s for s in code):
        return set()
    return {f"nbs/out/{a or b}" for s in code if not s.lstrip().startswith("#| export") for a, b in OUT.findall(s)}


def test_notebooks_sharing_a_folder_run_in_one_unit():
    users = defaultdict(set)
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        for folder in relative_folders(nb):
            users[folder].add(f"nbs/{nb.name}")
    same = root_conftest().SAME_WORKER
    shared = {folder: nbs for folder, nbs in users.items() if len(nbs) > 1}
    for folder, nbs in shared.items():
        groups = {same.get(n, n) for n in nbs}
        assert len(groups) == 1, f"{sorted(nbs)} all use {folder}: give them one group in conftest.SAME_WORKER"


def test_the_scan_reads_both_spellings(tmp_path):
    cell = lambda src: {"cell_type": "code", "source": src}
    nb = tmp_path / "x.ipynb"
    nb.write_text(json.dumps({"cells": [cell('out = Path("out") / "a"'), cell('main(["--checkpoint", "out/b/c"])'),
                                        cell('#| export\nout_dir = "out/preset"')]}))
    assert relative_folders(nb) == {"nbs/out/a", "nbs/out/b"}


def test_same_worker_names_existing_files():
    for path in root_conftest().SAME_WORKER:
        assert (ROOT / path).is_file(), path
