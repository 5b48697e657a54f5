"""Run a stage's `python -m stages.X ...` command and record which repository modules it loaded.

    python tests/helpers/trace_modules.py OUT_FILE stages.train --fold 0 --task all

runs the module as `python -m` would (in the current folder, the stage's workspace) and, if it
exits 0, writes the loaded files under src/ and stages/ to OUT_FILE (one relative path a line)."""
import os
import runpy
import sys
from pathlib import Path


def repo_modules(root):
    files = {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    return sorted(str(f.relative_to(root)) for f in files
                  if any(f.is_relative_to(root / folder) for folder in ("src", "stages")))


def main():
    out, module, *args = sys.argv[1:]
    root = Path.cwd().resolve()
    sys.path[0] = os.getcwd()  # as `python -m`: the workspace, not tests/, is first on the path
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
    Path(out).write_text("".join(f"{path}\n" for path in repo_modules(root)))


if __name__ == "__main__":
    main()
