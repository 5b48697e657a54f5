#!/usr/bin/env bash
# GPU smoke benchmark (< 5 minutes on one GPU): one epoch of efficientnet_b4 at 380x380 on a real-size
# synthetic crop array (18,900 random uint8 crops, about 8 GB in RAM) through the real train path with
# CUDA + AMP + 8 loader workers; prints images/s and the real / model-only ceiling ratio (item 1).
#   bash bench/gpu_smoke.sh [--out bench/results_gpu.json] [other bench.gpu_train options]
#   bash bench/gpu_smoke.sh --dry-run      # CPU check of the script with a tiny model (no GPU needed)
#   bash bench/gpu_smoke.sh --pipeline [--pretrained packaged]   # README's one-GPU configuration through
#       the real pipeline on a 60-person sample, fold 0, 2 epochs (bench/gpu_pipeline.py); packaged: no network
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
test -x "$PY" || PY=python
if [[ " $* " != *" --dry-run "* ]]; then
  if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_smoke: no CUDA device visible to torch (torch.cuda.is_available() is False); nothing run." >&2
    echo "gpu_smoke: run it on a GPU machine, or 'bash bench/gpu_smoke.sh --dry-run' for a CPU check." >&2
    exit 2
  fi
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
fi
if [[ "${1:-}" == "--pipeline" ]]; then
  shift
  exec timeout 540 "$PY" -m bench.gpu_pipeline "$@"
fi
exec timeout 300 "$PY" -m bench.gpu_train "$@"
