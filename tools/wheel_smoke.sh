#!/usr/bin/env bash
# Build the sdist and the wheel, check them, install the wheel into a fresh virtual environment OUTSIDE the
# checkout and use it as a pip user would: the light install (no extras) imports, runs --version, a 20-step `train`
# on a pre-seeded corpus cache and `generate` from its checkpoint, and a teaching helper names the extra it needs;
# then, with the `course` extra, the quiz texts load. Called by .ci/run; run it from any
# environment that has `build` and `twine` (the project's dev extra):
#
#     bash tools/wheel_smoke.sh            # dist/ holds the sdist and the wheel afterwards
#
# The corpus is copied from $LLM_FROM_SCRATCH_CACHE or ../shared/data (nothing is downloaded);
# torch==2.13.0 comes from the same place pip finds it for the project (TORCH_SPEC to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/llm-wheel-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

echo "-- build: sdist, then the wheel from the sdist; a second wheel straight from the checkout"
t0=$(now)
rm -rf dist
{ $PY -m build --outdir dist . && $PY -m build --wheel --outdir "$tmp/direct" .; } >"$tmp/build.log" 2>&1 \
  || { cat "$tmp/build.log"; exit 1; }
rm -rf build  # setuptools' staging folder from the build in the checkout
echo "built in $(since "$t0") s"
$PY -m twine check --strict dist/*
$PY tools/check_dist.py dist "$(ls "$tmp"/direct/*.whl)"
whl=$(ls "$ROOT"/dist/*.whl)
version=$($PY tools/colab_cells.py --version)
dist_name=$($PY -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['name'].replace('-', '_'))")
[ -f "dist/$dist_name-$version.tar.gz" ] && [ "$(basename "$whl")" = "$dist_name-$version-py3-none-any.whl" ] \
  || { echo "expected dist/$dist_name-$version.tar.gz and its wheel, got: $(ls dist)"; exit 1; }
echo "distributions: $(ls dist | tr '\n' ' ')"

echo "-- install into a fresh venv outside the checkout (no extras)"
unset PYTHONPATH  # a checkout on it would look like an installed llm-from-scratch to pip
t0=$(now)
$PY -m venv "$tmp/venv"
# --no-compile: byte-compiling torch's thousands of modules would double the install time
"$tmp/venv/bin/python" -m pip install -qq --no-compile "$TORCH_SPEC" "$whl"
install_s=$(since "$t0")

echo "-- smoke test from $tmp (no PYTHONPATH, no checkout on sys.path)"
mkdir -p "$tmp/cache" "$tmp/run"
corpus=${LLM_FROM_SCRATCH_CACHE:-$HOME/.cache/llm_from_scratch}/tinyshakespeare.txt
[ -f "$corpus" ] || corpus=$ROOT/../shared/data/tinyshakespeare.txt
if [ -f "$corpus" ]; then cp "$corpus" "$tmp/cache/"; else echo "no local corpus: the package downloads it"; fi
n_quiz=0
[ -d llm_from_scratch/quizzes ] && n_quiz=$(find llm_from_scratch/quizzes -name '*.yaml' | wc -l)
t0=$(now)
(
  cd "$tmp/run"
  export LLM_FROM_SCRATCH_CACHE=$tmp/cache PATH=$tmp/venv/bin:$PATH
  python - "$tmp/venv" <<'EOF'
import importlib.util
import sys
from pathlib import Path

import llm_from_scratch

venv = Path(sys.argv[1]).resolve()
assert venv in Path(llm_from_scratch.__file__).resolve().parents, llm_from_scratch.__file__
extra = [m for m in ("matplotlib", "ipywidgets", "anywidget") if importlib.util.find_spec(m)]
assert not extra, f"the light install pulled in the course extra's {extra}"
try:
    import llm_from_scratch.teaching.quiz  # noqa: F401
except ModuleNotFoundError as e:
    assert "llm-from-scratch-course[course]" in str(e), e
    print("light install: a teaching helper names its extra:", e)
else:
    raise AssertionError("llm_from_scratch.teaching.quiz imported without the course extra")
EOF
  test "$(llm-from-scratch --version)" = "llm-from-scratch $version"
  llm-from-scratch --version
  llm-from-scratch train --max-iters 20 --n-layers 2 --n-heads 2 --d-model 64 --max-seq-len 64 \
    --batch-size 8 --warmup-iters 2 --eval-interval 20 --eval-iters 2 --log-interval 10 \
    --out-dir out --no-progress --sample-tokens 0
  llm-from-scratch generate --checkpoint out/checkpoint --prompt "ROMEO:" --max-new-tokens 40 --seed 0

  echo "-- the course extra: the teaching helpers and the quiz texts"
  python -m pip install -qq --no-compile "$whl[course]"
  python - "$n_quiz" <<'EOF'
import sys

import llm_from_scratch
from llm_from_scratch.teaching.quiz import load_quizzes, quiz, quiz_files

n_quiz = int(sys.argv[1])
files = quiz_files()  # read from the installed package data
assert len(files) == n_quiz, f"{len(files)} quiz files installed, {n_quiz} in the source"
bank = load_quizzes()  # every quiz checked: one correct option, its markup renders
if bank:
    quiz(next(iter(bank))).to_html()
print(f"import llm_from_scratch {llm_from_scratch.__version__}: ok; "
      f"{len(files)} quiz files, {len(bank)} quizzes load from the installed wheel")
EOF
)
smoke_s=$(since "$t0")
echo "wheel smoke test passed: wheel $(( $(stat -c %s "$whl") / 1024 )) KiB, install ${install_s} s" \
  "(fresh venv, $TORCH_SPEC + the wheel), smoke ${smoke_s} s (the course extra's install included)"
