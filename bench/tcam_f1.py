"""Re-spot saved LOSO runs with each `spot.tcam` and print F1, P, R, TP / N and mAP (no training).

    python bench/tcam_f1.py RUN [RUN ...]      # RUN: a `mcwes loso` output folder (seed_*/folds/*/outputs.npz)
"""
from __future__ import annotations
import json, sys
from pathlib import Path

import pandas as pd
sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchmd  # noqa: F401  (makes `mcwes` importable from a checkout)
from mcwes.config import load_config
from mcwes.loso import annotations_for, load_fold_outputs
from mcwes.metrics import evaluate
from mcwes.spotting import spot_outputs


def main(runs: list[str]) -> None:
    if not runs: sys.exit(__doc__)
    print("| run | tcam | F1 | P | R | TP / N | mAP |\n|---|---|---|---|---|---|---|")
    for run in map(Path, runs):
        cfg = load_config(run / "config.json")
        seed = int(sorted(run.glob("seed_*"))[0].name.split("_")[1])
        outs = load_fold_outputs(run, seed)
        gt = annotations_for(json.loads((run / "provenance.json").read_text())["annotations"]["file"], cfg)
        for t in ("product", "supp", "raw"):
            c = cfg.override(f"spot.tcam={t}")
            P = pd.concat([spot_outputs(o, c, v) for v, o in outs.items()], ignore_index=True)
            m = evaluate(P, gt, cfg.data.fps, protocol=cfg.eval.protocol, iou=cfg.eval.iou, videos=list(outs))
            print(f"| {run.name} | {t} | {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['tp']} / {m['n']} | {m['map']:.3f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
