"""`dvc plots show` on a real pipeline run, rendered offline in headless Chromium: every declared chart
is really drawn (a canvas with a size inside its vega container), and a screenshot is kept.

The page's vega / vega-lite / vega-embed come inlined from src.reports.offline_plots (npm pack, cached in
.dvc/tmp/vega of the repo), so nothing is loaded from a CDN. The screenshot is written to pytest's
tmp dir (the path is printed) and copied to test-artifacts/plots.png."""
import re
import shutil
import subprocess
import tempfile

import pytest

from src.reports.offline_plots import build_template, fetch_scripts
from tests.helpers.plot_workspace import REPO, committed_workspace, run

pytestmark = pytest.mark.system

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=10000", "--window-size=1300,2600", "--hide-scrollbars"]
# Charts by the div id dvc-render derives from each title or file: fold 0's curves (the train stage's
# plots, one chart per file) and top-level plots of dvc.yaml.
DRAWN = ("dvclive_all_fold_0_plots_metrics_train_loss_tsv", "dvclive_all_fold_0_plots_metrics_val_f1_tsv",
         "Confusion_matrix", "Per-class_F1")


@pytest.fixture(scope="module")
def template():
    try:
        return build_template(fetch_scripts(REPO / ".dvc/tmp/vega"), REPO / ".dvc/tmp/plots_offline.html")
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"vega scripts unavailable (npm pack vega vega-lite vega-embed failed): {error}")


@pytest.fixture(scope="module")
def page(tmp_path_factory, template):
    ws = committed_workspace(tmp_path_factory)
    out = tmp_path_factory.mktemp("dvc_plots")
    log = run(["dvc", "plots", "show", "-o", out, "--html-template", template], ws)
    return out / "index.html", log


def chromium(*args):
    if not CHROMIUM:
        pytest.skip("chromium not installed (tests/helpers/system_deps.sh installs it when run as root)")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_page_is_offline_and_declares_every_plot(page):
    index, log = page
    html = index.read_text()
    assert "cdn.jsdelivr" not in html and "<script src=" not in html
    for name in DRAWN + ("Tune_trials",):  # tune/trials.csv is absent before `dvc repro tune`: no error
        assert f"vegaEmbed('#{name}" in html, name
    assert "tune/trials.csv" not in log or "ERROR" not in log


def test_charts_are_drawn_in_chromium(page, tmp_path):
    index, _ = page
    dom = chromium("--dump-dom", index.as_uri())
    for name in DRAWN:
        # The plot's container, up to the next plot's: vega-embed draws its canvas in there.
        container = re.search(f'<div id="{name}[^"]*"(.*?)(?=<div id="|</body>)', dom, re.S)
        assert container, f"{name}: no container in the rendered page"
        width = re.search(r'<canvas[^>]*width="(\d+)"', container.group(1))
        assert width and int(width.group(1)) > 100, f"{name}: vega drew nothing"
    shot = tmp_path / "plots.png"
    chromium(f"--screenshot={shot}", index.as_uri())
    assert shot.stat().st_size > 10_000
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(shot, artifacts / "plots.png")
    print(f"screenshot: {shot} (copied to {artifacts / 'plots.png'})")
