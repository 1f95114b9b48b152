"Property tests of mcwes.spotting against plain-loop references written here, invariants and speed."
import math

import numpy as np
import pandas as pd
import pytest
import torch

from mcwes.config import preset
from mcwes.spotting import (SpotError, multithreshold_proposals, multitop_proposals, nms, outer_inner_scores,
                            spot_outputs, spot_video, video_probabilities)


# ---- independent references ----
def ref_runs(kept):
    "Runs of consecutive True as (s, e) pairs."
    out, s = [], None
    for t, k in enumerate(list(kept) + [False]):
        if k and s is None: s = t
        if not k and s is not None: out.append((s, t - 1)); s = None
    return out


def ref_multitop(attn, m_start, m_count):
    T = len(attn)
    ranked = sorted(range(T), key=lambda t: (-attn[t], t))          # ties: lower index first
    found = set()
    for m in range(m_start, m_start + m_count):
        k = min(T, max(1, T // m))
        top = set(ranked[:k])
        found.update(ref_runs([t in top for t in range(T)]))
    return sorted(found)


def ref_multithreshold(attn, thresholds):
    found = set()
    for th in thresholds: found.update(ref_runs([a >= th and a > 0 for a in attn]))
    return sorted(found)


def ref_phi(props, S, p, varsigma, psi, mode):
    T, out = len(S), []
    for s, e in props:
        d = e - s + 1
        if mode == "round_min1": left = right = max(1, round(psi * d))
        elif mode == "floor": left = right = math.floor(psi * d)
        else:                                                        # CO2-Net's get_proposal_oic, literally
            left = s - max(0, int(s - psi * d)); right = min(T - 1, int(e + psi * d)) - e
        outer_idx = [t for t in range(s - left, s) if t >= 0] + [t for t in range(e + 1, e + right + 1) if t < T]
        row = []
        for j in range(2):
            inner = sum(S[t][j] for t in range(s, e + 1)) / d
            outer = sum(S[t][j] for t in outer_idx) / len(outer_idx) if outer_idx else 0.0
            row.append(inner - outer + varsigma * p[j])
        out.append(row)
    return out


def ref_nms(segs, scores, thr, classes=None):
    classes = classes if classes is not None else [0] * len(segs)
    order = sorted(range(len(segs)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        ok = True
        for j in keep:
            if classes[i] != classes[j]: continue
            a, b = segs[i], segs[j]
            inter = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
            if inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter) > thr: ok = False; break
        if ok: keep.append(i)
    return keep


def rand_attn(rng, T):
    "Attention with many exact ties (quantised), like sigmoid outputs at low precision."
    return np.round(rng.random(T) * rng.choice([4, 10, 1000]), 0) / 1000


# ---- tests ----
def test_multitop_matches_reference():
    for seed in range(200):
        rng = np.random.default_rng(seed)
        T = int(rng.integers(1, 120)); attn = rand_attn(rng, T)
        m0, mc = int(rng.integers(1, 10)), int(rng.integers(1, 16))
        got = [tuple(r) for r in multitop_proposals(attn, m0, mc)]
        assert got == ref_multitop(attn.tolist(), m0, mc), seed


def test_multithreshold_matches_reference():
    th = np.linspace(0.1, 0.9, 10)
    for seed in range(100):
        rng = np.random.default_rng(seed)
        attn = rng.random(int(rng.integers(1, 80)))
        assert [tuple(r) for r in multithreshold_proposals(attn, th)] == ref_multithreshold(attn.tolist(), th), seed


@pytest.mark.parametrize("mode", ["round_min1", "floor", "co2net"])
def test_outer_inner_matches_reference(mode):
    for seed in range(60):
        rng = np.random.default_rng(seed)
        T = int(rng.integers(1, 60)); S = rng.normal(size=(T, 3)); p = rng.random(3)
        s = rng.integers(0, T, 20); e = np.minimum(T - 1, s + rng.integers(0, 12, 20))
        props = np.stack([s, e], 1)
        psi, vs = float(rng.choice([0.25, 0.4, 0.1])), float(rng.random())
        got = outer_inner_scores(props, S, p, varsigma=vs, psi=psi, outer_width=mode)
        np.testing.assert_allclose(got, ref_phi(props.tolist(), S.tolist(), p, vs, psi, mode), atol=1e-10)


def test_small_proposals_have_an_outer_region_only_with_round_min1():
    "SPEC 8.2: with floor(psi * d), every proposal of <= 3 snippets escapes the outer penalty."
    S = np.zeros((20, 3)); S[:, 0] = 5.0                            # flat, high MaE logits everywhere
    for d in (1, 2, 3):
        props = [[8, 8 + d - 1]]
        assert outer_inner_scores(props, S, [0, 0, 0], varsigma=0, psi=0.25, outer_width="floor")[0, 0] == 5.0
        assert outer_inner_scores(props, S, [0, 0, 0], varsigma=0, psi=0.25)[0, 0] == pytest.approx(0.0)


def test_nms_matches_reference():
    for seed in range(150):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(0, 40)); s = rng.integers(0, 200, n); segs = np.stack([s, s + rng.integers(0, 40, n)], 1)
        scores = np.round(rng.random(n), 1)                          # ties
        thr = float(rng.choice([0.0, 0.01, 0.3, 0.7]))
        assert nms(segs, scores, thr).tolist() == ref_nms(segs.tolist(), scores.tolist(), thr), seed
        cl = rng.integers(0, 2, n)
        assert nms(segs, scores, thr, classes=cl).tolist() == ref_nms(segs.tolist(), scores.tolist(), thr, cl.tolist())


def test_video_probabilities_matches_reference():
    h = (7.0, 9.0, 5.0)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        T = int(rng.integers(1, 300)); S = rng.normal(size=(T, 3))
        u = [np.sort(S[:, c])[::-1][:min(T, max(1, math.floor(T / h[c])))].mean() for c in range(3)]
        np.testing.assert_allclose(video_probabilities(S, h, "logit"), u, atol=1e-12)
        np.testing.assert_allclose(video_probabilities(torch.tensor(S), h), np.exp(u) / np.exp(u).sum(), atol=1e-12)


def random_video(rng, T):
    attn = np.clip(0.1 + 0.05 * rng.standard_normal(T), 0, 1)
    S = rng.normal(0, 0.5, (T, 3)); S[:, 2] += 1
    for _ in range(6):
        s, d, c = int(rng.integers(0, T - 20)), int(rng.integers(1, 15)), int(rng.integers(0, 2))
        attn[s:s + d] = rng.uniform(0.6, 1.0); S[s:s + d, c] += 3
    return attn, S


@pytest.mark.parametrize("name,stride,length", [("casme2", 8, 8), ("samm_lv", 32, 32), ("casme2", 2, 8)])
def test_spot_video_invariants(name, stride, length):
    cfg = preset(name).override(data__stride=stride, data__snippet_length=length)
    for seed in range(25):
        rng = np.random.default_rng(seed)
        T = int(rng.integers(40, 400)); attn, S = random_video(rng, T)
        out = spot_video(attn, S, spot=cfg.spot, data=cfg.data, h=cfg.loss.h, video=f"v{seed}")
        assert list(out.columns) == ["video", "onset", "offset", "score", "kind", "cls"]
        assert (out.score >= cfg.spot.truncation).all()
        assert (np.diff(out.score.to_numpy()) <= 0).all()            # descending score
        assert (out.onset >= 0).all() and (out.offset <= (T - 1) * stride + length - 1).all()
        assert (out.onset % stride == 0).all() and ((out.offset - length + 1) % stride == 0).all()
        limit = round(cfg.spot.me_max_seconds * cfg.data.fps)
        assert ((out.kind == "ME") == (out.offset - out.onset <= limit)).all()
        iv = out[["onset", "offset"]].to_numpy()
        for i in range(len(iv)):                                      # class-agnostic hard NMS at 0.01
            for j in range(i + 1, len(iv)):
                inter = max(0, min(iv[i, 1], iv[j, 1]) - max(iv[i, 0], iv[j, 0]) + 1)
                union = (iv[i, 1] - iv[i, 0] + 1) + (iv[j, 1] - iv[j, 0] + 1) - inter
                assert inter / union <= cfg.spot.nms_iou


def test_spot_video_edge_cases():
    cfg = preset("casme2")
    kw = dict(spot=cfg.spot, data=cfg.data, h=cfg.loss.h)
    assert len(spot_video(np.full(375, 0.3), np.zeros((375, 3)), **kw)) == 0          # constant: phi = varsigma p < 0.1
    out = spot_video(np.full(375, 0.3), np.tile([2.0, 0.0, 0.0], (375, 1)), **kw)    # constant attention, MaE evidence
    # every level keeps its first k_m snippets: proposals [0, k_m - 1], all with phi = varsigma * p_MaE (flat T-CAM);
    # the tie goes to the lowest candidate index, the shortest proposal [0, k_22 - 1] = [0, 16], and NMS drops the rest
    p_mae = math.exp(2) / (math.exp(2) + 2)
    assert out[["onset", "offset", "cls"]].values.tolist() == [[0, 17 * 8 - 1, "MaE"]]
    assert out.score[0] == pytest.approx(cfg.spot.varsigma * p_mae)
    assert len(spot_video([0.5], [[0.0, 0.0, 0.0]], **kw)) == 0                        # T = 1, nothing above truncation
    with pytest.raises(SpotError, match="video 'x'"): spot_video(np.ones(5), np.ones((5, 2)), video="x", **kw)
    both = cfg.override("spot.class_copies=both", "spot.tcam=product")  # the one-snippet proposal is kept by its MaE score
    flat = dict(attn=torch.ones(1, 5) * 0.5, cas=torch.tensor([[[6.0, 0, 0]] * 5]))
    out = spot_outputs(flat, both, "y")                                                # S * A = (3, 0, 0)
    assert out.video.tolist() == ["y"] and out.onset.tolist() == [0]
    assert len(spot_outputs(flat, both.override("spot.class_copies=by_duration"), "y")) == 0  # by_duration: its ME score is < 0.1
    # softmax (the default): the T-CAM lies in [0, A], so p_j < e / (e + 2) < 0.58 and 0.15 p_j < 0.1: without an
    # inner-outer contrast nothing passes the truncation, whatever the logits' scale
    assert cfg.spot.tcam == "softmax" and len(spot_outputs(flat, cfg, "y")) == 0
    assert len(spot_outputs(dict(attn=flat["attn"], cas=flat["cas"] * 100), cfg, "y")) == 0
    supp = spot_outputs(dict(attn=torch.ones(1, 5) * 0.5, cas_supp=torch.tensor([[[3.0, 0, 0]] * 5])), both.override("spot.tcam=supp"), "y")
    assert supp.equals(out)
