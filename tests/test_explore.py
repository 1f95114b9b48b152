"""Headless tests of the explorers (mcwes.explore): set widget values, check the figure data follow."""
import numpy as np
import pandas as pd
import pytest

from mcwes.config import preset
from mcwes.explore import (DurationExplorer, ExploreError, SpotExplorer, TopKExplorer, demo_outputs, duration_view,
                           mask_counts, respot, sample_regions, spot_metrics, topk_view)


@pytest.fixture(scope="module")
def demo():
    outputs, gt = demo_outputs(np.random.default_rng(1), n_videos=6, T=150)
    return outputs, gt, preset("sample")


def test_raising_h_me_lowers_k_me_and_the_highlighted_snippets(demo):
    ex = TopKExplorer(*demo, video="demo_00")
    T = len(demo[0]["demo_00"]["attn"])
    seen = []
    for h_me in (3.0, 6.0, 9.0, 15.0):
        ex.h_sliders[1].value = h_me
        k_me = T // int(h_me)
        assert ex.view["k"][1] == k_me
        assert len(ex.fig.data[4].x) == k_me                       # highlighted ME snippets
        assert f"k={k_me}" in ex.fig.layout.yaxis3.title.text or f"k={k_me}" in ex.fig.layout.title.text
        seen.append(len(ex.fig.data[4].x))
    assert seen == sorted(seen, reverse=True) and seen[0] > seen[-1]
    # the other classes do not move, and the highlighted bars are the largest logits of their column
    assert len(ex.fig.data[1].x) == T // 7 and len(ex.fig.data[7].x) == T // 5
    col = np.asarray(ex.fig.data[3].y)
    assert np.min(np.asarray(ex.fig.data[4].y)) >= np.sort(col)[::-1][len(ex.fig.data[4].x) - 1] - 1e-12


def test_h_explorer_probabilities_follow_topk_view(demo):
    outputs, gt, cfg = demo
    ex = TopKExplorer(outputs, gt, cfg, video="demo_01")
    ex.tcam.value = "cas"
    ex.h_sliders[2].value = 2.0
    want = topk_view(outputs["demo_01"]["cas"], (7.0, 9.0, 2.0))
    np.testing.assert_allclose(ex.fig.data[9].y, want["p"], rtol=1e-9)
    assert abs(sum(ex.fig.data[9].y) - 1) < 1e-9


def test_widening_the_omega_band_masks_more(demo):
    ex = DurationExplorer(*demo, video="demo_02")
    masked, removed = [], []
    for band in [(1.2, 1.4), (1.1, 1.5), (0.8, 2.0), (0.3, 4.0)]:
        ex.omega.value = band
        masked.append(len(ex.fig.data[2].x))
        removed.append(ex.counts.removed.to_numpy().copy())
        assert len(ex.fig.data[2].x) == int(ex.view["masked"].sum())
        assert ex.fig.data[3].y[0] == pytest.approx(band[0] * ex.view["reference"])
        assert ex.fig.data[3].y[2] == pytest.approx(band[1] * ex.view["reference"])
    assert masked == sorted(masked) and masked[-1] > masked[0]
    assert all((b >= a).all() for a, b in zip(removed, removed[1:])) and removed[-1].sum() > removed[0].sum()
    fr = np.asarray(ex.fig.data[7].y)
    np.testing.assert_allclose(fr, ex.counts.removed_frac.to_numpy())


def test_omega_counts_match_a_direct_count(demo):
    outputs, gt, cfg = demo
    reg = sample_regions(outputs, gt, cfg.data)
    c = mask_counts(outputs, gt, cfg.data, 2, 1.2, 1.4)
    by_hand = np.zeros(3, int)
    for v, r in reg.items():
        by_hand += np.bincount(r[duration_view(outputs[v]["attn"], 2, 1.2, 1.4)["masked"]], minlength=3)
    assert c.removed.tolist() == by_hand.tolist()
    assert c.total.sum() == sum(len(o["attn"]) for o in outputs.values())


def test_raising_nms_threshold_to_one_keeps_every_truncated_proposal(demo):
    outputs, gt, cfg = demo
    ex = SpotExplorer(outputs, gt, cfg)
    counts = []
    for t in (0.01, 1.0):
        ex.knobs["nms_iou"].value = t
        counts.append(len(ex.spots))
    assert counts[1] >= counts[0]
    assert counts[1] == len(respot(outputs, cfg, nms_iou=1.0))
    assert ex.metrics["all"] == spot_metrics(ex.spots, gt, cfg, sorted(outputs))


def test_spot_knobs_change_the_metrics_and_the_drawing(demo):
    outputs, gt, cfg = demo
    ex = SpotExplorer(outputs, gt, cfg, video="demo_00")
    before, title = dict(ex.metrics["all"]), ex.fig.layout.title.text
    ex.knobs["m_start"].value = 2                                  # longer, many more proposals
    assert ex.metrics["all"]["n"] > before["n"] and ex.fig.layout.title.text != title
    n_many = ex.metrics["all"]["n"]
    ex.knobs["truncation"].value = ex.knobs["truncation"].max      # a high bar: fewer proposals, all above it
    assert ex.metrics["all"]["n"] < n_many and (ex.spots.score >= ex.knobs["truncation"].max).all()
    drawn = sum(np.isfinite(np.asarray(ex.fig.data[i].x, float)).sum() for i in (3, 4)) // 2
    assert drawn == ex.metrics["video"]["n"] == (ex.spots.video == "demo_00").sum()
    assert f"{ex.metrics['all']['tp']} / {ex.metrics['all']['n']} / {ex.metrics['all']['m']}" in ex.table.value


def test_bad_input_is_named(demo):
    outputs, gt, cfg = demo
    bad = {"v": {"attn": np.zeros(5), "cas": np.zeros((5, 2)), "cas_supp": np.zeros((5, 3))}}
    with pytest.raises(ExploreError, match="'v'.*cas"):
        TopKExplorer(bad, gt, cfg)
    with pytest.raises(ExploreError, match="missing column"):
        SpotExplorer(outputs, pd.DataFrame({"video": ["demo_00"]}), cfg)
    with pytest.raises(ExploreError, match="not in the outputs"):
        DurationExplorer(outputs, gt, cfg, video="nope")
