"Property tests of mcwes.metrics against plain O(N x M) references written here, and a real-annotation check."
import math

import numpy as np
import pandas as pd
import pytest

from mcwes.config import shared_dir
from mcwes.metrics import (MetricsError, evaluate, interval_iou, mean_average_precision, pr_curve,
                           random_baseline)


# ---- independent references: loops over Python ints, no numpy broadcasting ----
def ref_iou(a, b):
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0: return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def ref_kind(onset, offset, fps, me_max_seconds=0.5):
    return "ME" if offset - onset <= int(round(me_max_seconds * fps)) else "MaE"


def ref_f1(tp, n, m):
    p = tp / n if n else 0.0
    r = tp / m if m else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def ref_counts(props, gts, fps, protocol, thr, min_score=-math.inf):
    "(tp_mae, n_mae, m_mae, tp_me, n_me, m_me) by looping over every (ground truth, proposal) pair."
    props = [p for p in props if p["score"] >= min_score]
    out = {}
    for kind in ("MaE", "ME"):
        mine = [g for g in gts if g["kind"] == kind]
        tp = 0
        for g in mine:
            for p in props:
                if p["video"] != g["video"]: continue
                if protocol == "megc" and ref_kind(p["onset"], p["offset"], fps) != kind: continue
                if ref_iou((p["onset"], p["offset"]), (g["onset"], g["offset"])) >= thr:
                    tp += 1
                    break
        n = sum(ref_kind(p["onset"], p["offset"], fps) == kind for p in props)
        out[kind] = (tp, n, len(mine))
    return out


def ref_f1_me(props, gts, fps, seconds, thr):
    sel = [p for p in props if p["offset"] - p["onset"] <= int(round(seconds * fps))]
    me = [g for g in gts if g["kind"] == "ME"]
    tp = sum(any(p["video"] == g["video"] and ref_iou((p["onset"], p["offset"]), (g["onset"], g["offset"])) >= thr
                 for p in sel) for g in me)
    return ref_f1(tp, len(sel), len(me))[2]


def random_case(rng, n_videos=4, max_len=400):
    "Random ground truth and proposals, with many near-duplicates, touching and IoU-0.5 intervals."
    gts, props = [], []
    for v in range(n_videos):
        for _ in range(rng.integers(0, 5)):
            on = int(rng.integers(0, max_len)); d = int(rng.choice([3, 10, 15, 16, 20, 40, 90]))
            gts.append(dict(video=f"v{v}", onset=on, offset=on + d, kind="ME" if d <= 15 else "MaE"))
        for _ in range(rng.integers(0, 8)):
            if gts and rng.random() < 0.6:                      # jitter a ground truth
                g = gts[rng.integers(len(gts))]
                on = max(0, g["onset"] + int(rng.integers(-6, 7))); off = max(on, g["offset"] + int(rng.integers(-6, 7)))
                video = g["video"] if rng.random() < 0.9 else "no_gt_video"
            else:
                on = int(rng.integers(0, max_len)); off = on + int(rng.integers(0, 60)); video = f"v{v}"
            props.append(dict(video=video, onset=on, offset=off, score=float(rng.integers(0, 6)) / 5))
    return props, gts


def frames(rows, cols):
    return pd.DataFrame(rows, columns=cols)


# ---- tests ----
def test_interval_iou_matches_reference():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, (30, 1)); a = np.hstack([a, a + rng.integers(0, 20, (30, 1))])
    b = rng.integers(0, 50, (20, 1)); b = np.hstack([b, b + rng.integers(0, 20, (20, 1))])
    m = interval_iou(a, b)
    assert m.shape == (30, 20)
    for i in range(30):
        for j in range(20):
            assert m[i, j] == pytest.approx(ref_iou(a[i], b[j]), abs=1e-12)


@pytest.mark.parametrize("protocol", ["megc", "lgsnet"])
def test_evaluate_matches_reference(protocol):
    pcols, gcols = ["video", "onset", "offset", "score"], ["video", "onset", "offset", "kind"]
    for seed in range(150):
        rng = np.random.default_rng(seed)
        props, gts = random_case(rng)
        fps = float(rng.choice([30.0, 200.0 / 8]))
        thr = float(rng.choice([0.3, 0.5, 0.7]))
        r = evaluate(frames(props, pcols), frames(gts, gcols), fps, protocol=protocol, iou=thr)
        ref = ref_counts(props, gts, fps, protocol, thr)
        got = {"MaE": (r["tp_mae"], r["n_mae"], r["m_mae"]), "ME": (r["tp_me"], r["n_me"], r["m_me"])}
        assert got == ref, (seed, got, ref)
        tp, n, m = ref["MaE"][0] + ref["ME"][0], len(props), len(gts)
        assert (r["precision"], r["recall"], r["f1"]) == pytest.approx(ref_f1(tp, n, m)), seed
        assert r["f1_me_05"] == pytest.approx(ref_f1_me(props, gts, fps, 0.5, thr)), seed
        assert r["f1_me_10"] == pytest.approx(ref_f1_me(props, gts, fps, 1.0, thr)), seed
        # the sweep: best overall F1 over every score threshold, by brute force
        best = max([ref_f1(sum(c[0] for c in ref_counts(props, gts, fps, protocol, thr, t).values()),
                           sum(p["score"] >= t for p in props), m)[2] for t in {p["score"] for p in props}] or [0.0])
        assert r["f1_swept"] == pytest.approx(best), seed
        assert r["f1_swept"] >= r["f1"] - 1e-12


def test_f1_me_p_is_me_f1_at_swept_threshold():
    pcols, gcols = ["video", "onset", "offset", "score"], ["video", "onset", "offset", "kind"]
    for seed in range(60):
        rng = np.random.default_rng(1000 + seed)
        props, gts = random_case(rng)
        r = evaluate(frames(props, pcols), frames(gts, gcols), 30.0)
        if not props: assert r["f1_me_p"] == 0.0 and math.isnan(r["swept_threshold"]); continue
        kept = [p for p in props if p["score"] >= r["swept_threshold"]]
        me_props = [p for p in kept if ref_kind(p["onset"], p["offset"], 30.0) == "ME"]
        assert r["f1_me_p"] == pytest.approx(ref_f1_me(me_props, gts, 30.0, 0.5, 0.5)), seed


def test_pr_curve_rows_equal_evaluate_at_each_threshold():
    rng = np.random.default_rng(7)
    props, gts = random_case(rng, n_videos=6)
    P, G = pd.DataFrame(props), pd.DataFrame(gts)
    curve = pr_curve(P, G, 30.0)
    assert list(curve.threshold) == sorted(set(P.score), reverse=True)
    for row in curve.itertuples():
        r = evaluate(P[P.score >= row.threshold], G, 30.0)
        assert (row.tp, row.n) == (r["tp"], r["n"])
        assert row.f1 == pytest.approx(r["f1"])


def ref_ap(props, gts, thr):
    "Greedy one-to-one matching by descending score (stable), VOC all-point interpolated AP."
    order = sorted(range(len(props)), key=lambda i: (-props[i]["score"], i))
    used, tps = set(), []
    for i in order:
        p, best, arg = props[i], -1.0, None
        for j, g in enumerate(gts):
            if j in used or g["video"] != p["video"]: continue
            o = ref_iou((p["onset"], p["offset"]), (g["onset"], g["offset"]))
            if o >= thr and o > best: best, arg = o, j
        tps.append(arg is not None)
        if arg is not None: used.add(arg)
    if not gts or not props: return 0.0
    ap, ctp = 0.0, 0
    prec, rec = [], []
    for k, t in enumerate(tps, 1):
        ctp += t; prec.append(ctp / k); rec.append(ctp / len(gts))
    for k in range(len(prec)):
        envelope = max(prec[k:])
        ap += (rec[k] - (rec[k - 1] if k else 0.0)) * envelope
    return ap


def test_average_precision_matches_reference():
    for seed in range(60):
        rng = np.random.default_rng(2000 + seed)
        props, gts = random_case(rng)
        if not props: continue
        r = mean_average_precision(pd.DataFrame(props), pd.DataFrame(gts, columns=["video", "onset", "offset", "kind"]),
                                   ious=(0.3, 0.5))
        for t in (0.3, 0.5):
            assert r[f"ap@{t:g}"] == pytest.approx(ref_ap(props, gts, t)), seed


def test_zero_division_and_bad_input():
    empty_p = pd.DataFrame(columns=["video", "onset", "offset", "score"])
    empty_g = pd.DataFrame(columns=["video", "onset", "offset", "kind"])
    r = evaluate(empty_p, empty_g, 30.0)
    assert (r["precision"], r["recall"], r["f1"], r["f1_me_05"], r["f1_swept"]) == (0.0,) * 5
    g = pd.DataFrame(dict(video=["a"], onset=[0], offset=[9], kind=["ME"]))
    assert evaluate(empty_p, g, 30.0)["recall"] == 0.0
    p = pd.DataFrame(dict(video=["a"], onset=[3.5], offset=[9], score=[1.0]))
    with pytest.raises(MetricsError, match="row 0 .*video 'a'.*onset"): evaluate(p, g, 30.0)
    with pytest.raises(MetricsError, match="none of the 1 proposal video"): evaluate(p.assign(onset=3, video="b"), g, 30.0, videos=["a"])
    with pytest.raises(MetricsError, match="not in the dataset"): evaluate(p.assign(onset=3), g, 30.0, videos=["b"])


def test_random_baseline_keeps_durations_and_is_near_chance():
    rng = np.random.default_rng(0)
    videos = pd.DataFrame(dict(video=[f"v{i}" for i in range(30)], n_frames=3000))
    gt = pd.DataFrame(dict(video=videos.video, onset=1000, offset=1060, kind="MaE"))
    props = gt.assign(score=1.0)                                  # perfect proposals
    assert evaluate(props, gt, 30.0)["f1"] == 1.0
    rb = random_baseline(gt, videos, props, rng=rng)
    assert (rb.offset - rb.onset).tolist() == [60] * 30 and (rb.video == props.video).all()
    assert evaluate(rb, gt, 30.0)["f1"] < 0.3


def _read(path):
    data = pytest.importorskip("mcwes.data")
    return data.read_annotations(path)


@pytest.mark.parametrize("name,fps,ok_me", [("casme2_annotation_357.csv", 30.0, 56), ("samm_annotation.csv", 200.0, 159)])
def test_ground_truth_against_itself(name, fps, ok_me):
    "Real annotations: every ground truth finds itself, except the one CAS(ME)^2 ME of 16 frames under MEGC."
    root = shared_dir()
    if root is None: pytest.skip("no shared/ folder with the real annotations beside the checkout")
    path = root / "annotations" / "LGSNet" / name
    if not path.exists(): pytest.skip(f"{path} is missing")
    gt = _read(path)
    props = gt.assign(score=1.0)
    agn = evaluate(props, gt, fps, protocol="lgsnet")
    assert agn["recall"] == 1.0 and agn["tp"] == len(gt)
    megc = evaluate(props, gt, fps)
    assert megc["tp_mae"] == megc["m_mae"]
    assert megc["tp_me"] == ok_me
