#!/usr/bin/env bash
# GPU smoke check (< 5 minutes on one GPU) with the README's one-GPU configuration on device cuda:
# the whole pipeline (dvc repro evaluate on a small synthetic sample, fold 0, 2 epochs), the train loop's
# images/s and its ratio to the model-only ceiling, and its peak GPU memory (bench/gpu_smoke.py).
#   bash bench/gpu_smoke.sh             # on a GPU machine
#   bash bench/gpu_smoke.sh --dry-run   # CPU check of the same code with a tiny model and sample (no GPU needed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
test -x "$PY" || PY=python
if [[ "${1:-}" != "--dry-run" ]]; then
  if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_smoke: no CUDA device visible to torch (torch.cuda.is_available() is False); nothing run." >&2
    echo "gpu_smoke: run it on a GPU machine, or 'bash bench/gpu_smoke.sh --dry-run' for a CPU check." >&2
    exit 2
  fi
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
fi
exec timeout 300 "$PY" -m bench.gpu_smoke "$@"
