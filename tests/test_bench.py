"""The benchmark suite's smoke run: `python -m bench.run --quick` on its cheapest items writes the
JSON the README describes. Figures are printed, never asserted (they depend on the machine's load)."""
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.system


def test_quick_bench_writes_every_key(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--only", "train_throughput,predict_tta,batchnorm_folding",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["quick"] is True and {"cpus", "torch_threads", "load_average_1_5_15"} <= set(report["machine"])
    train, predict = report["results"]["train_throughput"], report["results"]["predict_tta"]
    assert {"real_images_per_s", "ceiling_images_per_s", "ratio", "targets", "seconds"} <= set(train)
    assert {"no_tta_images_per_s", "tta_hflip_images_per_s", "tta_cost_ratio"} <= set(predict)
    folding = report["results"]["batchnorm_folding"]
    assert folding["batchnorms_folded"] > 0 and folding["max_probability_difference"] < 1e-3  # same outputs
    assert train["targets"][0]["name"] == "train real/ceiling" and isinstance(train["targets"][0]["met"], bool)
    assert "train real / ceiling" in done.stdout  # the printed table


def test_gpu_smoke_dry_runs_anywhere_and_refuses_only_without_cuda():
    import torch

    # The CPU check of the script (the whole pipeline, the train loop and its ceiling) runs on every
    # machine, a CUDA one included.
    done = subprocess.run(["bash", "bench/gpu_smoke.sh", "--dry-run"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    pipeline, loop = figures["pipeline"], figures["train_loop"]
    assert pipeline["config"]["train.heads"] == "multi" and 0 <= pipeline["eval_f1"] <= 1 and 0 <= pipeline["cv_f1"] <= 1
    assert pipeline["config"]["device"] == "cpu"
    # face_crop (MTCNN), train@0, ensemble and predict each say where they ran
    assert len(pipeline["device_lines"]) == 4, pipeline["device_lines"]
    assert all(line.startswith("device: cpu (torch ") for line in pipeline["device_lines"])
    assert loop["real_images_per_s"] > 0 and loop["ratio"] > 0 and loop["peak_gpu_memory_gib"] is None
    assert "images/s" in done.stdout and "model-only ceiling" in done.stdout
    if not torch.cuda.is_available():
        done = subprocess.run(["bash", "bench/gpu_smoke.sh"], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 2 and "no CUDA device" in done.stderr


def test_readme_gives_the_gpu_configuration_gpu_smoke_runs():
    from bench.gpu_smoke import GPU_CONFIG, dvc_line
    assert dvc_line(GPU_CONFIG) in (REPO / "README.md").read_text()
