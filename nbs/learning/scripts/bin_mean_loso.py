"""`mcwes loso` with each training sample's bins averaged instead of one snippet drawn per bin (36_learning §6).

A screening patch, not a config field: it lost on both development twins (`learning/me_screen.jsonl`, change
"samples averaged per bin"). Resampling a video of T snippets to `data.sampled_length` keeps one random snippet of
each bin of about T / length snippets, so a 1-2-snippet ME is missing from many ME-labelled samples; the mean of
each bin keeps every snippet, diluted. Usage, from the repository root:

    OMP_NUM_THREADS=1 python nbs/learning/scripts/bin_mean_loso.py loso --preset sample --features DIR/features \
        --annotations DIR/annotations.csv --out RUN --seeds 0 --quiet --no-checkpoints --subjects s27 s16 s24 s31 s32 s25 s23 s37
"""
import sys
import numpy as np, torch
import mcwes.train
from mcwes.cli import main
from mcwes.sampling import bin_edges, check_labels

def make_batch_mean(features, labels, idx, length, rng, names=None, device="cpu"):
    "As `mcwes.sampling.make_batch`, but each output position is the mean of its bin of the video: (B, length, C), (B, 2)."
    y, idx = check_labels(labels), np.asarray(idx, dtype=np.int64)
    xs = []
    for v in idx.tolist():
        x = np.asarray(features[v], np.float64); lo, hi = bin_edges(x.shape[0], length)   # (T, C); (length,) each
        C = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, 0)])                   # (T + 1, C)
        xs.append((C[hi] - C[lo]) / (hi - lo)[:, None])                                     # (length, C) bin means
    rng.integers(0, 2, size=1)                                                              # keep the generator moving
    return torch.from_numpy(np.stack(xs).astype(np.float32)).to(device), torch.from_numpy(y[idx].astype(np.float32)).to(device)

if __name__ == "__main__":
    mcwes.train.make_batch = make_batch_mean                   # train_model's sampler (the default, not --fold-batched)
    sys.exit(main(sys.argv[1:]))
