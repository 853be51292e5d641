"""The package's layering: the core path (model, checkpoint, trainer, generation, cli) loads no teaching or notebook
library, the model imports nothing above it, and each toolkit module imports only the layers below it:
runtime, style <- config <- {data, tokenizer, storage, flags} ... <- checkpoint <- run <- trainer <- train_command <- cli. Each check runs in a fresh interpreter, so nothing imported by other
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


@pytest.mark.parametrize("module", ["runtime", "style", "config", "model", "cli"])   # cli imports all the core
def test_core_path_loads_no_teaching_libraries(module):
    loaded = loaded_after(f"llm_from_scratch.{module}")
    assert f"llm_from_scratch.{module}" in loaded
    assert not [m for m in loaded if m.split(".")[0] in TEACHING]
    if module == "cli":
        assert {"llm_from_scratch.trainer", "llm_from_scratch.generation", "llm_from_scratch.checkpoint"} <= set(loaded)
        assert "llm_from_scratch.viz" not in loaded


def test_model_imports_only_what_is_below_it():
    ours = {m for m in loaded_after("llm_from_scratch.model") if m.startswith("llm_from_scratch.")}
    assert ours == {"llm_from_scratch.runtime", "llm_from_scratch.style", "llm_from_scratch.config",
                    "llm_from_scratch.attention", "llm_from_scratch.transformer", "llm_from_scratch.model"}


FLOOR = {"runtime", "style", "config"}  # config re-exports runtime's and style's names
ALLOWED = {  # module -> the package modules it may load (itself aside)
    "runtime": set(),
    "style": set(),
    "config": {"runtime", "style"},
    "storage": FLOOR,
    "flags": FLOOR,
}
NOT_BELOW = {  # module -> package modules that sit above it and must not be loaded with it
    "checkpoint": {"run", "trainer", "generation", "train_command", "cli", "finetune", "fast", "flags"},
    "run": {"trainer", "generation", "train_command", "cli", "finetune", "fast", "flags"},
    "trainer": {"train_command", "cli", "finetune", "flags"},
    "train_command": {"cli", "finetune"},
}
TEACHING_MODULES = {"viz", "diagrams", "quiz"}


def ours_after(module: str) -> set[str]:
    return {m.split(".")[1] for m in loaded_after(f"llm_from_scratch.{module}") if m.startswith("llm_from_scratch.")}


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_toolkit_floor_imports_only_what_is_below_it(module):
    assert ours_after(module) - {module} <= ALLOWED[module]


@pytest.mark.parametrize("module", sorted(NOT_BELOW))
def test_layers_never_import_upwards(module):
    ours = ours_after(module)
    assert not ours & (NOT_BELOW[module] | TEACHING_MODULES)
