"""`run_loso(..., fold_batched=True)`: the same run directory as the sequential path, resumable fold by fold."""
import json, shutil

import numpy as np
import pandas as pd
import pytest

import mcwes.loso as loso
from mcwes.config import preset
from mcwes.loso import load_fold_outputs, run_loso
from mcwes.train import load_checkpoint

# A tiny model and dropout off in fp32: then the fold-batched path computes what the sequential one computes up to
# float summation order (tests/test_fast.py), so the two runs can be compared number by number.
CFG = preset("sample").override(
    "data.sampled_length=16", "train.iterations=6", "train.batch_size=4", "train.n_pairs=1", "train.log_every=2",
    "model.attn_hidden=8", "model.dropout_cscm=0", "model.dropout_attn=0", "model.dropout_fusion=0",
    "model.dropout_cls=0", "train.precision=fp32",
    "spot.truncation=-1000")  # keep every scored proposal: an untrained tiny model scores none above 0.1


def _files(run):
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file() and p.name != ".lock")


def _numeric(m):
    return {k: v for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    "A 4-subject synthetic dataset (8 videos, D=128) and one sequential and one fold-batched run of it."
    from mcwes.twins import make_sample_dataset
    root = tmp_path_factory.mktemp("loso_batched")
    data = make_sample_dataset(root / "data", n_subjects=4, videos_per_subject=2, frames=(300, 500), dim=128)
    feats, ann = data / "features", data / "annotations.csv"
    out = {}
    for b in (False, True):
        out[b] = (root / f"run_{b}", run_loso(feats, ann, root / f"run_{b}", CFG, device="cpu", progress=False, fold_batched=b))
    return feats, ann, out


def test_same_files_and_formats(runs):
    _, _, r = runs
    (seq, _), (bat, _) = r[False], r[True]
    assert _files(bat) == _files(seq)
    assert len(list(bat.glob("seed_0/folds/*/done.json"))) == 4 and (bat / "seed_0" / "metrics.json").exists()
    assert not [p for p in bat.rglob(".*") if p.name != ".lock"], "temporary files left behind"
    for d in sorted((seq / "seed_0" / "folds").iterdir()):
        e = bat / "seed_0" / "folds" / d.name
        a, b = json.loads((d / "done.json").read_text()), json.loads((e / "done.json").read_text())
        assert set(a) == set(b) and a["subject"] == b["subject"] == d.name and a["test_videos"] == b["test_videos"]
        assert list(pd.read_csv(d / "history.csv").columns) == list(pd.read_csv(e / "history.csv").columns)
        assert list(pd.read_csv(d / "proposals.csv").columns) == list(pd.read_csv(e / "proposals.csv").columns)
        with np.load(d / "outputs.npz") as x, np.load(e / "outputs.npz") as y: assert sorted(x.files) == sorted(y.files)
        (_, ca, ia), (_, cb, ib) = load_checkpoint(d / "checkpoint.pt"), load_checkpoint(e / "checkpoint.pt")
        assert ca == cb and ia == ib        # subject, seed, train_videos, dim
    assert json.loads((bat / "provenance.json").read_text())["fold_batched"] is True
    assert json.loads((seq / "provenance.json").read_text())["fold_batched"] is False
    assert set(load_fold_outputs(bat)) == set(load_fold_outputs(seq)) and len(load_fold_outputs(bat)) == 8


def test_batched_agrees_with_sequential(runs):
    """Same initial weights and first batch (fold_streams(seed, i)): the first logged losses agree to 1e-4; after six Adam
    steps the outputs and proposals agree to 1e-4 (float rounding only), so the pooled metrics do too."""
    _, _, r = runs
    (seq, ms), (bat, mb) = r[False], r[True]
    for d in sorted((seq / "seed_0" / "folds").iterdir()):
        a, b = pd.read_csv(d / "history.csv"), pd.read_csv(bat / "seed_0" / "folds" / d.name / "history.csv")
        np.testing.assert_allclose(b.iloc[0].to_numpy(), a.iloc[0].to_numpy(), atol=1e-4, rtol=0)
        np.testing.assert_allclose(b["total"].to_numpy(), a["total"].to_numpy(), rtol=1e-3)
    oa, ob = load_fold_outputs(seq), load_fold_outputs(bat)
    for v in oa:
        for k in oa[v]: np.testing.assert_allclose(ob[v][k], oa[v][k], atol=1e-4, err_msg=f"{v}/{k}")
    pa, pb = pd.read_csv(seq / "proposals.csv"), pd.read_csv(bat / "proposals.csv")
    assert len(pa) > 0
    pd.testing.assert_frame_equal(pb.drop(columns="score"), pa.drop(columns="score"))
    np.testing.assert_allclose(pb["score"], pa["score"], atol=1e-4)
    na, nb = _numeric(ms["per_seed"]["0"]), _numeric(mb["per_seed"]["0"])
    assert na.keys() == nb.keys() and na["m"] > 0
    for k in na: assert nb[k] == pytest.approx(na[k], abs=1e-4), k


def test_resume_trains_only_missing_folds(runs, tmp_path, monkeypatch):
    "A partial fold-batched run (two folds lost their done.json) retrains exactly those two, on their own streams."
    feats, ann, r = runs
    run = tmp_path / "run"; shutil.copytree(r[True][0], run)
    folds = sorted(p.name for p in (run / "seed_0" / "folds").iterdir())        # s01 .. s04, fold indices 0 .. 3
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.glob("seed_0/folds/*/*")}
    for f in (folds[0], folds[2]): (run / "seed_0" / "folds" / f / "done.json").unlink()
    calls, real = [], loso.train_folds
    monkeypatch.setattr(loso, "train_folds", lambda *a, **k: calls.append((len(a[2]), list(k["fold_ids"]))) or real(*a, **k))
    monkeypatch.setattr(loso, "train_model", lambda *a, **k: pytest.fail("the sequential trainer was called"))
    m = run_loso(feats, ann, run, CFG, device="cpu", progress=False, fold_batched=True)
    assert calls == [(2, [0, 2])]
    for p, (stamp, data) in before.items():
        if p.parent.name in (folds[1], folds[3]):
            assert p.stat().st_mtime_ns == stamp and p.read_bytes() == data, p
    assert len(list(run.glob("seed_0/folds/*/done.json"))) == 4
    for f in (folds[0], folds[2]):     # same streams as in the full sequential run: fold index, not position in the batch
        a = pd.read_csv(r[False][0] / "seed_0" / "folds" / f / "history.csv")
        b = pd.read_csv(run / "seed_0" / "folds" / f / "history.csv")
        np.testing.assert_allclose(b.iloc[0].to_numpy(), a.iloc[0].to_numpy(), atol=1e-4, rtol=0)
    na, nb = _numeric(r[True][1]["per_seed"]["0"]), _numeric(m["per_seed"]["0"])
    for k in na: assert nb[k] == pytest.approx(na[k], abs=1e-4), k
    calls.clear()
    run_loso(feats, ann, run, CFG, device="cpu", progress=False, fold_batched=True)
    assert calls == []                 # everything done: nothing trained
