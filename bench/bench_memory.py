"""Peak memory (RSS) of training and of full-length test forwards on CPU, each in a fresh process.

  train      one optimisation step at CAS(ME)^2 shapes (B = 10, T = 250, D = 1024): baseline fp32, mcwes fp32, mcwes bf16
  forward    eval + no_grad forward of one video of T snippets (T = 2000: a long CAS(ME)^2 video; T = 20000),
             with and without ModelConfig.core_chunk
  chunking   the largest difference between core_chunk = 0 and core_chunk = 512 outputs at T = 3000

    python bench/bench_memory.py [--write] [--big 20000]   # --write updates "## Memory" in BENCHMARKS.md
"""
from __future__ import annotations
import argparse, json, subprocess, sys, time
from pathlib import Path

import torch
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmd import machine, rss_mib, write_section


def child(kind: str, arg: dict) -> dict:
    from mcwes.config import ModelConfig, preset
    from mcwes.model import MCWES
    from mcwes.train import init_model, train_step
    D = 1024
    if kind == "train":
        from eager_reference import BaselineMCWES, baseline_step
        cfg = preset("casme2").override(f"train.precision={arg['precision']}")
        B, T = cfg.train.batch_size, cfg.data.sampled_length
        x = torch.randn(B, T, 2 * D, generator=torch.Generator().manual_seed(0))
        y = torch.tensor([[1., 0.], [1., 1.], [0., 1.], [1., 0.], [0., 0.]]).repeat(2, 1); pairs = [(0, 1), (1, 3), (2, 4)]
        m = init_model(D, cfg, 0, torch.device("cpu")).train()
        if arg["which"] == "baseline":
            b = BaselineMCWES(D, cfg.model).train(); b.load_state_dict(m.state_dict()); del m
            opt = torch.optim.Adam(b.parameters(), lr=cfg.train.lr); before = rss_mib()
            t0 = time.perf_counter(); baseline_step(b, opt, x, y, pairs, cfg.loss)
        else:
            opt = torch.optim.Adam(m.parameters(), lr=cfg.train.lr, fused=True); before = rss_mib()
            t0 = time.perf_counter(); train_step(m, opt, x, y, pairs, cfg, torch.device("cpu"))
    else:
        m = MCWES(D, ModelConfig(core_chunk=arg["chunk"]), generator=torch.Generator().manual_seed(0)).eval()
        x = torch.randn(1, arg["T"], 2 * D, generator=torch.Generator().manual_seed(1)); before = rss_mib()
        from mcwes.train import autocast
        t0 = time.perf_counter()
        with torch.no_grad(), autocast(torch.device("cpu"), arg["precision"]): m(x)
    return {**arg, "kind": kind, "seconds": time.perf_counter() - t0, "before_mib": before, "peak_mib": rss_mib("VmHWM")}


def run_child(kind: str, **arg) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", kind, json.dumps(arg)], check=True, capture_output=True, text=True)
    out = json.loads(res.stdout.strip().splitlines()[-1]); print(out, flush=True)
    return out


def chunk_difference(T: int = 3000, chunk: int = 512) -> float:
    from mcwes.config import ModelConfig
    from mcwes.model import MCWES
    x = torch.randn(1, T, 2048, generator=torch.Generator().manual_seed(2))
    outs = []
    for c in (0, chunk):
        m = MCWES(1024, ModelConfig(core_chunk=c), generator=torch.Generator().manual_seed(0)).eval()
        with torch.no_grad(): outs.append(m(x))
    return max(float((outs[0][k] - outs[1][k]).abs().max()) for k in ("attn", "cas_supp"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--big", type=int, default=20000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: print(json.dumps(child(a.child[0], json.loads(a.child[1])))); return
    mach = machine()
    train = [run_child("train", which=w, precision=p) for w, p in (("baseline", "fp32"), ("mcwes", "fp32"), ("mcwes", "bf16"))]
    fwd = [run_child("forward", T=T, chunk=c, precision=p) for T, c, p in
           ((2000, 0, "fp32"), (2000, 0, "bf16"), (a.big, 2048, "fp32"), (a.big, 2048, "bf16"), (a.big, 0, "bf16"))]
    diff = chunk_difference()
    gib = lambda r: r["peak_mib"] / 1024
    lines = ["## Memory", "", f"`OMP_NUM_THREADS=2 python bench/bench_memory.py --write` on a {mach}. Peak resident memory "
             "(`VmHWM`) of the whole process (Python, torch, parameters, the step), each case in a fresh process.", "",
             "| case | peak RSS (GiB) | ratio to baseline | seconds (one run) |", "|---|---|---|---|"]
    for r in train:
        lines.append(f"| train step, B = 10, T = 250, D = 1024, {r['which']} {r['precision']} | {gib(r):.2f} | "
                     f"{r['peak_mib'] / train[0]['peak_mib']:.2f} | {r['seconds']:.1f} |")
    for r in fwd:
        lines.append(f"| test forward, T = {r['T']}, core_chunk = {r['chunk']}, {r['precision']} | {gib(r):.2f} | "
                     f"{'under 8 GiB' if gib(r) < 8 else 'OVER 8 GiB'} | {r['seconds']:.1f} |")
    lines += ["", f"Chunking changes nothing but memory: at T = 3000 the outputs with core_chunk = 512 differ from the "
              f"unchunked ones by at most {diff:.1e} (float32 rounding). The T x T core attention is 4 T^2 bytes per stream "
              f"({4 * a.big ** 2 / 2 ** 30:.1f} GiB at T = {a.big}, twice that while softmax runs); core_chunk bounds it by "
              "4 T core_chunk bytes.", ""]
    text = "\n".join(lines); print(text)
    if a.write: write_section("Memory", text)


if __name__ == "__main__":
    main()
