"""One prepared GPU check for issue 8 (fold-batched LOSO), for a session that has a CUDA device.

1. correctness: first-iteration losses of one fold on CUDA vs CPU (dropout off, fp32, TF32 off), and
   fold-batched vs sequential first-iteration losses on CUDA;
2. speed: a CAS(ME)^2-sized synthetic LOSO (22 subjects, ~98 videos of 200-800 snippets, D = 1024,
   B = 10, T = 250): `--iters` iterations of
      sequential   mcwes.train.train_model on one fold (x 22 folds, extrapolated)
      batched      mcwes.fast.train_folds on all 22 folds at once
   in fp32 and bf16, each extrapolated to the full 1000-iteration LOSO. The figures printed are
   EXTRAPOLATED from `--iters` iterations (labelled so); the goal is < 60 s for the LOSO on one H100.

    python bench/gpu_check.py --out $OUT            # on the GPU machine (about 3-5 minutes)
    python bench/gpu_check.py --device cpu --tiny   # a smoke test of the script itself on CPU
Writes gpu_check.json (and prints a markdown table) into --out.
"""
from __future__ import annotations
import argparse, json, sys, time
from pathlib import Path

import numpy as np
import torch
try: import mcwes  # noqa: F401
except ModuleNotFoundError: sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mcwes.config import preset
from mcwes.fast import device_features, fold_batch, fold_forward, fold_losses, stack_models, train_folds
from mcwes.losses import compute_losses
from mcwes.train import TrainingSet, fold_streams, init_model, train_model


def synthetic_loso(n_subjects: int, videos_per_subject: int, C: int, lo: int, hi: int, seed: int = 0):
    "Random float16 features (T_v, C), labels (V, 2) and LOSO folds (training video indices per held-out subject)."
    rng = np.random.default_rng(seed)
    subj = np.repeat(np.arange(n_subjects), videos_per_subject)
    feats = [rng.normal(0, 0.3, size=(int(rng.integers(lo, hi)), C)).astype(np.float16) for _ in subj]
    labels = rng.integers(0, 2, size=(len(subj), 2)).astype(np.float32); labels[::3] = 1
    folds = [np.flatnonzero(subj != s) for s in range(n_subjects)]
    return feats, labels, folds


def sync(dev):
    if dev.type == "cuda": torch.cuda.synchronize()


def no_dropout(cfg):
    return cfg.override("model.dropout_cscm=0", "model.dropout_attn=0", "model.dropout_fusion=0", "model.dropout_cls=0")


def first_losses(feats, labels, folds, cfg, dev, seed=0):
    "Per-fold first-iteration losses, sequentially (one model at a time) and fold-batched, on `dev`."
    D = feats[0].shape[1] // 2
    models = [init_model(D, cfg, fold_streams(seed, f)[1], dev).train() for f in range(len(folds))]
    x, y, pairs = fold_batch(device_features(feats, dev), labels, folds, [fold_streams(seed, f)[0] for f in range(len(folds))], cfg)
    seq = [float(compute_losses(m(x[f]), y[f], pairs[f], cfg.loss)["total"].detach()) for f, m in enumerate(models)]
    p, b, base = stack_models(models)
    bat = fold_losses(fold_forward(base, p, b, x), y, pairs, cfg.loss)["total"].detach().cpu().numpy().tolist()
    return seq, bat


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda"); ap.add_argument("--out", default=".")
    ap.add_argument("--iters", type=int, default=100); ap.add_argument("--tiny", action="store_true")
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cudnn.allow_tf32 = False
    if a.tiny: S, V, D, lo, hi, its, cfg = 3, 2, 16, 20, 40, 3, preset("casme2").override("model.attn_hidden=16", "data.sampled_length=16", "train.batch_size=4", "train.n_pairs=1")
    else: S, V, D, lo, hi, its, cfg = 22, 5, 1024, 200, 800, a.iters, preset("casme2")
    feats, labels, folds = synthetic_loso(S, V, 2 * D, lo, hi)
    res = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu", "folds": S, "iters_timed": its}
    # 1. correctness (first iteration, dropout off, two folds)
    c0 = no_dropout(cfg)
    seq_dev, bat_dev = first_losses(feats, labels, folds[:2], c0, dev)
    seq_cpu, _ = first_losses(feats, labels, folds[:2], c0, torch.device("cpu"))
    res["first_losses"] = {"cpu_sequential": seq_cpu, "dev_sequential": seq_dev, "dev_batched": bat_dev,
                           "max_rel_dev_vs_cpu": float(np.max(np.abs(np.subtract(seq_dev, seq_cpu)) / np.abs(seq_cpu))),
                           "max_rel_batched_vs_sequential": float(np.max(np.abs(np.subtract(bat_dev, seq_dev)) / np.abs(seq_dev)))}
    print(json.dumps(res["first_losses"]), flush=True)
    # 2. speed, extrapolated to 1000 iterations and all folds
    timing = {}
    full = 1000
    for prec in ("fp32", "bf16"):
        c = cfg.override(f"train.iterations={its}", f"train.precision={prec}", f"train.log_every={its}")
        vids = folds[0]
        ts = TrainingSet([str(v) for v in vids], [feats[v] for v in vids], labels[vids])
        train_model(ts, c.override("train.iterations=2"), device=dev, progress=False)        # warm-up
        sync(dev); t0 = time.perf_counter(); train_model(ts, c, device=dev, progress=False); sync(dev)
        seq = time.perf_counter() - t0
        dfe = device_features(feats, dev)
        train_folds(dfe, labels, folds, c.override("train.iterations=2"), device=dev, progress=False)  # warm-up
        sync(dev); t0 = time.perf_counter(); train_folds(dfe, labels, folds, c, device=dev, progress=False); sync(dev)
        bat = time.perf_counter() - t0
        timing[prec] = {"sequential_one_fold_s": seq, "batched_all_folds_s": bat,
                        "extrapolated_sequential_loso_s": seq / its * full * S, "extrapolated_batched_loso_s": bat / its * full,
                        "peak_gpu_mem_gib": torch.cuda.max_memory_allocated(dev) / 2 ** 30 if dev.type == "cuda" else None}
        print(prec, json.dumps(timing[prec]), flush=True)
    res["timing"] = timing
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps(res, indent=1))
    print(f"\n| {res['device']}, {S} folds, timed {its} iterations, EXTRAPOLATED to {full} | sequential LOSO (s) | fold-batched LOSO (s) | ratio |")
    print("|---|---|---|---|")
    for p, t in timing.items():
        print(f"| {p} | {t['extrapolated_sequential_loso_s']:.0f} | {t['extrapolated_batched_loso_s']:.0f} | "
              f"{t['extrapolated_sequential_loso_s'] / t['extrapolated_batched_loso_s']:.1f}x |")


if __name__ == "__main__":
    main()
