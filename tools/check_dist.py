"""Check what `python -m build` made: the wheel holds exactly the package, the sdist builds the same wheel.

    python tools/check_dist.py DIST_DIR DIRECT_WHEEL

DIST_DIR holds the sdist and the wheel `python -m build` built from it; DIRECT_WHEEL is a wheel built straight
from the checkout (`python -m build --wheel`). Checks, each failing with exit status 1:
- the wheel holds exactly the package's files under git (`llm_from_scratch/**/*.py`: the modules and those of the
  subpackages `commands` and `teaching`, with their `__init__.py`; the quiz YAML files, `py.typed`) and its
  `.dist-info`, with the licence; no notebooks, tests or site files;
- the sdist holds the same package files plus pyproject.toml, README.md, LICENSE and build metadata only;
- the wheel built from the sdist and the one built from the checkout have the same files with the same bytes.
Prints the wheel's file list and size.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "llm_from_scratch"
RUNTIME = (".py", ".yaml", "py.typed")  # what the package reads at run time
SDIST_EXTRA = {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "setup.cfg", "MANIFEST.in"}


def package_files() -> set[str]:
    """The package's files under git, subpackages included (`git ls-files` recurses): code and run-time data."""
    out = subprocess.run(["git", "ls-files", PKG], cwd=ROOT,  # noqa: S603, S607 (fixed git command from PATH)
                         capture_output=True, text=True, check=True)
    return {f for f in out.stdout.split() if f.endswith(RUNTIME)}


def wheel_contents(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith("/")}


def check(dist: Path, direct: Path) -> list[str]:
    errors = []
    (whl,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    want = package_files()
    files = wheel_contents(whl)
    pkg = {n for n in files if ".dist-info/" not in n}
    if pkg != want:
        errors.append(f"wheel package files differ from git: extra {sorted(pkg - want)}, "
                      f"missing {sorted(want - pkg)}")
    no_init = sorted({str(Path(n).parent) for n in pkg if n.endswith(".py")}
                     - {str(Path(n).parent) for n in pkg if n.endswith("/__init__.py")})
    if no_init:
        errors.append(f"wheel folders with modules but no __init__.py (not importable as subpackages): {no_init}")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in files):
        errors.append("wheel lacks .dist-info/licenses/LICENSE")
    with tarfile.open(sdist) as t:
        names = {m.name.split("/", 1)[1] for m in t.getmembers() if m.isfile() and "/" in m.name}
    # the build metadata folder is named after the distribution (llm_from_scratch_course.egg-info), not the package
    top = {n for n in names if not n.startswith(PKG + "/") and not n.split("/", 1)[0].endswith(".egg-info")}
    if top - SDIST_EXTRA:
        errors.append(f"sdist holds unexpected files: {sorted(top - SDIST_EXTRA)}")
    if "LICENSE" not in top:
        errors.append("sdist lacks LICENSE")
    in_pkg = {n for n in names if n.startswith(PKG + "/")}
    if in_pkg != want:
        errors.append(f"sdist package files differ from git: extra {sorted(in_pkg - want)}, "
                      f"missing {sorted(want - in_pkg)}")
    other = wheel_contents(direct)
    if files.keys() != other.keys():
        errors.append(f"the sdist's wheel and the checkout's wheel list different files: "
                      f"{sorted(files.keys() ^ other.keys())}")
    else:
        diff = sorted(n for n in files if files[n] != other[n])
        if diff: errors.append(f"the sdist's wheel and the checkout's wheel differ in {diff}")
    print(f"wheel {whl.name}: {whl.stat().st_size / 1024:.0f} KiB, {len(files)} files; "
          f"sdist {sdist.name}: {sdist.stat().st_size / 1024:.0f} KiB, {len(names)} files")
    with zipfile.ZipFile(whl) as z:
        for i in z.infolist(): print(f"  {i.file_size:>8}  {i.filename}")
    return errors


def main(argv: list[str]) -> int:
    if len(argv) != 2: print(__doc__); return 2
    errors = check(Path(argv[0]), Path(argv[1]))
    for e in errors: print("ERROR:", e)
    if not errors: print("wheel = package + run-time data + licence; sdist builds the same wheel")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
