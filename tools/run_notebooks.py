"""Execute notebooks in place so their committed outputs come from a real run, then clean them with nbdev.

    python tools/run_notebooks.py                 # every notebook in nbs/, full mode
    python tools/run_notebooks.py nbs/04_*.ipynb  # some of them
    LLM_FROM_SCRATCH_QUICK=1 python tools/run_notebooks.py ...   # quick mode (not for publishing)

Each notebook runs top to bottom in a fresh kernel from the nbs/ folder; the time of each is printed.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, timeout: int = 1800) -> float:
    """Execute one notebook in place; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   store_widget_state=True).execute()
    dt = time.perf_counter() - t0
    nb.metadata.pop("jupytext", None)  # notebooks authored as py:percent carry pairing metadata we do not use
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    nbformat.write(nb, path)
    return dt


def main(argv: list[str]) -> None:
    paths = [Path(p) for p in argv] or sorted((ROOT / "nbs").glob("*.ipynb"))
    for p in paths:
        dt = run(p.resolve())
        # clean only this notebook: others may be being edited at the same time
        subprocess.run([str(Path(sys.executable).with_name("nbdev-clean")), "--fname", str(p)], cwd=ROOT, check=True)
        print(f"{p.name}: {dt:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
