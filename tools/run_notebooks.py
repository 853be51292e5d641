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


def _eval_false(cell) -> bool:
    return cell.cell_type == "code" and any(line.replace(" ", "") == "#|eval:false" for line in cell.source.splitlines())


def _merge_streams(outputs: list) -> list:
    """Join consecutive outputs of the same stream (a streamed generation would otherwise be one output per write)."""
    merged: list = []
    for o in outputs:
        if o.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream" \
                and merged[-1].get("name") == o.get("name"):
            merged[-1]["text"] += o["text"]
        else: merged.append(o)
    return merged


def run(path: Path, timeout: int = 1800) -> float:
    """Execute one notebook in place; return its wall time in seconds.

    Cells marked `#| eval: false` are not run (as under nbval and nbdev-test); their outputs are cleared. If the file
    changes on disk while the notebook runs (someone edited it), nothing is written: the edit is kept, the run is lost."""
    before = path.read_bytes()
    nb = nbformat.reads(before.decode("utf-8"), as_version=4)
    skipped = [c for c in nb.cells if _eval_false(c)]
    for c in skipped:
        c.outputs = []
        c.metadata.setdefault("tags", []).append("skip-execution")
    t0 = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                       store_widget_state=True, skip_cells_with_tag="skip-execution").execute()
    finally:
        for c in skipped:
            c.metadata["tags"].remove("skip-execution")
            if not c.metadata["tags"]: del c.metadata["tags"]
    dt = time.perf_counter() - t0
    for c in nb.cells:
        if c.cell_type == "code": c.outputs = _merge_streams(c.outputs)
    nb.metadata.pop("jupytext", None)  # notebooks authored as py:percent carry pairing metadata we do not use
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "python3", "language": "python"}
    if path.read_bytes() != before:  # edited while it ran: writing would undo the edit
        raise SystemExit(f"{path.name} changed on disk while it ran; not written (run it again)")
    nbformat.write(nb, path)
    return dt


def main(argv: list[str]) -> None:
    paths = [Path(p) for p in argv] or sorted((ROOT / "nbs").glob("*.ipynb"))
    for p in paths:
        dt = run(p.resolve())
        # clean only this notebook: others may be being edited at the same time
        subprocess.run([str(Path(sys.executable).with_name("nbdev-clean")), "--fname", str(p)],  # noqa: S603
                       cwd=ROOT, check=True)  # this venv's nbdev-clean on a notebook of ours
        print(f"{p.name}: {dt:.1f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
