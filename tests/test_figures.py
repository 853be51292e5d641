"""Every figure committed in a notebook's outputs passes the course's figure checks, read from the PNG itself.

The course's PNG formatter (`llm_from_scratch.teaching.drawing.use_course_style`) writes two text chunks into each
figure it saves: `LFS-min-text-px`, the smallest text's height in pixels, and `LFS-layout`, the JSON list of
`layout_problems` (overlapping texts, text cut or over another axes or a colourbar, repeated tick labels, legends over
data). These tests need no browser: they read the committed notebooks. (The site test checks the text size again, as
shown at 1280 px.)
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb"))
MIN_TEXT_PX = 12.0  # 9 pt at 100 dpi: the smallest text the course style allows


def figures(path: Path) -> list[tuple[str, dict[str, str]]]:
    """(cell id, PNG text chunks) for every PNG output of the notebook at `path`."""
    from PIL import Image

    out = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                img = Image.open(io.BytesIO(base64.b64decode(png)))
                out.append((cell.get("id", "?"), dict(getattr(img, "text", {}))))
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_figure_passes_the_course_checks(path: Path) -> None:
    bad = {}
    for cell, text in figures(path):
        if "LFS-layout" not in text:
            bad[cell] = "saved without the course style's checks (rerun the notebook after use_course_style())"
        elif json.loads(text["LFS-layout"]):
            bad[cell] = json.loads(text["LFS-layout"])
        elif float(text.get("LFS-min-text-px", 0)) < MIN_TEXT_PX - 0.05:
            bad[cell] = f"smallest text {text.get('LFS-min-text-px')} px"
    assert not bad, f"{path.name}: " + json.dumps(bad, indent=1, ensure_ascii=False)


def test_the_check_reads_what_the_formatter_writes() -> None:
    """A figure with a legend over its line, saved by the course's formatter, is caught by the test above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from llm_from_scratch.teaching.drawing import layout_problems, use_course_style

    use_course_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0.9, 0.9], label="flat")
    ax.plot([0, 1], [0.0, 0.5], label="rising")
    ax.legend(loc="upper left")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"LFS-layout": json.dumps(layout_problems(fig))})
    plt.close(fig)
    problems = json.loads(Image.open(io.BytesIO(buf.getvalue())).text["LFS-layout"])
    assert problems and problems[0].startswith("legend over data")
