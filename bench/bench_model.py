"""Benchmark of mcwes.model.MCWES on CPU (not a timed test).

1. forward + backward of one CAS(ME)^2 training batch: B = 10, T = 250 (the sampled length), D = 1024;
2. peak resident memory (RSS) of a forward pass over one full-length test video (T = 2000) in
   eval mode under no_grad, each measured in a fresh process (with and without core_chunk).

    python bench/bench_model.py            # print the results
    python bench/bench_model.py --write    # also replace the "Model forward/backward" section of BENCHMARKS.md
"""
from __future__ import annotations
import argparse, json, os, platform, re, statistics, subprocess, sys, time
from pathlib import Path

import torch

try: import mcwes  # noqa: F401
except ModuleNotFoundError: sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from mcwes.config import ModelConfig, atomic_write_text, repo_root
from mcwes.model import MCWES, count_parameters

MACHINE = "2-core x86-64 CPU (AVX512-BF16), torch 2.13 CPU"
SECTION = "## Model forward/backward"


def rss_mib(field: str = "VmRSS") -> float:
    "Resident set size of this process in MiB from /proc (VmRSS: now; VmHWM: peak of this process image)."
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"): return int(line.split()[1]) / 1024
    return float("nan")


def bench_train_step(B: int, T: int, D: int, reps: int) -> dict:
    "Median / min seconds of forward + backward of one batch (train mode, dropout on)."
    model = MCWES(D, generator=torch.Generator().manual_seed(0)).train()
    x = torch.randn(B, T, 2 * D, generator=torch.Generator().manual_seed(1))
    times = []
    for i in range(reps + 1):                                        # the first pass is a warm-up
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        out = model(x)
        loss = sum(v.float().mean() for v in out.values())
        loss.backward()
        if i: times.append(time.perf_counter() - t0)
    return {"B": B, "T": T, "D": D, "params": count_parameters(model), "reps": reps,
            "median_s": statistics.median(times), "min_s": min(times)}


def child_rss(T: int, D: int, core_chunk: int) -> dict:
    "Run in a fresh process: build the model, then one eval/no_grad forward pass over T snippets."
    model = MCWES(D, ModelConfig(core_chunk=core_chunk), generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(1, T, 2 * D, generator=torch.Generator().manual_seed(1))
    before = rss_mib()
    t0 = time.perf_counter()
    with torch.no_grad(): model(x)
    sec = time.perf_counter() - t0
    peak = rss_mib("VmHWM")  # not ru_maxrss: Linux carries the parent's high-water mark across fork/exec
    return {"T": T, "core_chunk": core_chunk, "rss_before_mib": before, "peak_rss_mib": peak, "forward_s": sec}


def measure_rss(T: int, D: int, core_chunk: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(T), str(D), str(core_chunk)]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def section(step: dict, rss: list[dict]) -> str:
    lines = [SECTION, "",
             f"`python bench/bench_model.py` on a {MACHINE}, {torch.get_num_threads()} torch threads, "
             f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start "
             f"(other jobs share the 2 cores: times are upper bounds); MCWES with the default ModelConfig (CSCM, two streams), "
             f"{step['params'] / 1e6:.1f} M parameters.", "",
             "| measurement | result |", "|---|---|",
             f"| forward + backward, B = {step['B']}, T = {step['T']}, D = {step['D']} (train mode) | "
             f"{step['median_s']:.2f} s median of {step['reps']} (min {step['min_s']:.2f} s) |"]
    for r in rss:
        lines.append(f"| forward (first pass), eval + no_grad, one video T = {r['T']}, core_chunk = {r['core_chunk']} | "
                     f"{r['forward_s']:.2f} s; peak RSS {r['peak_rss_mib']:.0f} MiB "
                     f"(model built: {r['rss_before_mib']:.0f} MiB) |")
    lines += ["", "Peak RSS is the whole process (Python, torch, the model's parameters, the pass), measured in "
              "a fresh process (`VmHWM`). At T = 2000 the T x T core attention is 16 MB, so `core_chunk` saves "
              "little and costs time (a Python loop over row chunks); it is meant for ~20,000-snippet videos "
              "(1.6 GB per T x T map).", ""]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    "Replace (or append) our section of BENCHMARKS.md, leaving the other sections untouched."
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    pat = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pat.sub(lambda _: text + "\n", old) if pat.search(old) else old.rstrip("\n") + "\n\n" + text
    atomic_write_text(path, new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="update the section of BENCHMARKS.md")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--child", nargs=3, type=int, metavar=("T", "D", "CHUNK"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child_rss(*a.child))); return
    step = bench_train_step(10, 250, 1024, a.reps)
    rss = [measure_rss(2000, 1024, c) for c in (0, 256)]
    text = section(step, rss)
    print(text)
    if a.write: write_section(text, repo_root() / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
