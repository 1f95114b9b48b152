"""End-to-end: JupyterLab + headless Chromium (Playwright) run a small explorer notebook, move a slider,
and check that the plotly figure in the page changes; at 1280 px every slider is on screen and wide enough to set. Needs root (to apt-get Chromium) or /usr/bin/chromium."""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
VIEWPORT_WIDTH = 1280                  # the explorers must be readable in a 1280 px window
MIN_SLIDER_WIDTH = 250                 # px: a slider track narrower than this is hard to set
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
NOTEBOOK_CODE = """import numpy as np
from mcwes.config import preset
from mcwes.explore import TopKExplorer, demo_outputs
outputs, gt = demo_outputs(np.random.default_rng(0))
ex = TopKExplorer(outputs, gt, preset("sample"), video="demo_00")
ex"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path) -> None:
    cell = {"cell_type": "code", "execution_count": None, "id": "explore-demo", "metadata": {}, "outputs": [],
            "source": NOTEBOOK_CODE}
    nb = {"cells": [cell], "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    path.write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def browser_ready():
    "Install Chromium and Playwright if needed (tests/browser_setup.sh); skip with the reason when impossible."
    try:
        r = subprocess.run(["bash", str(HERE / "browser_setup.sh")], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.skip("installing Chromium/Playwright took over 10 minutes")
    if r.returncode == 3:
        pytest.skip(r.stdout.strip() or "Chromium cannot be installed on this machine")
    assert r.returncode == 0, f"browser_setup.sh failed: {r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module")
def lab(browser_ready, tmp_path_factory):
    "A JupyterLab server on a free localhost port with a known token, serving a temp dir; killed at teardown."
    root = tmp_path_factory.mktemp("lab")
    _notebook(root / "explore_demo.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(root / ".runtime"), JUPYTERLAB_WORKSPACES_DIR=str(root / ".ws"),
               OMP_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(HERE.parent)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))  # this checkout's mcwes
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2); break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited: {(root / 'lab.log').read_text()[-2000:]}")
        yield dict(url=url, token=token, root=root)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)                  # the server and its kernels (our own session)
            try: proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL); proc.wait(timeout=10)
        log.close()


def _title(page) -> str:
    return page.locator(".js-plotly-plot .gtitle").first.text_content(timeout=5_000) or ""


def test_slider_moves_the_figure_in_a_real_browser(lab, tmp_path):
    from playwright.sync_api import sync_playwright
    t0 = time.time()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": VIEWPORT_WIDTH, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{lab['url']}/lab/tree/explore_demo.ipynb?token={lab['token']}")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            page.get_by_text("| Idle").wait_for(timeout=90_000)                    # the kernel is up
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()          # Run > Run All Cells
            page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()
            page.wait_for_selector(".js-plotly-plot .gtitle", timeout=90_000)
            page.wait_for_function("document.querySelector('.js-plotly-plot .gtitle').textContent.includes('k=(')")
            before = _title(page)
            boxes = [page.locator(".widget-slider").nth(i).bounding_box() for i in range(page.locator(".widget-slider").count())]
            assert "h=(7, 9, 5) -> k=(17, 13, 24)" in before, before
            shot_before = page.screenshot()
            handle = page.locator(".widget-slider", has_text="h_ME").locator(".noUi-handle").first
            handle.focus()
            for _ in range(6): page.keyboard.press("ArrowRight")                  # h_ME 9 -> 12 in steps of 0.5
            page.wait_for_function("!document.querySelector('.js-plotly-plot .gtitle').textContent.includes('k=(17, 13, 24)')",
                                   timeout=30_000)
            after = _title(page)
            names = page.evaluate("Array.from(document.querySelector('.js-plotly-plot').data[9].x || [])")
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()
    assert len(boxes) == 3 and all(b is not None for b in boxes), boxes                 # h_MaE, h_ME, h_BG
    assert all(b["width"] >= MIN_SLIDER_WIDTH for b in boxes), [b["width"] for b in boxes]
    assert all(b["x"] + b["width"] <= VIEWPORT_WIDTH for b in boxes), [b["x"] + b["width"] for b in boxes]   # no slider off screen
    assert after != before and "k=(17, " in after and ", 24)" in after, after
    assert names == ["MaE", "ME", "BG"], names                                 # the p panel got its class names
    k_me = int(after.split("k=(")[1].split(",")[1])
    assert k_me < 13, after                                                    # a larger h_ME pools fewer snippets
    (tmp_path / "explore_before.png").write_bytes(shot_before)
    (tmp_path / "explore_after.png").write_bytes(shot)
    if os.environ.get("MCWES_SCREENSHOT_DIR"):
        out = Path(os.environ["MCWES_SCREENSHOT_DIR"]); out.mkdir(parents=True, exist_ok=True)
        for name in ("explore_before.png", "explore_after.png"): shutil.copy(tmp_path / name, out / name)
    assert time.time() - t0 < 170, "the browser test should take under ~3 minutes"
