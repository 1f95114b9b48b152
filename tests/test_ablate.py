"""mcwes ablate: rows that differ only in spotting are respotted from the trained row's saved outputs."""
import json

import pytest

from mcwes.ablate import _slug, respot_run, run_ablation
from mcwes.config import preset
from mcwes.twins import make_sample_dataset

CFG = preset("sample").override("train.iterations=4", "data.sampled_length=32", "model.attn_hidden=32")


@pytest.fixture(scope="module")
def table6(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablate")
    data = make_sample_dataset(root / "data", n_subjects=3, videos_per_subject=2, frames=(300, 500), dim=128)
    feats, ann = data / "features", data / "annotations.csv"
    res = run_ablation(6, feats, ann, root / "t6", CFG, seeds=(0,), subjects=["s01", "s02"], progress=False)
    return root, feats, ann, res


def test_table6_trains_once_and_respots(table6):
    root, _, _, res = table6
    runs = sorted(p.name for p in (root / "t6").iterdir() if p.is_dir())
    assert runs == [_slug("multi-top")], runs                      # one trained row; the others were respotted
    assert {"multi-top", "multi-threshold", "energy baseline (non-learned)"} <= set(res)
    assert (root / "t6" / "table6.md").read_text().count("| multi-") >= 2
    assert json.loads((root / "t6" / "table6.json").read_text())["multi-threshold"]["f1"][0] is not None


def test_respot_with_the_same_config_reproduces_the_run(table6):
    "Respotting a run's saved outputs with its own configuration gives its metrics back exactly."
    root, feats, ann, _ = table6
    run = root / "t6" / _slug("multi-top")
    again = respot_run(run, feats, ann, CFG.override("spot.proposal=multitop"), seeds=(0,))["per_seed"]["0"]
    saved = json.loads((run / "seed_0" / "metrics.json").read_text())
    for k in ("f1", "precision", "recall", "f1_me", "attn_auc", "attn_range"):
        assert again[k] == pytest.approx(saved[k], nan_ok=True), k


def test_baseline_row_is_the_runs_baseline(table6):
    "The table's energy-baseline row is the baseline `mcwes loso` reports on the same folds (raw stored streams, not the normalised input)."
    root, _, _, res = table6
    assert CFG.data.normalize != "none"                           # otherwise the check could not tell the two inputs apart
    run_base = json.loads((root / "t6" / _slug("multi-top") / "baseline.json").read_text())
    for k in ("f1", "f1_me", "recall", "precision"):
        assert res["energy baseline (non-learned)"][k][0] == pytest.approx(run_base[k]), k


def test_rows_subset(table6, tmp_path):
    root, feats, ann, _ = table6
    with pytest.raises(Exception, match=r"table 6 has no row\(s\) \['nope'\]"):
        run_ablation(6, feats, ann, tmp_path / "t", CFG, rows=["multi-top", "nope"], progress=False)
