"""Would pseudo-labels from the model's own detections teach it the MEs? (36_learning §6, `learning/pseudo_label_premise.json`)

Pseudo-label refinement retrains a model on the confident detections of its first training, in its *training*
videos, where the video-level labels say which kinds are present. It can only help if those detections are
mostly right. This measures them on the training videos of the 8 ME-rich folds of a 22-fold run saved with
checkpoints (the development twins' default runs): the share of annotated MEs and MaEs in their video's attention
top eighth (and, for the MEs, under the flow-stream norm of the model input), and the share of each video's
best-scored ME-kind (MaE-kind) proposals, in videos labelled with an ME (a MaE), that overlap an annotated interval
of that kind, or of any kind. A video counts once per fold that trains on it. Beside them, whether the model
has learned its training videos' ME *labels*: the AUC of its video-level ME probability (the softmax of the top-K
pooled attention-weighted T-CAM, as L2_dc sees it) for "the video holds an ME", per fold on its training videos
(median over the folds) and on the held-out videos of the 8 folds together. Usage, from the repository root:

    python nbs/learning/scripts/pseudo_label_premise.py nbs/learning/pseudo_label_premise.json dev1=RUN1 dev2=RUN2

The committed record names each run by how it was made instead of its path; its `L256 h x2` rows come from the
8-fold screening runs of `--set data.sampled_length=256 loss.h=14,18,10`, saved with checkpoints.
"""
import json, sys
import numpy as np
from mcwes.config import load_config
from mcwes.loso import load_dataset
from mcwes.metrics import interval_iou, ranking_auc
from mcwes.spotting import spot_outputs, video_probabilities
from mcwes.synthetic import interval_mask
from mcwes.train import load_checkpoint, predict_video

SUBJECTS = ["s27", "s16", "s24", "s31", "s32", "s25", "s23", "s37"]     # the 8 folds holding 48 of the 57 MEs
PSEUDO = (("ME top-1", "ME", 1), ("ME top-2", "ME", 2), ("MaE top-1", "MaE", 1))

def top_eighth_hits(score: np.ndarray, intervals, data_cfg) -> list[bool]:
    "Per row of `intervals` (one video's): whether its best snippet (`interval_mask`'s) beats 7/8 of the video's `score` (T,)."
    mask = lambda i: interval_mask(intervals.iloc[[i]], len(score), data_cfg.stride, data_cfg.snippet_length)   # (T,)
    return [bool((score < score[mask(i)].max()).mean() >= 7 / 8) for i in range(len(intervals))]

def me_label_auc(model, data, videos, h) -> float:
    "AUC of the video-level ME probability (L2_dc's view) for the videos' has-ME labels."
    has = [(data.annotations[data.annotations.video == v].kind == "ME").any() for v in videos]
    p = [video_probabilities(predict_video(model, data.features[v])["cas_supp"], h)[1] for v in videos]
    return ranking_auc(p, has)

def premise(run: str, twin: str, seed: int = 0) -> dict:
    cfg = load_config(f"{run}/config.json").override("spot.tcam=softmax")   # today's default scoring (the runs predate it)
    inp = json.load(open(f"{run}/inputs.json"))
    data = load_dataset(inp["features"]["folder"], inp["annotations"]["file"], cfg); ann = data.annotations
    D = data.features[data.videos.video[0]].shape[1] // len(cfg.model.streams)
    top = {"me_attention": [], "me_flow_norm": [], "mae_attention": []}
    pl = {k: [0, 0, 0] for k, _, _ in PSEUDO}                          # proposals, on their kind, on any expression
    train_auc, held_p, held_has = [], [], []
    for s in SUBJECTS:
        model, _, info = load_checkpoint(f"{run}/seed_{seed}/folds/{s}/checkpoint.pt")
        train_auc.append(me_label_auc(model, data, info["train_videos"], cfg.loss.h))
        for v in data.videos[data.videos.subject == s].video:
            held_p.append(video_probabilities(predict_video(model, data.features[v])["cas_supp"], cfg.loss.h)[1])
            held_has.append((ann[ann.video == v].kind == "ME").any())
        for v in info["train_videos"]:
            gv, x = ann[ann.video == v], data.features[v]
            o = predict_video(model, x); a = o["attn"]
            flow = np.linalg.norm(x[:, -D:], axis=1)                    # (T,) flow half of the normalised input
            me, mae = gv[gv.kind == "ME"], gv[gv.kind == "MaE"]
            top["me_attention"] += top_eighth_hits(a, me, cfg.data); top["me_flow_norm"] += top_eighth_hits(flow, me, cfg.data)
            top["mae_attention"] += top_eighth_hits(a, mae, cfg.data)
            p = spot_outputs(o, cfg, v).sort_values("score", ascending=False, kind="stable")
            G = gv[["onset", "offset"]].to_numpy()
            for key, kind, n in PSEUDO:
                gk = gv[gv.kind == kind][["onset", "offset"]].to_numpy(); P = p[p.kind == kind][["onset", "offset"]].to_numpy()[:n]
                if not len(gk) or not len(P): continue                  # only where the video label holds the kind
                pl[key][0] += len(P); pl[key][1] += int((interval_iou(P, gk) > 0).any(1).sum())
                pl[key][2] += int((interval_iou(P, G) > 0).any(1).sum())
    out = {"twin": twin, "run": run, "spot.tcam": cfg.spot.tcam, "train_me": len(top["me_attention"]), "train_mae": len(top["mae_attention"])}
    out |= {f"{k}_top8": round(float(np.mean(v)), 3) for k, v in top.items()}
    out |= {"ME label AUC, training videos": round(float(np.median(train_auc)), 3),
            "ME label AUC, held-out videos": round(ranking_auc(held_p, held_has), 3)}
    for key, (n, hk, ha) in pl.items():
        out |= {f"{key}: proposals": n, f"{key}: on its kind": round(hk / n, 3), f"{key}: on any expression": round(ha / n, 3)}
    return out

if __name__ == "__main__":
    rows = [premise(run, twin) for twin, run in (a.split("=", 1) for a in sys.argv[2:])]
    open(sys.argv[1], "w").write(json.dumps(rows, indent=1) + "\n"); print(json.dumps(rows, indent=1))
