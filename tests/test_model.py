"Tests of mcwes.cscm and mcwes.model at the I3D width (D = 1024) and on the real RGB features."
import numpy as np
import pytest
import torch
import torch.nn as nn

from mcwes.config import ModelConfig, shared_dir
from mcwes.cscm import CSCM, CCM, conv3_as_linear, core_attention, make_enhancer, set_dropout_generator
from mcwes.model import MCWES, count_parameters, suppress_cas

D = 1024
KEYS = ["attn_rgb", "attn_flow", "attn", "cas", "cas_supp", "features"]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def model() -> MCWES:
    return MCWES(D, generator=gen(0)).eval()


@pytest.mark.parametrize("B,T", [(1, 1), (2, 3), (2, 17)])
def test_shapes_at_i3d_width(model, B, T):
    with torch.no_grad():
        out = model(torch.randn(B, T, 2 * D, generator=gen(T)))
    assert list(out) == KEYS
    for k in ("attn_rgb", "attn_flow", "attn"):
        assert out[k].shape == (B, T)
        assert ((out[k] > 0) & (out[k] < 1)).all()
    assert out["cas"].shape == out["cas_supp"].shape == (B, T, 3)
    assert out["features"].shape == (B, T, 2 * D)
    torch.testing.assert_close(out["attn"], (out["attn_rgb"] + out["attn_flow"]) / 2)
    torch.testing.assert_close(out["cas_supp"], suppress_cas(out["cas"], out["attn"]))


def test_wrong_shape_names_expected_shape(model):
    with pytest.raises(ValueError, match=r"MCWES expected x of shape \(B, T, 2048\), got \(2, 5, 1000\)"):
        model(torch.zeros(2, 5, 1000))
    with pytest.raises(ValueError, match=r"got \(5, 2048\)"):
        model(torch.zeros(5, 2048))


def test_eval_deterministic_and_train_dropout(model):
    x = torch.randn(2, 12, 2 * D, generator=gen(1))
    with torch.no_grad():
        a, b = model(x), model(x)
        for k in KEYS:
            assert torch.equal(a[k], b[k]), k
        model.train()
        try:
            t1, t2 = model(x), model(x)
            assert not torch.equal(t1["cas"], t2["cas"])
            assert not torch.equal(t1["attn"], t2["attn"])
            # one seeded dropout stream reproduces a training pass exactly
            r1 = set_dropout_generator(model, gen(5))(x)["cas"]
            r2 = set_dropout_generator(model, gen(5))(x)["cas"]
            assert torch.equal(r1, r2)
        finally:
            set_dropout_generator(model, None)
            model.eval()
        assert torch.equal(model(x)["cas"], a["cas"])


def test_construction_uses_only_the_generator():
    state = torch.random.get_rng_state()
    m1, m2, m3 = MCWES(32, generator=gen(3)), MCWES(32, generator=gen(3)), MCWES(32, generator=gen(4))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(m1.parameters(), m3.parameters()))


@pytest.mark.parametrize("enhance", ["cscm", "ccm", "concat"])
def test_gradients_reach_every_parameter(enhance):
    m = MCWES(D, ModelConfig(enhance=enhance), generator=gen(2)).train()
    out = m(torch.randn(2, 6, 2 * D, generator=gen(6)))
    sum((v.float() ** 2).mean() for v in out.values()).backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not (p.grad.abs().sum() > 0)]
    assert missing == []


def test_kernel3_conv_on_pooled_vector_is_linear():
    d = 64
    conv = nn.Conv1d(d, d, 3, padding=1)
    with torch.no_grad():
        conv.weight[:, :, 0].fill_(7.0); conv.weight[:, :, 2].fill_(-3.0)  # side taps: never used
    cscm = CSCM(d, generator=gen(0)).eval()
    cscm.channel = conv3_as_linear(conv)
    x = torch.randn(3, 11, d, generator=gen(7))
    with torch.no_grad():
        f_main = cscm(x, x, return_maps=True)[1]["F_main"]                          # (B, 1, D)
        ref = torch.sigmoid(conv(x.mean(1)[:, :, None]))[:, :, 0]                     # the paper's k3 conv
    torch.testing.assert_close(f_main[:, 0], ref)


def test_core_chunk_equal_results():
    x = torch.randn(2, 37, 2 * D, generator=gen(8))
    with torch.no_grad():
        full = MCWES(D, ModelConfig(core_chunk=0), generator=gen(9)).eval()(x)
        chunked = MCWES(D, ModelConfig(core_chunk=5), generator=gen(9)).eval()(x)
    for k in KEYS:
        torch.testing.assert_close(full[k], chunked[k], rtol=1e-4, atol=1e-5)
    fq = torch.randn(1, 50, 8, generator=gen(10))
    a_full, a_chunk = core_attention(fq, return_attn=True)[1], core_attention(fq, chunk=7, return_attn=True)[1]
    torch.testing.assert_close(a_full, a_chunk)


def test_attn_scale_flattens_core_attention():
    x = torch.randn(1, 20, 64, generator=gen(11)) * 3
    ent = {}
    for scale in (False, True):
        m = CSCM(64, attn_scale=scale, generator=gen(12)).eval()
        with torch.no_grad():
            p = m(x, x, return_maps=True)[1]["core_attn"][0]
        ent[scale] = float(-(p * p.clamp_min(1e-12).log()).sum(-1).mean())
    assert ent[True] > ent[False]
    assert ent[True] <= np.log(20) + 1e-5


@pytest.mark.parametrize("x", [torch.zeros(2, 1, 2 * D), torch.zeros(1, 40, 2 * D), torch.full((2, 9, 2 * D), 4.0),
                               torch.full((1, 9, 2 * D), 1e4)], ids=["T1-zeros", "zeros", "const", "huge-const"])
def test_no_nan_or_inf(model, x):
    with torch.no_grad():
        out = model(x)
    for k, v in out.items():
        assert torch.isfinite(v).all(), k


def test_variants():
    assert isinstance(make_enhancer(ModelConfig(enhance="ccm"), 8).gates[0], CCM)
    n = {k: count_parameters(MCWES(D, ModelConfig(enhance=k), device="meta")) for k in ("cscm", "ccm", "concat")}
    assert n["cscm"] - n["ccm"] == 2 * 2 * (D * D + D)             # the core W_q and W_f of two CSCMs
    assert n["ccm"] - n["concat"] == 2 * ((D * D + D) + (3 * D * D + D))
    with pytest.raises(ValueError, match="'cscm', 'ccm' or 'concat'"):
        MCWES(8, ModelConfig(enhance="sum"))


def test_single_stream_i3d_width():
    m = MCWES(D, ModelConfig(streams=("rgb",)), generator=gen(13)).eval()
    with torch.no_grad():
        out = m(torch.randn(2, 5, D, generator=gen(14)))
    assert out["features"].shape == (2, 5, D) and out["cas"].shape == (2, 5, 3)
    assert out["attn_rgb"] is out["attn_flow"] and torch.equal(out["attn"], out["attn_rgb"])
    with pytest.raises(ValueError, match=r"MCWES expected x of shape \(B, T, 1024\), got \(2, 5, 2048\)"):
        m(torch.zeros(2, 5, 2 * D))


def test_real_rgb_features_single_stream():
    root = shared_dir()
    if root is None:
        pytest.skip("no ../shared folder (MCWES_SHARED unset): the real LGSNet RGB features are not available")
    files = sorted((root / "real_features").glob("*-rgb.npz"))
    if not files:
        pytest.skip(f"no *-rgb.npz in {root / 'real_features'}")
    features = pytest.importorskip("mcwes.features", reason="mcwes.features (02_features) not exported yet")
    feats, _, _ = features.read_lgsnet_npz(files[0])                # (T', 1024) at stride 2
    x = torch.as_tensor(features.lgsnet_to_snippets(feats))[None]   # (1, T, 1024) at stride 8
    m = MCWES(x.shape[-1], ModelConfig(streams=("rgb",)), generator=gen(15)).eval()
    with torch.no_grad():
        out = m(x)
    assert out["cas"].shape == (1, x.shape[1], 3)
    assert all(torch.isfinite(v).all() for v in out.values())
    assert out["attn"].std() > 0                                     # not a constant map on real data
