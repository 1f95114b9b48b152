"""Speed work (issue 8): the fast paths compute what the plain ones compute."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from mcwes.config import preset
from mcwes.cscm import conv1d_btc
from mcwes.losses import compute_losses
from mcwes.train import TrainingSet, fold_streams, init_model, train_model

ROOT = Path(__file__).resolve().parents[1]


def load_bench(name: str):
    "A module of bench/ imported by path (bench/ is not a package)."
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod


def no_dropout(cfg):
    return cfg.override("model.dropout_cscm=0", "model.dropout_attn=0", "model.dropout_fusion=0", "model.dropout_cls=0",
                        "train.precision=fp32")  # equivalence checks in fp32: bf16 rounding moves top-k picks


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fast_path_matches_baseline(precision):
    res = load_bench("eager_reference").check_equivalence(dim=16, B=6, T=40, precision=precision)
    if precision == "fp32":
        assert res["max_rel_loss_err"] <= 1e-4 and res["max_rel_grad_err"] <= 1e-4
    else:
        assert res["max_rel_loss_err"] <= 2e-2 and res["grad_cosine"] >= 0.95


def test_baseline_detects_a_difference():
    "The equivalence check is not vacuous: a perturbed weight in the fast model makes it fail."
    bl = load_bench("eager_reference")
    cfg = no_dropout(preset("casme2").override("model.attn_hidden=32"))
    fast = init_model(16, cfg, 0, torch.device("cpu")).train()
    base = bl.BaselineMCWES(16, cfg.model).train(); base.load_state_dict(fast.state_dict())
    with torch.no_grad(): fast.cls_conv.weight[:, :, 0] += 0.05
    x = torch.randn(4, 20, 32, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([[1., 0.], [1., 1.], [0., 1.], [0., 0.]])
    lf, _ = bl.losses_and_grads(fast, cfg, x, y, [(0, 1)], fast=True)
    lb, _ = bl.losses_and_grads(base, cfg, x, y, [(0, 1)], fast=False)
    assert abs(lf["total"] - lb["total"]) > 1e-4


@pytest.mark.parametrize("k,T", [(1, 4), (3, 1), (3, 9), (5, 2), (7, 12)])
def test_conv1d_btc_equals_conv1d(k, T):
    cv = nn.Conv1d(5, 7, k, padding=k // 2).double()
    x = torch.randn(3, T, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(k), requires_grad=True)
    ref = cv(x.transpose(1, 2)).transpose(1, 2)
    got = conv1d_btc(x, cv)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    w = torch.randn(ref.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    g_ref = torch.autograd.grad((ref * w).sum(), (x, cv.weight, cv.bias))
    g_got = torch.autograd.grad((got * w).sum(), (x, cv.weight, cv.bias))
    for a, b in zip(g_got, g_ref): torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def _toy(seed=0, C=16):
    rng = np.random.default_rng(seed)
    feats = [rng.normal(size=(n, C)).astype(np.float32) for n in (20, 14, 30, 9, 17, 25)]
    labels = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [1, 1]], dtype=np.float32)
    folds = [np.array([1, 2, 3, 4, 5]), np.array([0, 2, 4, 5]), np.array([0, 1, 2, 3])]   # LOSO-like: one video held out
    return feats, labels, folds


def test_fold_batched_first_step_gradients_match_sequential():
    from mcwes.fast import device_features, fold_batch, fold_forward, fold_losses, stack_models
    feats, labels, folds = _toy()
    cfg = no_dropout(preset("sample").override("model.attn_hidden=16", "train.batch_size=4", "train.n_pairs=2",
                                               "data.sampled_length=10"))
    models = [init_model(8, cfg, fold_streams(3, f)[1], torch.device("cpu")).train() for f in range(3)]
    x, y, pairs = fold_batch(device_features(feats), labels, folds, [fold_streams(3, f)[0] for f in range(3)], cfg)
    params, buffers, base = stack_models(models)
    losses = fold_losses(fold_forward(base, params, buffers, x), y, pairs, cfg.loss)
    losses["total"].sum().backward()
    for f, m in enumerate(models):
        ref = compute_losses(m(x[f]), y[f], pairs[f], cfg.loss)
        ref["total"].backward()
        for k in ref: torch.testing.assert_close(losses[k][f], ref[k], rtol=1e-5, atol=1e-6)
        for name, p in m.named_parameters():
            torch.testing.assert_close(params[name].grad[f], p.grad, rtol=1e-4, atol=1e-7)


def test_train_folds_matches_train_model():
    from mcwes.fast import train_folds
    feats, labels, folds = _toy(1)
    cfg = no_dropout(preset("sample").override("model.attn_hidden=16", "train.batch_size=4", "train.n_pairs=1",
                                               "data.sampled_length=12", "train.iterations=5", "train.log_every=5"))
    res = train_folds(feats, labels, folds, cfg, seed=2, fold_ids=[4, 5, 6], progress=False)
    for f, vids in enumerate(folds):
        seq = train_model(TrainingSet([str(v) for v in vids], [feats[v] for v in vids], labels[vids]), cfg,
                          seed=2, fold=4 + f, progress=False)
        h = res.history[res.history.fold == 4 + f]
        np.testing.assert_allclose(h["total"].to_numpy(), seq.history["total"].to_numpy(), rtol=1e-4)
        for p, q in zip(seq.model.parameters(), res.models[f].parameters()):
            torch.testing.assert_close(q, p, rtol=1e-3, atol=1e-5)


def test_train_folds_with_dropout_is_reproducible_and_leaves_global_rng():
    from mcwes.fast import train_folds
    feats, labels, folds = _toy(2)
    cfg = preset("sample").override("model.attn_hidden=16", "train.batch_size=4", "train.n_pairs=1",
                                    "data.sampled_length=8", "train.iterations=2", "train.log_every=1",
                                    "train.precision=bf16")
    state = torch.random.get_rng_state()
    a = train_folds(feats, labels, folds, cfg, seed=0, progress=False).history
    b = train_folds(feats, labels, folds, cfg, seed=0, progress=False).history
    c = train_folds(feats, labels, folds, cfg, seed=1, progress=False).history
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(a["total"].to_numpy(), b["total"].to_numpy())
    assert not np.allclose(a["total"].to_numpy(), c["total"].to_numpy())
    assert np.isfinite(a.drop(columns=["fold", "iteration"]).to_numpy()).all()
