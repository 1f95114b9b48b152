"""Properties of mcwes.consistency and mcwes.losses beyond the notebooks' examples (SPEC 5, 6)."""
from __future__ import annotations
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mcwes.config import LossConfig, ModelConfig
from mcwes.cscm import ShapeError
from mcwes.consistency import feature_consistency, similarity_maps
from mcwes.duration import duration_mask
from mcwes.model import MCWES, suppress_cas
from mcwes.losses import LOSS_TERMS, compute_losses, loss_dc3, loss_gl, loss_sc, loss_sl, loss_weights, mil_from_pooled, mil_loss



def _batch(seed: int, B: int = 6, T: int = 30, Fd: int = 8) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a_rgb, a_flow = torch.rand(B, T, generator=g), torch.rand(B, T, generator=g)
    attn = (a_rgb + a_flow) / 2
    cas = torch.randn(B, T, 3, generator=g)
    return dict(attn_rgb=a_rgb, attn_flow=a_flow, attn=attn, cas=cas,
                cas_supp=suppress_cas(cas, attn), features=torch.randn(B, T, Fd, generator=g))


LABELS = torch.tensor([[1., 0.], [1., 1.], [0., 1.], [0., 1.], [1., 0.], [0., 0.]])
PAIRS = [(0, 1), (2, 3), (4, 1)]


def _fc_reference(features, attn, cas, labels, pairs, k, tau=1.0, similarity="softmax") -> float:
    "SPEC 5 written as plain loops, one pair, one direction, one class at a time."
    total, n_s = 0.0, 0.0
    for i, j in pairs:
        y = (labels[i] * labels[j]).tolist()
        n_s += sum(y)
        for s, d in ((i, j), (j, i)):
            order = sorted(range(attn.shape[1]), key=lambda t: (-float(attn[s, t]), t))[:k]
            for c in range(2):
                if y[c] == 0: continue
                ms = []
                for t in range(attn.shape[1]):
                    vals = []
                    for idx in order:
                        w = torch.softmax(cas[s, idx, :2], 0)[c]
                        vals.append(float(w * F.cosine_similarity(features[d, t], features[s, idx], dim=0, eps=1e-12)))
                    if similarity == "softmax": vals = torch.softmax(torch.tensor(vals) / tau, 0).tolist()
                    ms.append(max(vals))
                total += y[c] * float((attn[d] * torch.tensor(ms)).sum() / attn[d].sum())
    return 0.0 if n_s == 0 else 1 - total / (2 * n_s)


@pytest.mark.parametrize("similarity,tau", [("softmax", 1.0), ("softmax", 0.2), ("none", 1.0)])
def test_fc_matches_loop_reference(similarity, tau):
    b = _batch(0, T=12)
    got = feature_consistency(b["features"], b["attn"], b["cas"], LABELS, PAIRS, 3, tau=tau, similarity=similarity)
    want = _fc_reference(b["features"], b["attn"], b["cas"], LABELS, PAIRS, 3, tau, similarity)
    assert got.item() == pytest.approx(want, abs=1e-5)


def test_fc_counts_shared_labels():
    # pair (1, 1) style: video 1 shares MaE and ME with itself -> N_s = 2 for that pair
    b = _batch(1, T=10)
    lab = torch.tensor([[1., 1.], [1., 1.], [0., 1.], [1., 0.], [0., 0.], [0., 0.]])
    got = feature_consistency(b["features"], b["attn"], b["cas"], lab, [(0, 1), (2, 3)], 2)
    assert got.item() == pytest.approx(_fc_reference(b["features"], b["attn"], b["cas"], lab, [(0, 1)], 2), abs=1e-6)
    assert feature_consistency(b["features"], b["attn"], b["cas"], lab, [(2, 3), (4, 5)], 2).item() == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_fc_in_unit_interval_and_copies_beat_unrelated(seed):
    b = _batch(seed, B=2, T=40, Fd=16)
    lab = torch.ones(2, 2)
    loss = feature_consistency(b["features"], b["attn"], b["cas"], lab, [(0, 1)], 5)
    assert 0.0 <= loss.item() <= 1.0
    copy = {k: v.clone() for k, v in b.items()}
    for k in ("features", "attn", "cas"): copy[k][1] = b[k][0]
    for sim in ("softmax", "none"):
        l_copy = feature_consistency(copy["features"], copy["attn"], copy["cas"], lab, [(0, 1)], 5, similarity=sim)
        l_unrel = feature_consistency(b["features"], b["attn"], b["cas"], lab, [(0, 1)], 5, similarity=sim)
        assert l_copy < l_unrel


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_fc_gradient_survives_feature_scale(scale):
    "The saturation trap of SPEC 5.4: with unnormalised features a large scale makes the softmax one-hot."
    b = _batch(2, T=20)
    f = (b["features"] * scale).requires_grad_()
    a = b["attn"].clone().requires_grad_()
    loss = feature_consistency(f, a, b["cas"], LABELS, PAIRS, 4)
    loss.backward()
    assert torch.isfinite(f.grad).all() and (f.grad * scale).abs().sum() > 1e-4
    assert a.grad.abs().sum() > 1e-4
    ref = feature_consistency(b["features"], b["attn"], b["cas"], LABELS, PAIRS, 4)
    assert loss.item() == pytest.approx(ref.item(), abs=1e-5)


def test_fc_rejects_bad_input():
    b = _batch(3, T=10)
    with pytest.raises(ShapeError, match=r"cas: expected shape \(6, 10, 3\)"):
        feature_consistency(b["features"], b["attn"], b["cas"][..., :2], LABELS, PAIRS, 2)
    with pytest.raises(ShapeError, match=r"labels: expected shape \(6, 2\)"):
        feature_consistency(b["features"], b["attn"], b["cas"], LABELS[:, :1], PAIRS, 2)
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        feature_consistency(b["features"], b["attn"], b["cas"], LABELS, [(0, 6)], 2)
    with pytest.raises(ValueError, match="similarity"):
        feature_consistency(b["features"], b["attn"], b["cas"], LABELS, PAIRS, 2, similarity="max")
    with pytest.raises(ValueError, match="k=11"):
        similarity_maps(b["features"], b["attn"], b["cas"], b["features"], 11)


def test_mil_hand_values_and_background():
    u = torch.tensor([[1., 2., 0.], [0., 0., 0.]], requires_grad=True)
    lab = torch.tensor([[1., 1.], [0., 0.]])
    lp = torch.log_softmax(u.detach(), 1)
    with_bg = mil_from_pooled(u, lab, True)
    assert with_bg[0].item() == pytest.approx(-(lp[0].sum() / 3.0001).item(), rel=1e-6)
    assert with_bg[1].item() == pytest.approx(math.log(3) / 1.0001, rel=1e-6)        # only the BG label
    no_bg = mil_from_pooled(u, lab, False)
    assert no_bg[0].item() == pytest.approx(-((lp[0, 0] + lp[0, 1]) / 2.0001).item(), rel=1e-6)
    assert no_bg[1].item() == 0.0                                                  # no expression: contributes 0
    no_bg[1].backward()
    assert u.grad.abs().sum().item() == 0.0                                        # ... and no gradient
    raw = mil_from_pooled(u.detach(), lab, True, label_norm="none")
    assert raw[0].item() == pytest.approx(-lp[0].sum().item(), rel=1e-6)


def test_mil_loss_pools_topk():
    # T = 14, h = (7, 9, 5): k = (2, 1, 2); u = mean of the 2 (1, 2) largest values per class
    cas = torch.zeros(1, 14, 3)
    cas[0, :4, 0] = torch.tensor([4., 2., 1., 0.5]); cas[0, 5, 1] = 3.; cas[0, 7:10, 2] = torch.tensor([1., 2., 3.])
    u = torch.tensor([[3., 3., 2.5]])
    lab = torch.tensor([[0., 1.]])
    assert mil_loss(cas, lab, (7, 9, 5), True).item() == pytest.approx(mil_from_pooled(u, lab, True).item(), rel=1e-6)


def test_attention_losses():
    ar = torch.tensor([[0.1, 0.9, 0.5]], requires_grad=True)
    af = torch.tensor([[0.3, 0.6, 0.5]], requires_grad=True)
    loss_sc(ar, af).backward()
    assert torch.allclose(ar.grad, (ar - af).detach() / 3)                         # 0.5 * 2 (a - b) / (B T)
    assert loss_sl(-ar.detach(), ar.detach(), af.detach()).item() == pytest.approx((1.5 / 3 * 2 + 1.4 / 3) / 3)
    cas = torch.tensor([[[0., 0., math.log(2.)], [0., 0., 0.], [5., 0., -5.]]])
    p_f = 1 - torch.softmax(cas, -1)[..., 2]                                       # (1/2, 2/3, ~1)
    assert p_f[0, 0].item() == pytest.approx(0.5)
    want = sum((p_f - a).abs().mean() for a in (ar, ar, af)) / 3
    assert loss_gl(cas, ar.detach(), ar.detach(), af.detach()).item() == pytest.approx(want.item(), rel=1e-6)
    with pytest.raises(ShapeError, match=r"attn_rgb: expected shape \(1, 3\)"):
        loss_sl(ar, ar[:, :2], af)


def test_dc3_modes():
    cas = torch.full((2, 7, 3), -1.)
    cas[:, 3, 0] = 2.                     # a MaE peak that the mask removes
    mask = torch.ones(2, 7); mask[:, 3] = 0
    lab = torch.tensor([[1., 1.], [0., 0.]])
    nll = lambda u, y: -(torch.tensor(y) / (sum(y) + 1e-4) * torch.log_softmax(torch.tensor(u), 0)).sum().item()
    mult = (nll([0., 0., 0.], [1, 0, 1]) + nll([0., 0., 0.], [0, 0, 1])) / 2      # masked logits become 0 and win every column
    excl = (nll([-1., -1., -1.], [1, 0, 1]) + nll([-1., -1., -1.], [0, 0, 1])) / 2
    assert loss_dc3(cas, lab, mask, (7, 9, 5)).item() == pytest.approx(mult, rel=1e-6)
    assert loss_dc3(cas, lab, mask, (7, 9, 5), mode="exclude").item() == pytest.approx(excl, rel=1e-6)


def test_compute_losses_switches_without_dc3():
    b, cfg = _batch(4), LossConfig(use_dc3=False)
    res = compute_losses(b, LABELS, PAIRS, cfg)
    assert set(res) == set(LOSS_TERMS) | {"total"} and res["dc3"].item() == 0.0
    w = loss_weights(cfg)
    assert res["total"].item() == pytest.approx(sum(w[k] * res[k].item() for k in LOSS_TERMS), rel=1e-6)
    assert res["dc1"].item() == pytest.approx(mil_loss(b["cas"], LABELS, cfg.h, True).mean().item(), rel=1e-6)
    fc_supp = compute_losses(b, LABELS, PAIRS, replace(cfg, fc_weights_from="cas_supp"))["fc"]
    assert fc_supp.item() == pytest.approx(feature_consistency(b["features"], b["attn"], b["cas_supp"], LABELS, PAIRS, 4).item())
    off = compute_losses(b, LABELS, PAIRS, replace(cfg, use_fc=False, use_gl=False))
    assert off["fc"].item() == 0.0 and off["gl"].item() == 0.0
    assert off["total"].item() == pytest.approx(res["total"].item() - w["fc"] * res["fc"].item() - w["gl"] * res["gl"].item(), rel=1e-5)
    with pytest.raises(ValueError, match="fc_weights_from"):
        compute_losses(b, LABELS, PAIRS, replace(cfg, fc_weights_from="S"))
    with pytest.raises(ShapeError, match=r"out\['cas'\]: expected 3 dims"):
        compute_losses({**b, "cas": b["cas"][0]}, LABELS, PAIRS, cfg)


@pytest.mark.parametrize("mode", ["multiply", "exclude"])
@pytest.mark.parametrize("case", ["T=1", "constant attention", "zero features", "unlabelled"])
def test_compute_losses_numerically_safe(case, mode):
    b = _batch(5, T=1 if case == "T=1" else 16)
    lab = torch.zeros(6, 2) if case == "unlabelled" else LABELS
    if case == "constant attention":
        for k in ("attn", "attn_rgb", "attn_flow"): b[k] = torch.full_like(b[k], 0.5)
    if case == "zero features": b["features"] = torch.zeros_like(b["features"])
    b = {k: v.clone().requires_grad_() for k, v in b.items()}
    res = compute_losses(b, lab, PAIRS, LossConfig(mask_mode=mode))
    res["total"].backward()
    assert all(torch.isfinite(v) for v in res.values())
    assert all(v.grad is None or torch.isfinite(v.grad).all() for v in b.values())


def test_compute_losses_all_terms():
    b, cfg = _batch(6, T=40), LossConfig()
    res = compute_losses(b, LABELS, PAIRS, cfg)
    mask = duration_mask(b["attn"], cfg.eta, cfg.omega_l, cfg.omega_u, reference=cfg.mask_reference, alignment=cfg.mask_alignment)
    assert res["dc3"].item() == pytest.approx(loss_dc3(b["cas"], LABELS, mask, cfg.h).item(), rel=1e-6)
    w = loss_weights(cfg)
    assert res["total"].item() == pytest.approx(sum(w[k] * res[k].item() for k in LOSS_TERMS), rel=1e-6)


def test_compute_losses_on_model_output():
    model = MCWES(8, ModelConfig(attn_hidden=16), generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(6, 24, 16, generator=torch.Generator().manual_seed(1))        # (B, T, 2D), D = 8
    out = model(x)
    res = compute_losses(out, LABELS, PAIRS, LossConfig())
    res["total"].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(torch.isfinite(v) for v in res.values())
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
