"""The release helpers in tools/: the Colab install cell and the version they read."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cells  # noqa: E402

import llm_from_scratch  # noqa: E402


def test_version_is_read_from_the_one_place():
    assert colab_cells.version() == llm_from_scratch.__version__


def test_colab_cell_pins_the_release_then_the_tag():
    src, v = colab_cells.install_source(), llm_from_scratch.__version__
    assert f'"llm-from-scratch-course[course]=={v}"' in src  # the notebooks need the course extra (figures, quizzes)
    assert src.index(f"=={v}") < src.index(f"@v{v}") < src.index("@main")
    ast.parse(src)  # plain Python: no IPython magics


@pytest.mark.parametrize("cmd", [["format", "-"], ["check", "--select", "E,F,W,B,UP", "-"]])
def test_colab_cell_is_stable_under_ruff(cmd):
    src = colab_cells.install_source() + "\n"
    out = subprocess.run([sys.executable, "-m", "ruff", *cmd, "--stdin-filename", "cell.py"],
                         input=src, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    if cmd[0] == "format": assert out.stdout == src


def test_a_chapter_cannot_pin_a_release_that_lacks_its_modules():
    """The check `.ci/run` runs (`colab_cells.py --check`): each chapter imports only modules of the release its Colab
    cell installs; a release without chapter 7b's module (0.1.0 had chapters 1-6) cannot serve chapter 7b, which imports chapter 7's."""
    import nbformat

    nb = nbformat.read(ROOT / "nbs" / "07b_lora.ipynb", as_version=4)
    assert colab_cells.missing_modules(nb, colab_cells.release_modules(llm_from_scratch.__version__)) == []
    old = {"tokenizer", "attention", "transformer", "model", "trainer", "generation", "config", "data", "quiz"}
    assert {"finetune", "checkpoints"} <= set(colab_cells.missing_modules(nb, old))


def test_every_notebook_import_is_met_on_binder_and_in_colab(monkeypatch, capsys):
    """What `.ci/run` checks with tools/notebook_imports.py; and it notices a missing library (pytest on Binder)."""
    import notebook_imports

    assert notebook_imports.main() == 0
    envs = notebook_imports.environments()
    monkeypatch.setattr(notebook_imports, "environments", lambda: {**envs, "Binder": envs["Binder"] - {"pytest"}})
    assert notebook_imports.main() == 1
    assert "imports pytest (pytest), which Binder does not install" in capsys.readouterr().out
