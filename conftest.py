"""pytest setup shared by tests/ and the notebooks (nbval).

- Quick mode: notebooks and tests run with LLM_FROM_SCRATCH_QUICK=1 unless the variable is already set
  (`LLM_FROM_SCRATCH_QUICK=0 pytest` runs the chapters in full mode, as readers do).
- nbdev's `#| eval: false` directive skips a notebook cell under nbval too, so authors have one convention.
- nbdev-clean blanks execution counts but keeps outputs; nbval would call such cells "unrun reference cells with
  outputs" and fail them, so collected cells get a count back (with --nbval-lax outputs are still not compared, except
  in cells marked `# NBVAL_CHECK_OUTPUT`).
"""
import os

import pytest

os.environ.setdefault("LLM_FROM_SCRATCH_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="#| eval: false")
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is not None and cell.get("execution_count") is None and cell.get("outputs"):
            cell["execution_count"] = 1
        if cell is not None and any(line.strip().replace(" ", "") == "#|eval:false"
                                    for line in cell.get("source", "").splitlines()):
            item.add_marker(skip)
