"""Check the outputs committed in the notebooks: they must not leak the machine that ran them or show frozen progress.

    python tools/check_outputs.py              # every notebook in nbs/; exit status 1 and one line per problem
    python tools/check_outputs.py nbs/X.ipynb  # some notebooks

Fails on
- an absolute local path (`/root/...`, `/work/...`, `/tmp/...`, `/home/<user>/...`, `/Users/...`, `C:\\Users\\...`,
  anything under `site-packages`) in any output: stream text, text/plain, HTML, Markdown, error tracebacks, and the
  saved widget state;
- a progress bar that is not finished: tqdm text such as ` 0%|` or `45%|` (the text a progress widget leaves behind as
  its plain-text fallback, shown by GitHub and nbconvert), or a saved progress widget whose value is short of its max.

Run by `.ci/run`. Fix a path by printing something relative (a file name, `~`-relative, or a placeholder) and a
progress bar by turning it off in that cell (e.g. `disable=True`, `transformers.utils.logging.disable_progress_bar()`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL_PATH = re.compile(
    r"(?<![\w.])(/root/|/work/|/tmp/|/home/[^/\s]+/|/Users/[^/\s]+/|[A-Za-z]:\\\\?Users\\\\?)\S*"
    r"|\S*site-packages\S*"
)
UNFINISHED_BAR = re.compile(r"(?<!\d)(\d{1,2}|0)%\|")  # tqdm: "  0%|", " 45%|" (100% is finished)


def _text(x) -> str:
    return "".join(x) if isinstance(x, list) else str(x)


def output_texts(nb: dict):
    """(cell index, text) for every text an output shows, in any format."""
    for i, cell in enumerate(nb.get("cells", [])):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                yield i, _text(out.get("text", ""))
            elif out.get("output_type") == "error":
                yield i, "\n".join(out.get("traceback", []))
            for mime, data in (out.get("data") or {}).items():
                if mime.startswith("text/") or mime.endswith("+json") and not isinstance(data, dict):
                    yield i, _text(data)


def problems(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for i, text in output_texts(nb):
        for m in LOCAL_PATH.finditer(text):
            found.append(f"{path.name}: cell {i}: absolute local path in an output: {m[0][:100]}")
        for m in UNFINISHED_BAR.finditer(text):
            line = next(ln for ln in text.splitlines() if m[0] in ln)
            found.append(f"{path.name}: cell {i}: unfinished progress bar: {line.strip()[:100]}")
    state = (nb.get("metadata", {}).get("widgets") or {}).get(
        "application/vnd.jupyter.widget-state+json", {}
    )
    for model_id, model in (state.get("state") or {}).items():
        st = model.get("state") or {}
        if model.get("model_name", "").endswith("ProgressModel"):
            if st.get("value") is not None and st.get("max") is not None and st["value"] < st["max"]:
                found.append(
                    f"{path.name}: widget {model_id[:8]}: progress bar at {st['value']}/{st['max']}"
                )
        for key, value in st.items():
            if isinstance(value, str) and LOCAL_PATH.search(value) and not key.startswith("_"):
                found.append(
                    f"{path.name}: widget {model_id[:8]}.{key}: absolute local path "
                    f"{LOCAL_PATH.search(value)[0][:100]}"
                )
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "nbs").glob("*.ipynb"))
    found = [p for path in paths for p in problems(path)]
    for line in found:
        print(line)
    print(f"{len(paths)} notebooks, {len(found)} problem(s) in committed outputs")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
