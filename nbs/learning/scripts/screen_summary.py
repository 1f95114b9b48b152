"""One row of `learning/me_screen.jsonl` from a finished `mcwes loso` run folder (36_learning §6).

Respots the run's saved held-out outputs (training seed 0) with today's default scoring (`spot.tcam=softmax`) plus
any `--set`-style overrides, restricted to the given subjects, and prints F1, F1-MaE, F1-ME, the ME counts, the share
of annotated MEs whose best snippet is in their video's attention top eighth, and the attention's median per-video AUC
(snippets inside any annotated interval against the rest) and 5-95% range. MEGC, IoU 0.5, fixed truncation, counts
pooled over the folds. Usage, from the repository root:

    python nbs/learning/scripts/screen_summary.py RUN [SUBJECT ...] [--set key=value ...]
"""
import json, sys
import numpy as np, pandas as pd
from mcwes.config import load_config
from mcwes.loso import _evaluate, load_dataset, load_fold_outputs
from mcwes.metrics import attention_stats
from mcwes.spotting import spot_outputs
from pseudo_label_premise import top_eighth_hits

SUBJECTS = ["s27", "s16", "s24", "s31", "s32", "s25", "s23", "s37"]     # the 8 folds holding 48 of the 57 MEs

def summary(run: str, subjects=None, overrides=()) -> dict:
    cfg = load_config(f"{run}/config.json").override("spot.tcam=softmax", *overrides)
    inp = json.load(open(f"{run}/inputs.json"))
    data = load_dataset(inp["features"]["folder"], inp["annotations"]["file"], cfg); ann = data.annotations
    outs = load_fold_outputs(run, 0); subject_of = dict(zip(data.videos.video, data.videos.subject))
    vids = [v for v in outs if subjects is None or subject_of[v] in subjects]
    m = _evaluate(pd.concat([spot_outputs(outs[v], cfg, v) for v in vids], ignore_index=True), data, cfg, vids)
    top8 = [h for v in vids for h in top_eighth_hits(outs[v]["attn"], ann[(ann.video == v) & (ann.kind == "ME")], cfg.data)]
    att = attention_stats({v: outs[v]["attn"] for v in vids}, ann, stride=cfg.data.stride, snippet_length=cfg.data.snippet_length)
    return dict(f1=round(m["f1"], 3), f1_mae=round(m["f1_mae"], 3), f1_me=round(m["f1_me"], 3), tp_me=int(m["tp_me"]),
                m_me=int(m["m_me"]), n_me=int(m["n_me"]), n=int(m["n"]), me_top8=round(float(np.mean(top8)), 3),
                attention=dict(auc=round(att["attn_auc"], 3), range=round(att["attn_range"], 3)))

if __name__ == "__main__":
    args = sys.argv[1:]; sets = args[args.index("--set") + 1:] if "--set" in args else []
    pos = args[:args.index("--set")] if "--set" in args else args
    print(json.dumps(summary(pos[0], pos[1:] or None, sets)))
