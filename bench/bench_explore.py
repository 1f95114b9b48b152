"""Time each explorer update (slider move -> figure data written), the target being < 200 ms per update.

    OMP_NUM_THREADS=1 python bench/bench_explore.py            # the cached sample run (trains it once if needed)
    OMP_NUM_THREADS=1 python bench/bench_explore.py --demo     # hand-made outputs (no training)

Prints one line per control (median and max over the moves) and a Markdown table for BENCHMARKS.md.
"""
import argparse
import platform
import time

import numpy as np
import torch

from mcwes.config import preset, sample_dir
from mcwes.explore import DurationExplorer, SpotExplorer, TopKExplorer, demo_outputs, load_sample_run


def _moves(widget, values, explorer, repeats):
    "Set `widget` to each value in turn, `repeats` times; return the refresh times (s)."
    out = []
    for _ in range(repeats):
        for v in values:
            widget.value = v
            out.append(explorer.last_update_s)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", action="store_true", help="hand-made outputs instead of the cached sample run")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.demo or not (sample_dir() / "features" / "meta.json").exists():
        outputs, gt = demo_outputs(np.random.default_rng(0), n_videos=30, T=400)
        cfg, source = preset("sample"), "hand-made outputs (30 videos x 400 snippets)"
    else:
        outputs, gt, cfg = load_sample_run(progress=True)
        source = "cached sample run on data_samples/"
    T = [len(o["attn"]) for o in outputs.values()]
    print(f"{source}: {len(outputs)} videos, T = {min(T)}..{max(T)} (median {int(np.median(T))}); "
          f"torch threads {torch.get_num_threads()}, {platform.processor() or platform.machine()}")
    tk, du, sp = TopKExplorer(outputs, gt, cfg), DurationExplorer(outputs, gt, cfg), SpotExplorer(outputs, gt, cfg)
    video = tk.video.value
    others = [v for v in tk.videos if v != video][:3] + [video]
    cases = [("h: h_ME slider", tk, tk.h_sliders[1], [5.0, 12.0, 9.0]),
             ("h: video", tk, tk.video, others),
             ("omega: band slider (+ counts over all videos)", du, du.omega, [(1.0, 1.6), (0.5, 3.0), (1.2, 1.4)]),
             ("omega: eta slider", du, du.eta, [3, 4, 2]),
             ("omega: video", du, du.video, others),
             ("spot: NMS IoU (re-spot all videos + metrics)", sp, sp.knobs["nms_iou"], [0.3, 1.0, 0.01]),
             ("spot: M' start", sp, sp.knobs["m_start"], [4, 12, 8]),
             ("spot: varsigma", sp, sp.knobs["varsigma"], [0.5, 0.0, 0.15]),
             ("spot: video", sp, sp.video, others),
             ("spot (all videos off): NMS IoU, shown video only", sp, sp.knobs["nms_iou"], [0.3, 1.0, 0.01]),
             ("spot (all videos off): M' start, shown video only", sp, sp.knobs["m_start"], [4, 12, 8])]
    rows = []
    for name, ex, w, values in cases:
        if name.startswith("spot (all videos off)"): sp.all_videos.value = False
        t = np.array(_moves(w, values, ex, args.repeats)) * 1000
        rows.append((name, float(np.median(t)), float(t.max())))
        print(f"{name:48s} median {np.median(t):7.1f} ms   max {t.max():7.1f} ms   {'OK' if t.max() < 200 else 'SLOW'}")
    print(f"\n| update ({source}) | median (ms) | max (ms) |\n|---|---|---|")
    for name, med, mx in rows: print(f"| {name} | {med:.1f} | {mx:.1f} |")


if __name__ == "__main__":
    main()
