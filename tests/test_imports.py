"""The package's layering: the core path (model, checkpoint, trainer, generation, cli) loads no teaching or notebook
library and no teaching module, the model imports nothing above it, and each toolkit module imports only the layers
below it: runtime, style <- config <- {data, tokenizer, storage, flags} ... <- checkpoint <- run <- trainer <-
train_command <- cli; the drawing modules load no model. Names that moved still import from where they were. Each check
runs in a fresh interpreter, so nothing imported by other tests can hide a regression."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

TEACHING = ("ipywidgets", "anywidget", "IPython", "matplotlib", "traitlets")
TEACHING_MODULES = ("viz", "diagrams", "drawing", "maps", "quiz")  # beside the core path


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
    assert not {f"llm_from_scratch.{m}" for m in TEACHING_MODULES} & set(loaded)


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
    # split out of tokenizer and generation: below them, so no cycle and no way back up
    "gpt2_files": FLOOR | {"data"},
    "tokenizer": FLOOR | {"data", "gpt2_files"},
    "generation_config": FLOOR,
    "beam": FLOOR | {"generation_config"},
}
NOT_BELOW = {  # module -> package modules that sit above it and must not be loaded with it
    "checkpoint": {"run", "trainer", "generation", "train_command", "cli", "finetune", "fast", "flags"},
    "run": {"trainer", "generation", "train_command", "cli", "finetune", "fast", "flags"},
    "trainer": {"train_command", "cli", "finetune", "flags"},
    "train_command": {"cli", "finetune"},
}
TEACHING_MODULES = {"viz", "maps", "drawing", "diagrams", "quiz"}


def ours_after(module: str) -> set[str]:
    return {m.split(".")[1] for m in loaded_after(f"llm_from_scratch.{module}") if m.startswith("llm_from_scratch.")}


@pytest.mark.parametrize("module", ["runtime", "style", "config"])
def test_the_floor_loads_no_torch(module):
    """A default config, quick mode and the errors need no torch: the floor imports it where it is used."""
    code = f"import sys, llm_from_scratch.{module} as m; m.__name__; print('torch' in sys.modules)"
    if module == "config":
        code = code.replace("m.__name__", "m.GPTConfig(), m.TrainConfig()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stdout + out.stderr[-2000:]


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_toolkit_floor_imports_only_what_is_below_it(module):
    assert ours_after(module) - {module} <= ALLOWED[module]


@pytest.mark.parametrize("module", sorted(NOT_BELOW))
def test_layers_never_import_upwards(module):
    ours = ours_after(module)
    assert not ours & (NOT_BELOW[module] | TEACHING_MODULES)


def test_finetuning_modules_sit_above_the_trainer():
    """finetune (chapter 7) <- lora (chapter 7b) <- finetune_run (the command's engine) <- cli; none of them loads a
    teaching library or anything above it."""
    above = {
        "finetune": {"lora", "finetune_run", "cli", "generation", "viz", "maps", "drawing", "diagrams", "quiz"},
        "lora": {"finetune_run", "cli", "generation", "viz", "maps", "drawing", "diagrams", "quiz"},
        "finetune_run": {"cli", "generation", "viz", "maps", "drawing", "diagrams", "quiz"},
    }
    below = {"finetune": {"trainer", "model"}, "lora": {"finetune", "checkpoint"},
             "finetune_run": {"lora", "finetune", "trainer", "checkpoint"}}
    for module, forbidden in above.items():
        loaded = loaded_after(f"llm_from_scratch.{module}")
        ours = {m.split(".", 1)[1] for m in loaded if m.startswith("llm_from_scratch.")}
        assert below[module] <= ours and not ours & forbidden, (module, sorted(ours))
        assert not [m for m in loaded if m.split(".")[0] in TEACHING], module


def test_diagrams_load_no_model_and_no_torch():
    loaded = loaded_after("llm_from_scratch.diagrams")
    ours = {m for m in loaded if m.startswith("llm_from_scratch.")}
    assert ours == {"llm_from_scratch.diagrams", "llm_from_scratch.drawing", "llm_from_scratch.maps"}
    assert "torch" not in loaded and "IPython" not in loaded   # imported by the helpers that need them, when called


MOVED = {  # old module -> (new module, names): each still imports from the old one, as the same object
    "diagrams": [("drawing", ["PALETTE", "FONT", "INK", "canvas", "box", "arrow", "matrix", "note", "check_legible"]),
                 ("maps", ["pca", "embedding_map"])],
    "viz": [("maps", ["token_labels", "plot_attention_heads"])],
    "tokenizer": [("gpt2_files", ["ENDOFTEXT", "GPT2_FILES", "TokenizerError", "bytes_to_unicode", "get_tokenizer",
                                  "gpt2_encoding_from_files", "local_gpt2_files"])],
    "generation": [("generation_config", ["GenerationConfig", "GenerationError"])],
    "config": [("runtime", ["LLMError", "ConfigError", "command_name", "quick_mode", "pick", "check_device_name",
                            "format_bytes", "memory_limit"]),
               ("style", ["COURSE_STYLE", "smallest_text_px", "use_course_style"])],
    "checkpoint": [("storage", ["CheckpointError", "atomic_write", "read_json", "read_safetensors"])],
    "trainer": [("run", ["TrainError", "TrainSetup", "make_tokenizer", "load_data", "check_memory", "check_out_dir",
                         "restore_optimizer", "read_metrics", "truncate_metrics"]),
                ("runtime", ["init_distributed", "resolve_device", "autocast_for"])],
    "cli": [("flags", ["in_flags", "int_or_none", "float_or_none", "add_field_flags"]),
            ("train_command", ["preset_train_defaults", "train_parser", "TrainPlan", "resolve_configs", "train_main"])],
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_names_import_from_their_old_module(old):
    import importlib

    mod = importlib.import_module(f"llm_from_scratch.{old}")
    for new, names in MOVED[old]:
        target = importlib.import_module(f"llm_from_scratch.{new}")
        for name in names:
            assert getattr(mod, name) is getattr(target, name), (old, name)
            assert name in mod.__all__, (old, name)
