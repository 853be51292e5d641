"""The package's layout: the file listing is the reading order, and every import points down it.

Reading order: the support floor under the chapters (config, files, data), the chapters' lesson modules in chapter
order with the two support modules a trainer needs (checkpoints, training_run) just before chapter 5, then the commands
and the teaching helpers, which nothing below them imports. No module re-exports a name defined in another one, the
command line loads no teaching or notebook library, and the configuration floor needs no torch. The arrows are read
from the source (ast), so a lazy import inside a function counts too."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "llm_from_scratch"
SUPPORT_BELOW = ["config", "files", "data"]
LESSONS = ["tokenizer", "attention", "transformer", "model", "trainer", "generation", "beam", "finetune", "lora",
           "fast", "fast_decoding", "modern"]
ORDER = [*SUPPORT_BELOW, "tokenizer", "attention", "transformer", "model", "checkpoints", "training_run",
         *LESSONS[4:], "commands.flags", "commands.train", "commands.generate", "commands.finetune", "commands.export",
         "commands.main",
         "teaching.drawing", "teaching.maps", "teaching.diagrams", "teaching.explorers", "teaching.quiz"]
# The one arrow that points to a later chapter: chapter 6's `generate(num_beams=...)` is Hugging Face's single entry
# point, and it calls chapter 6b's `beam_search`, which needs nothing of chapter 6 (only `GenerationConfig`).
LATER_ALLOWED = {("generation", "beam")}
TEACHING_LIBS = ("ipywidgets", "anywidget", "IPython", "matplotlib", "traitlets")


def modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        if p.name.startswith("_"):
            continue
        out[".".join(p.relative_to(PKG).with_suffix("").parts)] = p
    return out


def imports_of(name: str, path: Path) -> set[str]:
    """The package modules `name` imports, anywhere in its source."""
    pkg = name.split(".")[:-1]
    found = set()
    for n in ast.walk(ast.parse(path.read_text())):
        if not isinstance(n, ast.ImportFrom):
            continue
        if n.level:
            base = pkg[: len(pkg) - (n.level - 1)] if n.level > 1 else pkg
            target = ".".join([*base, *([n.module] if n.module else [])])
        elif n.module and n.module.startswith("llm_from_scratch"):
            target = n.module.removeprefix("llm_from_scratch").lstrip(".")
        else:
            continue
        if target == "":  # from llm_from_scratch import __version__
            continue
        found.add(target)
    return found - {name}


def test_every_module_has_a_place_in_the_reading_order():
    assert sorted(modules()) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_imports_point_down_the_reading_order(name):
    here = ORDER.index(name)
    up = {m for m in imports_of(name, modules()[name]) if ORDER.index(m) > here and (name, m) not in LATER_ALLOWED}
    assert not up, f"{name} imports {sorted(up)}, which come later in the reading order"


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_imports_no_command_and_no_teaching_helper(name):
    assert not {m for m in imports_of(name, modules()[name]) if m.startswith(("commands", "teaching"))}


def test_the_longest_import_chain_passes_through_the_chapters():
    graph = {m: imports_of(m, p) for m, p in modules().items()}
    depth: dict[str, int] = {}

    def floor(m: str) -> int:
        if m not in depth:
            depth[m] = 1 + max((floor(d) for d in graph[m]), default=0)
        return depth[m]

    # every lesson (10 floors, 6 and 6b on one) and the support under them (3 below the chapters, 2 above chapter 4),
    # then the commands (flags, a command, main)
    assert max(floor(m) for m in graph) <= len(LESSONS) - 1 + 3 + 2 + 3


@pytest.mark.parametrize("name", sorted(set(ORDER)))
def test_no_module_reexports_another_modules_names(name):
    tree = ast.parse(modules()[name].read_text())
    defined, exported = set(), []
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in n.targets if isinstance(n, ast.Assign) else [n.target]:
                if isinstance(t, ast.Name):
                    defined.add(t.id)
                    if t.id == "__all__":
                        exported = [ast.literal_eval(e) for e in n.value.elts]  # type: ignore[union-attr]
    assert set(exported) <= defined, f"{name} re-exports {sorted(set(exported) - defined)}"


def loaded_after(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", f"import json, sys; {code}; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("module", ["config", "model", "commands.main"])  # commands.main imports every command
def test_the_command_line_loads_no_teaching_library(module):
    loaded = loaded_after(f"import llm_from_scratch.{module}")
    assert not [m for m in loaded if m.split(".")[0] in TEACHING_LIBS]
    assert not [m for m in loaded if m.startswith("llm_from_scratch.teaching.")]
    if module == "commands.main":
        assert {"llm_from_scratch.trainer", "llm_from_scratch.generation", "llm_from_scratch.checkpoints"} <= set(loaded)


def test_the_configuration_floor_needs_no_torch():
    """A default config, quick mode and the errors need no torch: config imports it where it is used."""
    loaded = loaded_after("import llm_from_scratch.config as c; c.GPTConfig(), c.TrainConfig(), c.GenerationConfig()")
    assert "torch" not in loaded


def test_the_package_docstring_lists_every_module():
    import llm_from_scratch

    doc = llm_from_scratch.__doc__ or ""
    assert not [m for m in ORDER if f"`llm_from_scratch.{m}`" not in doc]


@pytest.mark.parametrize("module", ["drawing", "diagrams", "explorers", "quiz"])
def test_a_teaching_helper_without_the_course_extra_names_it(module):
    """A light install (`pip install llm-from-scratch`, no notebook libraries): the teaching helpers say what to add."""
    block = "; ".join(f"sys.modules[{m!r}] = None" for m in ("matplotlib", "anywidget", "traitlets"))
    code = f"import sys; {block}; import llm_from_scratch.teaching.{module}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].endswith("pip install 'llm-from-scratch-course[course]'")


def test_the_base_install_leaves_the_notebook_libraries_to_the_course_extra():
    import tomllib

    project = tomllib.loads((PKG.parent / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    assert not [lib for lib in ("matplotlib", "ipywidgets", "anywidget") if lib in base]
    assert {"matplotlib", "ipywidgets>=8", "anywidget>=0.9"} <= set(project["optional-dependencies"]["course"])
