"""Does training longer fit the training MEs? (36_learning §6, `learning/long_training_fit.jsonl`)

Trains one LOSO fold of a run's configuration for N iterations (the run's `train.iterations` replaced; same seed
and fold streams as `mcwes loso`), then reports the share of the annotated MEs and MaEs of its *training* videos,
and of the held-out MEs, in their video's attention top eighth, with the mean of the last 20 logged values of
the total loss and of L2_dc, and the AUC of the video-level ME probability (L2_dc's view) for the training
videos' has-ME labels (`pseudo_label_premise.me_label_auc`). Usage, from the repository root (one line of JSON per call, appended to OUT):

    OMP_NUM_THREADS=1 python nbs/learning/scripts/long_training_fit.py RUN TWIN SUBJECT ITERATIONS OUT
"""
import json, sys
import numpy as np
from mcwes.config import load_config
from mcwes.data import loso_folds, weak_labels
from mcwes.loso import load_dataset
from mcwes.train import TrainingSet, predict_video, train_model
from pseudo_label_premise import me_label_auc, top_eighth_hits

def top_eighth(model, data, videos, kind: str, data_cfg) -> float:
    "Share of the annotated intervals of `kind` in `videos` whose best snippet beats 7/8 of its video's attention."
    ann = data.annotations
    hits = [h for v in videos for h in top_eighth_hits(predict_video(model, data.features[v])["attn"],
                                                       ann[(ann.video == v) & (ann.kind == kind)], data_cfg)]
    return round(float(np.mean(hits)), 3)

def fit(run: str, twin: str, subject: str, iterations: int) -> dict:
    cfg = load_config(f"{run}/config.json").override(f"train.iterations={iterations}")
    inp = json.load(open(f"{run}/inputs.json"))
    data = load_dataset(inp["features"]["folder"], inp["annotations"]["file"], cfg)
    folds = loso_folds(data.videos); i = [f.subject for f in folds].index(subject); fold = folds[i]
    tr = data.videos.set_index("video").loc[fold.train].reset_index()
    res = train_model(TrainingSet(list(tr.video), [data.features[v] for v in tr.video], weak_labels(tr)), cfg,
                      seed=0, fold=i, progress=False)                       # the fold's streams, as mcwes loso
    h = res.history.tail(20)
    return dict(twin=twin, subject=subject, iterations=iterations,
                train_me_top8=top_eighth(res.model, data, fold.train, "ME", cfg.data), train_mae_top8=top_eighth(res.model, data, fold.train, "MaE", cfg.data),
                test_me_top8=top_eighth(res.model, data, fold.test, "ME", cfg.data),
                train_me_label_auc=round(me_label_auc(res.model, data, fold.train, cfg.loss.h), 3),
                loss_total=round(float(h.total.mean()), 3), loss_dc2=round(float(h.dc2.mean()), 3))

if __name__ == "__main__":
    run, twin, subject, iterations, out = sys.argv[1:6]
    row = fit(run, twin, subject, int(iterations))
    with open(out, "a") as f: f.write(json.dumps(row) + "\n")
    print(json.dumps(row))
