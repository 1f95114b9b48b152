"""Spotting speed: proposals for one 3000-frame CAS(ME)^2 video from its features (model forward included), CPU.

Times, interleaved and repeated (medians reported):
  baseline   bench/eager_reference.py's plain fp32 model (nn.Conv1d) in eval mode + mcwes.spotting.spot_outputs
  fp32       mcwes.train.predict_video (fp32) + spot_outputs
  bf16       predict_video with precision bf16 + spot_outputs
and, separately, spot_outputs alone (proposals, scores, NMS from the model outputs), plus the compute
floor: the forward's multiply-adds counted from the model's layers, divided by the matrix-product rate
this CPU reaches (measured here, fp32 and bf16, at the classifier's im2col shape). The model has
random weights (the timing does not depend on them); the features are a video of data_samples-like
noise. Checks whether the bf16 proposals equal the fp32 ones (same intervals and classes).

    python bench/bench_spot.py [--write]       # --write updates "## Spotting speed" in BENCHMARKS.md
"""
from __future__ import annotations
import argparse, sys, time
from pathlib import Path

import numpy as np
import torch
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmd import machine, median, write_section
from eager_reference import BaselineMCWES
from mcwes.config import preset
from mcwes.features import n_snippets
from mcwes.spotting import spot_outputs
from mcwes.train import OUTPUT_KEYS, init_model, predict_video


def _gemm_shapes(model, T: int) -> list[tuple[int, int, int]]:
    "(M, K, N) of every per-snippet matrix product of one eval forward (im2col: K = C_in * k); the channel maps run on the mean."
    return [(T, m.weight[0].numel(), m.weight.shape[0]) for name, m in model.named_modules()
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d)) and not name.endswith(".channel")]


def _n_core(model) -> int:
    "How many CSCM core attentions (one T x T map each) the model computes."
    return sum(1 for name, _ in model.named_modules() if name.endswith(".query"))


def forward_flops(model, T: int) -> float:
    "FLOPs of one eval forward over T snippets: the per-snippet products + two T x T products per CSCM core attention."
    return sum(2.0 * M * K * N for M, K, N in _gemm_shapes(model, T)) + _n_core(model) * 4.0 * T * T * model.dim


def _best(fn, reps: int = 10) -> float:
    "Median seconds of `fn()` over `reps` calls, after 3 warm-up calls."
    for _ in range(3): fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return median(ts)


def products_alone(model, T: int, dtype) -> float:
    "Seconds the forward's matrix products take run alone, one by one at their shapes, in `dtype` (no other work)."
    t = 0.0
    for M, K, N in _gemm_shapes(model, T):
        a, w = torch.randn(1, M, K).to(dtype), torch.randn(N, K).to(dtype)
        t += _best(lambda: torch.nn.functional.linear(a, w))
    q, att = torch.randn(1, T, model.dim).to(dtype), torch.rand(1, T, T).to(dtype)
    return t + _n_core(model) * (_best(lambda: q @ q.transpose(1, 2)) + _best(lambda: att @ q))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    mach = machine()
    cfg = preset("casme2"); D = 1024
    T = n_snippets(a.frames, cfg.data.snippet_length, cfg.data.stride)
    feats = np.random.default_rng(0).normal(0, 0.3, size=(T, 2 * D)).astype(np.float32)   # (T, 2D)
    model = init_model(D, cfg, 0, torch.device("cpu")).eval()
    base = BaselineMCWES(D, cfg.model).eval(); base.load_state_dict(model.state_dict())

    def base_predict():
        with torch.no_grad(): out = base(torch.from_numpy(feats)[None])
        return {k: out[k][0].numpy() for k in OUTPUT_KEYS}
    runs = {"baseline": base_predict, "fp32": lambda: predict_video(model, feats, precision="fp32"),
            "bf16": lambda: predict_video(model, feats, precision="bf16")}
    times = {k: [] for k in [*runs, "spot only"]}
    props = {}
    for r in range(a.reps + 1):
        for k, fn in runs.items():
            t0 = time.perf_counter(); out = fn(); props[k] = spot_outputs(out, cfg, video="v"); dt = time.perf_counter() - t0
            if r: times[k].append(dt)
        t0 = time.perf_counter(); spot_outputs(out, cfg, video="v"); dt = time.perf_counter() - t0
        if r: times["spot only"].append(dt)
    med = {k: median(v) * 1000 for k, v in times.items()}
    flops = forward_flops(model, T)
    alone = {p: products_alone(model, T, dt) for p, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16))}  # seconds
    cfg0 = cfg.override("spot.truncation=0")                 # keep every scored proposal: a non-trivial comparison
    outs = {k: fn() for k, fn in runs.items()}
    props = {k: spot_outputs(o, cfg0, video="v") for k, o in outs.items()}
    same = lambda p, q: len(p) == len(q) and (p[["onset", "offset", "cls"]].to_numpy() == q[["onset", "offset", "cls"]].to_numpy()).all()
    lines = ["## Spotting speed", "",
             f"`OMP_NUM_THREADS=2 python bench/bench_spot.py --write` on a {mach}. One {a.frames}-frame CAS(ME)^2 video "
             f"= T = {T} snippets, D = {D}, default model (random weights), eval mode; each time covers the model "
             f"forward and `spot_outputs` (proposals, outer-inner scores, NMS). Median of {a.reps} interleaved "
             "repetitions on a shared machine.", "",
             "| path | ms per video | speed-up vs baseline | proposals equal fp32's (truncation 0) |", "|---|---|---|---|"]
    for k in runs:
        lines.append(f"| {k} | {med[k]:.0f} | {med['baseline'] / med[k]:.2f}x | {'yes' if same(props[k], props['fp32']) else 'NO'} ({len(props[k])} proposals) |")
    lines += [f"| proposals only (`spot_outputs` from the outputs) | {med['spot only']:.1f} | | |"]
    for p in ("fp32", "bf16"):
        lines.append(f"| {p} matrix products alone: the forward's {flops / 1e9:.1f} GFLOP, each product at its shape "
                     f"({flops / alone[p] / 1e9:.0f} GFLOP/s) | {alone[p] * 1e3:.0f} | {med['baseline'] / 1e3 / alone[p]:.2f}x | |")
    lines += ["",
              f"The forward pass is {flops / 1e9:.1f} GFLOP for this video ({flops / T / 1e6:.0f} MFLOP per snippet: the D x D maps "
              "of the two CSCMs, the attention generators, the 2D x 2D fusion and the kernel-3 2D x 2D classifier; the T x T core "
              "attention is a few percent). Every one of those products is needed: the only two linear maps in a row (the core "
              "output map W_f, then the kernel-3 aux conv W_a) would cost 6 D^2 per snippet folded together instead of 4 D^2. The last two rows "
              "time exactly those matrix products, each alone at its shape, in the same process: the whole forward takes about as long "
              f"as its products alone (the fp32 and bf16 paths run at {flops / med['fp32'] / 1e6:.0f} and {flops / med['bf16'] / 1e6:.0f} "
              "GFLOP/s), so the rest (softmax, padding, element-wise work, proposals) is small. **The 50 ms target is below what "
              f"this machine's matrix products allow** ({alone['bf16'] * 1e3:.0f} ms for the products alone even in bf16, where the proposals change), "
              f"so it is not met here; it needs ~{flops / 0.05 / 1e9:.0f} GFLOP/s (any GPU). The proposal stage itself "
              "(outer-inner scores, NMS) is far below the budget.", "",
              ("bf16 leaves the proposals unchanged here." if same(props["bf16"], props["fp32"]) else
               "bf16 changes the proposals (scores near the cut-offs move), so spotting should stay in fp32 "
               "(`predict_video(..., precision='fp32')`): the speed-up above is not usable as it stands."), ""]
    text = "\n".join(lines); print(text)
    if a.write: write_section("Spotting speed", text)


if __name__ == "__main__":
    main()
