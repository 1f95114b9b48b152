"Top-K pooling (SPEC 3) and the duration mask (SPEC 4) against plain-Python references written from the SPEC."
import math, time

import pytest
import torch

from mcwes.config import preset, shared_dir
from mcwes.topk import k_from_h, topk_pool, topk_mask, plot_topk
from mcwes.duration import duration_mask, duration_stats, plot_duration_mask


# ---------- plain-Python references, one video and one class at a time ----------
def ref_select(col: list[float], k: int, excluded: set[int]) -> list[int]:
    "Indices of the k largest of `col` among the non-excluded, ties to the lower index."
    cand = [i for i in range(len(col)) if i not in excluded]
    return sorted(cand, key=lambda i: (-col[i], i))[:k]


def ref_pool(cas: torch.Tensor, h, exclude=None):
    "(B, T, C) -> pooled (B, C) and selection (B, T, C), with loops."
    B, T, C = cas.shape
    out, sel = torch.zeros(B, C, dtype=torch.float64), torch.zeros(B, T, C, dtype=torch.bool)
    for b in range(B):
        ex = set() if exclude is None else {t for t in range(T) if exclude[b, t]}
        if len(ex) == T: ex = set()                                   # everything excluded: no exclusion
        n = T - len(ex)
        for c in range(C):
            k = min(n, max(1, math.floor(n / h[c])))
            idx = ref_select(cas[b, :, c].tolist(), k, ex)
            out[b, c] = sum(cas[b, i, c].item() for i in idx) / k
            sel[b, idx, c] = True
    return out, sel


def ref_mask(a: list[float], eta: int, wl: float, wu: float, reference: str, alignment: str) -> list[int]:
    T = len(a)
    if T < eta + 1: return [1] * T
    Q = [sum(a[j:j + eta]) / eta for j in range(T - eta + 1)]
    D = [abs(Q[j + 1] - Q[j]) for j in range(T - eta)]
    r = sum(D) / len(D) if reference == "mean_delta" else sum(Q) / len(Q)
    off = 0 if alignment == "left" else eta // 2
    M = [1] * T
    for j, d in enumerate(D): M[j + off] = 0 if wl * r < d < wu * r else 1
    return M


# ---------- top-K ----------
@pytest.mark.parametrize("T", [1, 3, 8, 9, 56, 250])
@pytest.mark.parametrize("h", [(7.0, 9.0, 5.0), (2.5, 1.0, 4.0), (1.0, 1.0, 1.0)])
def test_topk_matches_reference_with_ties(T, h):
    g = torch.Generator().manual_seed(T)
    cas = torch.randint(-3, 4, (3, T, 3), generator=g).double()       # few distinct values: many ties
    u, sel = ref_pool(cas, h)
    torch.testing.assert_close(topk_pool(cas, h), u)
    assert torch.equal(topk_mask(cas, h), sel)
    assert topk_mask(cas, h)[0].sum(0).tolist() == list(k_from_h(T, h))


@pytest.mark.parametrize("seed", range(5))
def test_topk_exclude_matches_reference(seed):
    g = torch.Generator().manual_seed(seed)
    B, T, h = 4, 30, (7.0, 9.0, 5.0)
    cas = torch.randint(-2, 3, (B, T, 3), generator=g).double()
    ex = torch.rand(B, T, generator=g) < torch.tensor([0.0, 0.3, 0.9, 1.0]).view(B, 1)  # last: all excluded
    assert ex[3].all() and not ex[0].any()
    u, sel = ref_pool(cas, h, ex)
    torch.testing.assert_close(topk_pool(cas, h, exclude=ex), u)
    assert torch.equal(topk_mask(cas, h, exclude=ex), sel)
    assert not (topk_mask(cas, h, exclude=ex)[:3] & ex[:3, :, None]).any()   # excluded never selected
    torch.testing.assert_close(topk_pool(cas, h, exclude=ex)[3], topk_pool(cas, h)[3])


def test_topk_gradient_only_on_selected():
    g = torch.Generator().manual_seed(0)
    cas = torch.randn(2, 40, 3, generator=g, requires_grad=True)
    ex = torch.zeros(2, 40, dtype=torch.bool); ex[1, ::3] = True
    w = torch.tensor([1.0, -2.0, 0.5])
    (topk_pool(cas, (7, 9, 5), exclude=ex) * w).sum().backward()
    sel = topk_mask(cas.detach(), (7, 9, 5), exclude=ex).float()
    k = sel.sum(1, keepdim=True)                                         # (B, 1, C)
    torch.testing.assert_close(cas.grad, sel * w / k)


def test_topk_shift_and_dtype():
    g = torch.Generator().manual_seed(3)
    cas = torch.randn(2, 50, 3, generator=g)
    torch.testing.assert_close(topk_pool(cas + 2.5, (7, 9, 5)), topk_pool(cas, (7, 9, 5)) + 2.5)
    assert topk_pool(cas.bfloat16(), (7, 9, 5)).dtype == torch.bfloat16
    cfg = preset("casme2")
    assert topk_mask(torch.randn(1, cfg.data.sampled_length, 3, generator=g), cfg.loss.h)[0].sum(0).tolist() == [35, 27, 50]


def test_topk_bad_input():
    with pytest.raises(ValueError, match=r"\(B, T, C\)"): topk_pool(torch.zeros(5, 3), (7, 9, 5))
    with pytest.raises(ValueError, match="C=3"): topk_pool(torch.zeros(1, 5, 3), (7, 9))
    with pytest.raises(ValueError, match="bool"): topk_pool(torch.zeros(1, 5, 3), (7, 9, 5), exclude=torch.zeros(1, 5))
    with pytest.raises(ValueError, match="> 0"): k_from_h(10, (7, -1, 5))


# ---------- duration mask ----------
@pytest.mark.parametrize("eta", [1, 2, 3, 4])
@pytest.mark.parametrize("reference", ["mean_delta", "mean_q"])
@pytest.mark.parametrize("alignment", ["left", "centred"])
def test_duration_mask_matches_reference(eta, reference, alignment):
    g = torch.Generator().manual_seed(eta)
    wl, wu = (0.8, 1.6) if reference == "mean_delta" else (0.2, 0.6)    # bands that catch something
    attn = torch.rand(6, 50, generator=g, dtype=torch.float64)
    got = duration_mask(attn, eta, wl, wu, reference=reference, alignment=alignment)
    want = torch.tensor([ref_mask(a.tolist(), eta, wl, wu, reference, alignment) for a in attn], dtype=got.dtype)
    assert torch.equal(got, want)
    assert (got == 0).any() and (got == 1).any()                        # the test is not vacuous
    tail = eta if alignment == "left" else eta - eta // 2
    assert (got[:, 50 - tail:] == 1).all() and (got[:, :eta // 2 if alignment == "centred" else 0] == 1).all()


def test_duration_mask_keeps_clean_bump_and_flat():
    lc = preset("casme2").loss
    a = torch.full((1, 40), 0.1); a[0, 20:22] = 0.9                     # a clean 2-snippet bump
    a[0, ::2] += 0.01                                                  # tiny ripple so Delta_bar > 0
    st = duration_stats(a, lc.eta)
    assert st["delta"].max() > lc.omega_u * st["reference"][0]          # the bump is above the band
    assert duration_mask(a, lc.eta, lc.omega_l, lc.omega_u)[0, 18:23].tolist() == [1.0] * 5
    assert (duration_mask(torch.full((3, 40), 0.7), lc.eta, lc.omega_l, lc.omega_u) == 1).all()


def test_plots_return_figures():
    from matplotlib.figure import Figure
    g = torch.Generator().manual_seed(0)
    f1 = plot_topk(torch.randn(2, 30, 3, generator=g), (7, 9, 5), video=1)
    f2 = plot_duration_mask(torch.rand(30, generator=g), 2, 1.2, 1.4, gt=[(3, 9, "MaE"), (20, 21, "ME"), (25, 26)])
    f3 = plot_duration_mask(torch.rand(1, 2), 2, 1.2, 1.4)                # T < eta + 1: no band to draw
    assert all(isinstance(f, Figure) for f in (f1, f2, f3))
    assert len(f1.axes) == 3 and len(f2.axes) == 2


def test_duration_mask_on_real_feature_energy():
    sh = shared_dir()
    if sh is None: pytest.skip("../shared is absent: no real features to build a stand-in attention from")
    files = sorted((sh / "real_features").glob("*.npz"))
    if not files: pytest.skip(f"no .npz feature files in {sh / 'real_features'}")
    from mcwes.features import read_lgsnet_npz
    x = torch.from_numpy(read_lgsnet_npz(files[0])[0]).double()        # (T', D)
    e = x.norm(dim=1); a = ((e - e.min()) / (e.max() - e.min()))[None]  # (1, T') stand-in attention
    lc = preset("casme2").loss
    got = duration_mask(a, lc.eta, lc.omega_l, lc.omega_u)
    assert got.tolist()[0] == ref_mask(a[0].tolist(), lc.eta, lc.omega_l, lc.omega_u, "mean_delta", "left")
