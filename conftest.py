"""pytest setup shared by tests/ and the notebooks (nbval).

- Quick mode: notebooks and tests run with LLM_FROM_SCRATCH_QUICK=1 unless the variable is already set
  (`LLM_FROM_SCRATCH_QUICK=0 pytest` runs the chapters in full mode, as readers do).
- nbdev's `#| eval: false` directive skips a notebook cell under nbval too, so authors have one convention.
- nbdev-clean blanks execution counts but keeps outputs; nbval would call such cells "unrun reference cells with
  outputs" and fail them, so collected cells get a count back (with --nbval-lax outputs are still not compared, except
  in cells marked `# NBVAL_CHECK_OUTPUT`).
- Two workers (pytest-xdist, `-n 2 --dist loadfile` in pyproject.toml; `-n 0` runs in one process): a test file, or a
  notebook with all its cells in order in one kernel, is one unit of work on one worker. Notebooks that write the same
  relative folder are one unit together (SAME_WORKER below), so they never run at the same time.
- Each xdist worker's torch (and its notebook kernels, which inherit the variable) uses its share of the CPU cores:
  two workers on two cores with two threads each would fight over the cores.
- At the end of a run: the ten slowest tests and the ten slowest notebooks (all cells, kernel start included).
"""
import os
from collections import defaultdict

import pytest

os.environ.setdefault("LLM_FROM_SCRATCH_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):   # in an xdist worker, before anything imports torch
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

# Files that share an output folder run in one unit of work, in collection order, never beside each other.
# nbs/61_commands_train.ipynb and nbs/62_commands_generate.ipynb both rmtree and train into nbs/out/cli-demo, and
# nbs/64_commands_main.ipynb reads it.
SAME_WORKER = {
    "nbs/61_commands_train.ipynb": "nbs/out/cli-demo",
    "nbs/62_commands_generate.ipynb": "nbs/out/cli-demo",
    "nbs/64_commands_main.ipynb": "nbs/out/cli-demo",
}


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="#| eval: false")
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is not None and cell.get("execution_count") is None and cell.get("outputs"):
            cell["execution_count"] = 1
        if cell is not None and any(line.strip().replace(" ", "") == "#|eval:false"
                                    for line in cell.get("source", "").splitlines()):
            item.add_marker(skip)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile, with the SAME_WORKER files as one unit (other --dist modes are xdist's own)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedFolderScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = super()._split_scope(nodeid)
            return SAME_WORKER.get(path, path)

    return SharedFolderScheduling(config, log)


_seconds: dict[str, float] = defaultdict(float)     # test nodeid or notebook path -> setup + call + teardown
_workers: dict[str, float] = defaultdict(float)     # xdist worker -> seconds busy


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    _seconds[path if path.endswith(".ipynb") else report.nodeid] += report.duration
    node = getattr(report, "node", None)
    if node is not None:
        _workers[node.gateway.id] += report.duration


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if os.environ.get("PYTEST_XDIST_WORKER") or not _seconds:
        return
    w = terminalreporter
    for title, keep in (("slowest 10 tests", lambda k: not k.endswith(".ipynb")),
                        ("slowest 10 notebooks (all cells, kernel start included)", lambda k: k.endswith(".ipynb"))):
        rows = sorted(((s, k) for k, s in _seconds.items() if keep(k)), reverse=True)[:10]
        if rows:
            w.write_sep("=", title)
            for s, k in rows:
                w.write_line(f"{s:8.2f}s {k}")
    if _workers:
        w.write_line("busy: " + ", ".join(f"{n} {s:.0f} s" for n, s in sorted(_workers.items())))
