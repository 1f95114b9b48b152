"Training-time sampling: the binning resampler and the label-sharing pair sampler (SPEC 7)."
import numpy as np
import pytest
import torch

from mcwes.config import preset
from mcwes.sampling import SamplingError, bin_edges, make_batch, resample_indices, sample_batch


@pytest.mark.parametrize("T,length", [(1, 1), (1, 250), (249, 250), (250, 250), (251, 250), (2000, 250), (37, 5)])
def test_resampler_properties(T, length):
    idx = resample_indices(T, length, np.random.default_rng(0))
    lo, hi = bin_edges(T, length)
    assert idx.shape == (length,) and idx.dtype == np.int64
    assert ((lo <= idx) & (idx < hi)).all() and (np.diff(idx) >= 0).all()
    if T >= length:                                  # bins tile [0, T), one distinct snippet per bin
        assert lo[0] == 0 and hi[-1] == T and (hi[:-1] == lo[1:]).all() and len(set(idx.tolist())) == length
        assert (hi - lo).min() == T // length and (hi - lo).max() == -(-T // length)
    else:                                            # every snippet used, repeats
        assert set(idx.tolist()) == set(range(T))
        assert np.bincount(idx).max() - np.bincount(idx).min() <= 1


def test_resampler_hand_computed_and_seeded():
    assert resample_indices(4, 10, np.random.default_rng(5)).tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
    lo, hi = bin_edges(10, 3)
    assert lo.tolist() == [0, 3, 6] and hi.tolist() == [3, 6, 10]
    a = resample_indices(5000, 250, np.random.default_rng(11))
    assert (a == resample_indices(5000, 250, np.random.default_rng(11))).all()
    assert (a != resample_indices(5000, 250, np.random.default_rng(12))).any()
    # the global numpy state is neither used nor touched
    state = np.random.get_state()[1].copy()
    resample_indices(100, 10, np.random.default_rng(0))
    assert (np.random.get_state()[1] == state).all()


def test_resampler_is_uniform_within_bins():
    counts = np.zeros(8)
    rng = np.random.default_rng(0)
    for _ in range(4000):
        counts += np.bincount(resample_indices(8, 2, rng), minlength=8)
    np.testing.assert_allclose(counts / 4000, 0.25, atol=0.03)     # each bin has 4 snippets


def test_resampler_errors():
    for T, length in ((0, 5), (5, 0), (2.5, 3)):
        with pytest.raises(SamplingError):
            resample_indices(T, length, np.random.default_rng(0))
    with pytest.raises(SamplingError, match="Generator"):
        resample_indices(5, 5, 42)


CASME_LIKE = np.array([[1, 0]] * 40 + [[1, 1]] * 15 + [[0, 1]] * 4 + [[0, 0]] * 2)   # (61, 2)


def test_pairs_share_a_label_and_rest_is_random():
    cfg = preset("casme2").train
    pos_counts = np.zeros(len(CASME_LIKE))
    me_pairs = 0
    for s in range(300):
        idx, pairs = sample_batch(CASME_LIKE, cfg.batch_size, cfg.n_pairs, np.random.default_rng(s))
        assert len(idx) == cfg.batch_size and pairs == [(0, 1), (2, 3), (4, 5)]
        for i, j in pairs:
            shared = CASME_LIKE[idx[i]] & CASME_LIKE[idx[j]]
            assert idx[i] != idx[j] and shared.any()
            me_pairs += bool(shared[1]) and not shared[0]
        rest = idx[2 * cfg.n_pairs:]
        assert len(set(rest.tolist())) == len(rest)
        pos_counts[rest] += 1
    assert me_pairs > 50                         # the ME class is drawn about half the time despite being rare
    assert (pos_counts[-2:] > 0).all()           # videos without any expression appear among the random ones


def test_pair_fallbacks():
    one_me = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 0]])
    for s in range(100):
        idx, _ = sample_batch(one_me, 4, 2, np.random.default_rng(s))
        assert set(idx[:4].tolist()) <= {0, 1, 2} and idx[0] != idx[1] and idx[2] != idx[3]
    one_mae = np.vstack([one_me[:, ::-1], [[0, 1]]])         # MaE: video 3 only; ME: 0, 1, 2, 5
    for s in range(100):
        idx, _ = sample_batch(one_mae, 2, 1, np.random.default_rng(s))
        assert set(idx.tolist()) <= {0, 1, 2, 5} and idx[0] != idx[1]
    seen = set()
    for s in range(200):                          # neither class has 2 videos: random distinct pairs
        idx, _ = sample_batch(np.array([[1, 0], [0, 1], [0, 0]]), 2, 1, np.random.default_rng(s))
        assert idx[0] != idx[1]
        seen.add(tuple(sorted(idx.tolist())))
    assert seen == {(0, 1), (0, 2), (1, 2)}
    assert sample_batch(np.array([[0, 0]]), 3, 1, np.random.default_rng(0))[0].tolist() == [0, 0, 0]


def test_small_fold_samples_with_replacement():
    idx, pairs = sample_batch(CASME_LIKE[:3], 10, 3, np.random.default_rng(1))
    assert len(idx) == 10 and set(idx.tolist()) <= {0, 1, 2} and len(pairs) == 3
    idx, pairs = sample_batch(CASME_LIKE, 4, 0, np.random.default_rng(1))
    assert pairs == [] and len(set(idx.tolist())) == 4


def test_batch_determinism_and_errors():
    a = sample_batch(CASME_LIKE, 10, 3, np.random.default_rng(3))[0]
    assert (a == sample_batch(CASME_LIKE, 10, 3, np.random.default_rng(3))[0]).all()
    assert any((a != sample_batch(CASME_LIKE, 10, 3, np.random.default_rng(s))[0]).any() for s in (4, 5))
    for labels, B, P, pat in ((CASME_LIKE, 10, 6, "n_pairs"), (CASME_LIKE, 0, 0, "batch_size"),
                              (np.zeros((0, 2)), 4, 1, r"\(V, 2\)"), (np.array([[1, 0], [0.5, 1]]), 4, 1, r"row\(s\) \[1\]")):
        with pytest.raises(SamplingError, match=pat):
            sample_batch(labels, B, P, np.random.default_rng(0))


def test_make_batch_gathers_resampled_rows():
    feats = [np.arange(T * 3, dtype=np.float32).reshape(T, 3) for T in (3, 50, 300)]   # (T_v, 3)
    labels = np.array([[0, 0], [1, 0], [1, 1]])
    X, Y = make_batch(feats, labels, np.array([1, 2, 0, 2]), 20, np.random.default_rng(9))
    assert X.shape == (4, 20, 3) and X.dtype == torch.float32 and Y.dtype == torch.float32
    rng = np.random.default_rng(9)
    for b, v in enumerate((1, 2, 0, 2)):
        np.testing.assert_array_equal(X[b].numpy(), feats[v][resample_indices(len(feats[v]), 20, rng)])
    assert Y.tolist() == [[1, 0], [1, 1], [0, 0], [1, 1]]
    with pytest.raises(SamplingError, match="video 'z'"):
        make_batch(feats[:2] + [np.zeros((0, 3))], labels, [2], 5, np.random.default_rng(0), names=["x", "y", "z"])
    with pytest.raises(SamplingError, match="label rows"):
        make_batch(feats[:2], labels, [0], 5, np.random.default_rng(0))
