"""The package's layering: the core path (model, checkpoint, trainer, generation, cli) loads no teaching or notebook
library, and the model imports nothing above it. Each check runs in a fresh interpreter, so nothing imported by other
tests can hide a regression."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

TEACHING = ("ipywidgets", "anywidget", "IPython", "matplotlib", "traitlets")


def loaded_after(module: str) -> list[str]:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.parametrize("module", ["model", "cli"])   # cli imports trainer, generation and checkpoint
def test_core_path_loads_no_teaching_libraries(module):
    loaded = loaded_after(f"llm_from_scratch.{module}")
    assert f"llm_from_scratch.{module}" in loaded
    assert not [m for m in loaded if m.split(".")[0] in TEACHING]
    if module == "cli":
        assert {"llm_from_scratch.trainer", "llm_from_scratch.generation", "llm_from_scratch.checkpoint"} <= set(loaded)
        assert "llm_from_scratch.viz" not in loaded


def test_model_imports_only_what_is_below_it():
    ours = {m for m in loaded_after("llm_from_scratch.model") if m.startswith("llm_from_scratch.")}
    assert ours == {"llm_from_scratch.config", "llm_from_scratch.attention", "llm_from_scratch.transformer",
                    "llm_from_scratch.model"}


@pytest.mark.parametrize("module,below", [
    ("gpt2_files", {"config", "data"}),
    ("tokenizer", {"config", "data", "gpt2_files"}),
    ("generation_config", {"config"}),
    ("beam", {"config", "generation_config"}),
])
def test_split_modules_import_only_what_is_below_them(module, below):
    """The modules split out of `tokenizer` and `generation` sit below them: no cycle, no way back up."""
    ours = {m for m in loaded_after(f"llm_from_scratch.{module}") if m.startswith("llm_from_scratch.")}
    assert ours == {f"llm_from_scratch.{m}" for m in below | {module}}
