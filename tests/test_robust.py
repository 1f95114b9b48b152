"Issue 14: bad or awkward input never crashes, never poisons a run and never yields a silent wrong number (CLI and API)."
import json, os, shutil, subprocess, sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mcwes import config as C
from mcwes.cli import main

TINY = ["--preset", "sample", "--data.sampled_length", "16", "--train.iterations", "2", "--train.batch_size", "4",
        "--train.n_pairs", "1", "--train.log_every", "1", "--model.attn_hidden", "8", "--device", "cpu", "--quiet"]
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    "3 subjects x 2 videos of synthetic features (D = 128) with videos.csv, and a finished LOSO run of them."
    from mcwes.synthetic import random_intervals, write_synthetic_dataset
    root = tmp_path_factory.mktemp("robust")
    iv, vids = random_intervals(np.random.default_rng(1), n_subjects=3, videos_per_subject=2, fps=30.0)
    write_synthetic_dataset(root, iv, vids, dim=128, dtype="float32", seed=0)
    feats, ann, run = root / "features", root / "annotations.csv", root / "run"
    assert main(["loso", "--features", str(feats), "--annotations", str(ann), "--out", str(run), "--no-checkpoints", *TINY]) == 0
    return feats, ann, run


def _run(capsys, *argv):
    rc = main([str(a) for a in argv]); cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _error(capsys, *argv, needles=()):
    "The command fails with exit status 2 and one message (no traceback) naming every needle."
    rc, out, err = _run(capsys, *argv)
    assert rc == 2, (rc, err)
    assert err.count("mcwes: error: ") == 1 and "Traceback" not in err, err
    for n in needles: assert str(n) in err, (n, err)
    return err


def _loso(feats, ann, out, *extra):
    return ["loso", "--features", feats, "--annotations", ann, "--out", out, "--no-report", "--no-checkpoints", *TINY, *extra]


def _copy_features(feats, dest):
    shutil.copytree(feats, dest); return dest


# ---------------------------------------------------------------- 1. errors keep their detail
def test_every_feature_problem_is_listed_with_its_video(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    f = _copy_features(feats, tmp_path / "f")
    vids = sorted(p.stem for p in f.glob("*.npy"))
    x = np.load(f / f"{vids[0]}.npy"); x[3, 5] = np.nan; np.save(f / f"{vids[0]}.npy", x)          # NaN
    np.save(f / f"{vids[1]}.npy", np.load(f / f"{vids[1]}.npy")[:, :100])                           # wrong width
    np.save(f / f"{vids[2]}.npy", np.load(f / f"{vids[2]}.npy").astype(np.int32))                  # int features
    (f / f"{vids[3]}.npy").write_bytes(b"\x93NUMPY garbage")                                         # corrupt
    np.save(f / f"{vids[4]}.npy", np.load(f / f"{vids[4]}.npy")[:-1])                               # T does not fit n_frames
    err = _error(capsys, *_loso(f, ann, tmp_path / "r"), needles=["5 problem(s)", *vids[:5], "NaN", "int32", "corrupt", "gives floor("])
    assert not (tmp_path / "r").exists()


def test_debug_shows_the_traceback(tmp_path, capsys):
    rc, _, err = _run(capsys, "--debug", "evaluate", "--proposals", tmp_path / "none.csv", "--annotations", tmp_path / "a.csv")
    assert rc == 2 and "Traceback" in err and err.rstrip().endswith("does not exist")


# ---------------------------------------------------------------- 2. errors that used to be tracebacks
def test_output_that_cannot_be_written_is_refused_before_any_work(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    (tmp_path / "file").write_text("x")
    blocked = tmp_path / "file" / "sub"                                   # a path under a file: unwritable, even for root
    ck = tmp_path / "m.pt"
    _error(capsys, *_loso(feats, ann, blocked), needles=[blocked, "is a file"])
    _error(capsys, "train", "--features", feats, "--annotations", ann, "--out", blocked / "m.pt", *TINY, needles=["is a file"])
    _error(capsys, "spot", "--checkpoint", ck, "--features", feats, "--out", blocked / "p.csv", "--device", "cpu", needles=["is a file"])
    _error(capsys, "evaluate", "--proposals", ann, "--annotations", ann, "--out", blocked / "m.json", needles=["is a file"])
    _error(capsys, "synth", "--out", blocked, needles=["is a file"])
    if not ROOT_USER:                                                     # permissions do not bind root
        ro = tmp_path / "ro"; ro.mkdir(); ro.chmod(0o555)
        try: _error(capsys, *_loso(feats, ann, ro / "run"), needles=["no write permission"])
        finally: ro.chmod(0o755)


def test_bad_device_and_foreign_checkpoint(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    _error(capsys, *_loso(feats, ann, tmp_path / "r"), "--device", "bogus", needles=["'bogus'"])
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    _error(capsys, "spot", "--checkpoint", tmp_path / "other.pt", "--features", feats, "--out", tmp_path / "p.csv",
           "--device", "cpu", needles=["other.pt", "not an mcwes checkpoint"])
    (tmp_path / "text.pt").write_text("hello")
    _error(capsys, "spot", "--checkpoint", tmp_path / "text.pt", "--features", feats, "--out", tmp_path / "p.csv",
           "--device", "cpu", needles=["text.pt"])
    assert not (tmp_path / "r").exists()


def test_truncated_xlsx_names_the_file(tiny, tmp_path, capsys):
    feats, _, _ = tiny
    (tmp_path / "gt.xlsx").write_bytes(b"PK\x03\x04 truncated")
    _error(capsys, *_loso(feats, tmp_path / "gt.xlsx", tmp_path / "r"), needles=["gt.xlsx", "spreadsheet"])


def test_corrupt_fold_outputs_do_not_hide_the_metrics(tiny, tmp_path, capsys):
    feats, ann, run = tiny
    r = tmp_path / "run"; shutil.copytree(run, r)
    bad = sorted(r.glob("seed_0/folds/*/outputs.npz"))[0]; bad.write_bytes(b"PK damaged")
    rc, out, err = _run(capsys, "loso", "--features", feats, "--annotations", ann, "--out", r, "--no-checkpoints", *TINY)
    assert rc == 2 and "F1-ME(0.5)" in out and "results:" in out, (out, err)       # the table came first
    assert "outputs.npz: corrupt fold outputs" in err and "Traceback" not in err


def test_train_out_checked_before_training(tiny, tmp_path, capsys, monkeypatch):
    feats, ann, _ = tiny
    import mcwes.train
    monkeypatch.setattr(mcwes.train, "train_model", lambda *a, **k: pytest.fail("trained before checking --out"))
    (tmp_path / "dir").mkdir()
    _error(capsys, "train", "--features", feats, "--annotations", ann, "--out", tmp_path / "dir", *TINY,
           needles=["is a folder; expected a file"])
    assert list((tmp_path / "dir").iterdir()) == []                      # no hidden temporary file


# ---------------------------------------------------------------- 3. the whole config is checked when built
@pytest.mark.parametrize("bad, field", [(["--spot.tcam", "prodcut"], "spot.tcam"), (["--model.enhance", "cscn"], "model.enhance"),
                                        (["--train.lr", "-1"], "train.lr"), (["--train.batch_size", "0"], "train.batch_size"),
                                        (["--train.iterations", "-5"], "train.iterations"), (["--train.iterations", "0"], "train.iterations"),
                                        (["--train.precision", "amp"], "train.precision"), (["--set", "eval.iou=5"], "eval.iou")])
def test_bad_config_refused_before_anything_is_written(tiny, tmp_path, capsys, bad, field):
    feats, ann, _ = tiny
    if bad == ["--train.precision", "amp"] and torch.cuda.is_available(): pytest.skip("amp is allowed on CUDA")
    _error(capsys, *_loso(feats, ann, tmp_path / "r"), *bad, needles=[field])
    assert not (tmp_path / "r").exists()                                  # no claimed run folder


def test_override_and_load_config_refuse_choices_and_ranges(tmp_path):
    cfg = C.preset("casme2")
    for bad in ("spot.tcam=prodcut", "train.lr=-1", "data.fps=0", "eval.iou=5", "data.sampled_length=-3", "train.iterations=0"):
        with pytest.raises(C.ConfigError, match=bad.split("=")[0].replace(".", r"\.")): cfg.override(bad)
    d = C.config_to_dict(cfg); d["spot"]["tcam"] = "prodcut"; d["data"]["fps"] = 0
    (tmp_path / "c.json").write_text(json.dumps(d))
    with pytest.raises(C.ConfigError, match="2 problems") as e: C.load_config(tmp_path / "c.json")
    assert "spot.tcam" in str(e.value) and "data.fps" in str(e.value) and "c.json" in str(e.value)


def test_refused_configuration_names_the_fields(tiny, capsys):
    feats, ann, run = tiny
    _error(capsys, *_loso(feats, ann, run), "--train.lr", "0.01", needles=["different configuration", "train.lr 0.001 -> 0.01"])


# ---------------------------------------------------------------- 4. resume checks the inputs
def test_resume_refuses_other_annotations_or_features(tiny, tmp_path, capsys):
    feats, ann, run = tiny
    prov = (run / "provenance.json").read_text()
    other = pd.read_csv(ann); other.loc[0, "offset"] += 3; other.to_csv(tmp_path / "other.csv", index=False)
    _error(capsys, *_loso(feats, tmp_path / "other.csv", run), needles=["other inputs: annotations"])
    f = _copy_features(feats, tmp_path / "f")
    meta = json.loads((f / "meta.json").read_text()); meta["extractor"] = "another extractor"
    (f / "meta.json").write_text(json.dumps(meta))
    _error(capsys, *_loso(f, ann, run), needles=["feature metadata (extractor"])
    assert (run / "provenance.json").read_text() == prov                  # never rewritten to describe other inputs


def test_resume_with_the_same_inputs_from_another_path_is_accepted(tiny, tmp_path, capsys):
    feats, ann, run = tiny
    r = tmp_path / "run"; shutil.copytree(run, r); shutil.copy(ann, tmp_path / "same.csv")
    stamps = {p: p.stat().st_mtime_ns for p in r.glob("seed_0/folds/*/done.json")}
    rc, out, err = _run(capsys, *_loso(_copy_features(feats, tmp_path / "f"), tmp_path / "same.csv", r))
    assert rc == 0, err
    assert {p: p.stat().st_mtime_ns for p in r.glob("seed_0/folds/*/done.json")} == stamps   # nothing retrained
    prov = json.loads((r / "provenance.json").read_text())
    assert prov["annotations"]["file"] == str(ann.resolve()) and len(prov["sessions"]) == 2


# ---------------------------------------------------------------- 5. evaluate
def _gt(tmp_path, rows):
    p = tmp_path / "gt.csv"
    pd.DataFrame(rows, columns=["subject", "video", "onset", "apex", "offset", "kind"]).to_csv(p, index=False); return p


def _props(tmp_path, rows, name="p.csv"):
    p = tmp_path / name; pd.DataFrame(rows, columns=["video", "onset", "offset", "score"]).to_csv(p, index=False); return p


def test_evaluate_counts_exact_duplicates_once(tmp_path, capsys):
    gt = _gt(tmp_path, [("s1", "v1", 0, 10, 29, "MaE"), ("s1", "v1", 0, 10, 29, "MaE"), ("s1", "v1", 100, 120, 140, "MaE"),
                        ("s1", "v1", 100, 101, 104, "ME")])                 # same onset, distinct rows: both kept
    rc, out, err = _run(capsys, "evaluate", "--proposals", _props(tmp_path, [("v1", 0, 29, 1.0), ("v1", 100, 140, 0.9)]),
                        "--annotations", gt, "--out", tmp_path / "m.json")
    m = json.loads((tmp_path / "m.json").read_text())
    assert rc == 0 and (m["m"], m["tp"], m["precision"], m["duplicates_dropped"]) == (3, 2, 1.0, 1)
    assert "mcwes: warning: ground_truth: 1 exact duplicate row(s)" in err


def test_evaluate_scores_nan_and_inf(tmp_path, capsys):
    gt = _gt(tmp_path, [("s1", "v1", 0, 10, 29, "MaE")])
    _run(capsys, "evaluate", "--proposals", _props(tmp_path, [("v1", 0, 29, "inf"), ("v1", 300, 340, "-inf")]), "--annotations", gt,
         "--out", tmp_path / "m.json")
    m = json.loads((tmp_path / "m.json").read_text())
    assert (m["tp"], m["n"], m["f1_swept"]) == (1, 2, 1.0)
    _error(capsys, "evaluate", "--proposals", _props(tmp_path, [("v1", 0, 29, "nan")], "n.csv"), "--annotations", gt,
           needles=["row 0 (video 'v1') has score"])


def test_evaluate_warns_on_unknown_videos_and_refuses_when_none_is_known(tmp_path, capsys):
    gt = _gt(tmp_path, [("s15", "15_0401girlcrashing", 0, 10, 29, "MaE")])
    rc, _, err = _run(capsys, "evaluate", "--proposals", _props(tmp_path, [("15_0401girlcrashing", 0, 29, 1), ("casme_15_0401", 0, 29, 1)]),
                      "--annotations", gt)
    assert rc == 0 and "mcwes: warning: proposals: 1 of 2 proposal video(s)" in err and "casme_15_0401" in err
    _error(capsys, "evaluate", "--proposals", _props(tmp_path, [("casme_15_0401", 0, 29, 1)], "q.csv"), "--annotations", gt,
           needles=["none of the 1 proposal video(s) is a known video", "casme_15_0401"])


def _samm_xlsx(path):
    head = ["Subject", "Filename", "Inducement Code", "Onset", "Apex", "Offset", "Duration", "Type", "Action Units", "Notes"]
    rows = [["006", f"006_1_{i}", 1, 1000 * i + 1, 1000 * i + 30, 1000 * i + 61, 61, "Micro - 1/2", "4", None] for i in range(1, 6)]
    rows += [["006", f"006_1_{i}", 1, 1000 * i + 1, 1000 * i + 90, 1000 * i + 301, 301, "Macro", "4", None] for i in range(6, 11)]
    pd.DataFrame([head] + rows).to_excel(path, header=False, index=False, sheet_name="Sheet1")
    return path


def test_samm_lv_scored_at_30_fps_is_warned(tmp_path, capsys):
    pytest.importorskip("openpyxl")
    ann = _samm_xlsx(tmp_path / "samm.xlsx")
    from mcwes.data import read_annotations
    import warnings
    with warnings.catch_warnings(): warnings.simplefilter("ignore"); gt = read_annotations(ann)
    p = _props(tmp_path, gt[["video", "onset", "offset"]].assign(score=1.0).values.tolist())
    rc, out, err = _run(capsys, "evaluate", "--proposals", p, "--annotations", ann, "--out", tmp_path / "m30.json")
    assert rc == 0 and "use --preset samm_lv or --fps 200" in err and json.loads((tmp_path / "m30.json").read_text())["f1"] < 1
    for extra in (["--preset", "samm_lv"], ["--fps", "200"]):
        rc, out, err = _run(capsys, "evaluate", "--proposals", p, "--annotations", ann, "--out", tmp_path / "m.json", *extra)
        assert rc == 0 and "fps" not in err and json.loads((tmp_path / "m.json").read_text())["f1"] == 1.0


def test_evaluate_refuses_negative_frames_and_bad_iou(tmp_path, capsys):
    gt = _gt(tmp_path, [("s1", "v1", 0, 10, 29, "MaE")])
    _error(capsys, "evaluate", "--proposals", _props(tmp_path, [("v1", -5, 29, 1)]), "--annotations", gt, needles=["onset=-5"])
    ok = _props(tmp_path, [("v1", 0, 29, 1)], "ok.csv")
    _error(capsys, "evaluate", "--proposals", ok, "--annotations", gt, "--eval.iou", "5", needles=["eval.iou"])
    _error(capsys, "evaluate", "--proposals", ok, "--annotations", gt, "--eval.iou", "0", needles=["eval.iou"])
    _error(capsys, "evaluate", "--proposals", ok, "--annotations", _gt(tmp_path, [("s1", "v1", -3, 0, 29, "MaE")]), needles=["negative"])


# ---------------------------------------------------------------- 5. the other weak cases
def test_empty_annotation_file_is_refused(tiny, tmp_path, capsys):
    feats, _, _ = tiny
    (tmp_path / "empty.csv").write_text("subject,video,onset,apex,offset,kind\n")
    _error(capsys, *_loso(feats, tmp_path / "empty.csv", tmp_path / "r"), needles=["empty.csv", "no annotated interval"])
    _error(capsys, "evaluate", "--proposals", tmp_path / "empty.csv", "--annotations", tmp_path / "empty.csv", needles=["no annotated interval"])
    assert not (tmp_path / "r").exists()


def test_zero_snippet_video_is_named_before_training(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    f = _copy_features(feats, tmp_path / "f")
    vt = pd.read_csv(f / "videos.csv"); C_ = json.loads((f / "meta.json").read_text())
    np.save(f / "09_0101short.npy", np.zeros((0, 2 * C_["dim"]), np.float32))
    pd.concat([vt, pd.DataFrame([{"video": "09_0101short", "subject": "s09", "n_frames": 6}])]).to_csv(f / "videos.csv", index=False)
    _error(capsys, *_loso(f, ann, tmp_path / "r"), needles=["09_0101short", "0 snippets"])


def test_without_videos_csv_unannotated_videos_are_dropped_with_a_warning(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    f = _copy_features(feats, tmp_path / "f"); (f / "videos.csv").unlink()
    from mcwes.loso import load_dataset, RunWarning
    x = np.load(sorted(f.glob("*.npy"))[0]); np.save(f / "09_0101extra.npy", x)
    with pytest.warns(RunWarning, match="1 of 7 feature file"):
        d = load_dataset(f, ann, C.preset("sample"))
    assert "09_0101extra" not in set(d.videos["video"])


def test_folder_and_file_mixed_up(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    _error(capsys, *_loso(ann, ann, tmp_path / "r"), needles=[f"feature folder {ann} is a file; expected a folder"])
    _error(capsys, *_loso(feats, feats, tmp_path / "r"), needles=[f"annotation file {feats} is a folder; expected a file"])
    _error(capsys, "evaluate", "--proposals", feats, "--annotations", ann, needles=["is a folder; expected a file"])


def test_decode_and_parse_errors_name_the_file(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    (tmp_path / "latin.csv").write_bytes("subject,video,onset,apex,offset,kind\ns1,v\xe9,1,2,3,ME\n".encode("latin-1"))
    _error(capsys, *_loso(feats, tmp_path / "latin.csv", tmp_path / "r"), needles=["latin.csv", "UTF-8"])
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 4)
    _error(capsys, "evaluate", "--proposals", tmp_path / "bin.csv", "--annotations", ann, needles=["bin.csv"])
    f = _copy_features(feats, tmp_path / "f"); (f / "meta.json").write_text("{not json")
    _error(capsys, *_loso(f, ann, tmp_path / "r"), needles=["meta.json"])
    g = _copy_features(feats, tmp_path / "g"); (g / "videos.csv").write_text('video,subject,n_frames\n"a,s1,5\n')
    _error(capsys, *_loso(g, ann, tmp_path / "r"), needles=["videos.csv"])


def test_missing_apex_column_is_named_and_spaces_after_commas_are_fine(tiny, tmp_path, capsys):
    feats, ann, _ = tiny
    df = pd.read_csv(ann)
    df.drop(columns="apex").to_csv(tmp_path / "noapex.csv", index=False)
    _error(capsys, *_loso(feats, tmp_path / "noapex.csv", tmp_path / "r"), needles=["noapex.csv", "lacks column(s) ['apex']"])
    (tmp_path / "spaced.csv").write_text("\n".join(", ".join(map(str, r)) for r in [df.columns.tolist()] + df.fillna("").values.tolist()) + "\n")
    p = _props(tmp_path, df[["video", "onset", "offset"]].assign(score=1.0).values.tolist())
    rc, out, err = _run(capsys, "evaluate", "--proposals", p, "--annotations", tmp_path / "spaced.csv", "--out", tmp_path / "m.json")
    assert rc == 0, err
    assert json.loads((tmp_path / "m.json").read_text())["f1"] == 1.0


def test_ctrl_c_in_train_says_it_does_not_resume(tiny, tmp_path, capsys, monkeypatch):
    feats, ann, _ = tiny
    import mcwes.train
    def interrupted(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(mcwes.train, "train_model", interrupted)
    rc, _, err = _run(capsys, "train", "--features", feats, "--annotations", ann, "--out", tmp_path / "m.pt", *TINY)
    assert rc == 130 and "train does not resume" in err and "rerun the same command to resume" not in err
    assert not (tmp_path / "m.pt").exists()


# ---------------------------------------------------------------- 6. files readable by colleagues, strict JSON
def test_results_are_written_with_the_umask_and_json_is_strict(tiny, tmp_path, capsys):
    feats, ann, run = tiny
    umask = os.umask(0o022); os.umask(umask)                            # the process's umask (0644 files under the usual 022)
    assert main(["synth", "--out", str(tmp_path / "s"), "--seed", "1"]) == 0
    (tmp_path / "gt.csv").write_text("subject,video,onset,apex,offset,kind\ns1,v1,0,5,29,MaE\n")
    (tmp_path / "p.csv").write_text("video,onset,offset,score\n")        # no proposals: no swept threshold
    assert main(["evaluate", "--proposals", str(tmp_path / "p.csv"), "--annotations", str(tmp_path / "gt.csv"),
                 "--out", str(tmp_path / "m.json")]) == 0
    files = [p for p in [*run.rglob("*"), *(tmp_path / "s").rglob("*"), tmp_path / "m.json"] if p.is_file() and p.name != ".lock"]
    modes = {str(p): oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes               # not mkstemp's 0600
    reject = lambda c: pytest.fail(f"bare {c} in JSON")
    assert json.loads((tmp_path / "m.json").read_text(), parse_constant=reject)["swept_threshold"] is None
    for p in run.rglob("*.json"): json.loads(p.read_text(), parse_constant=reject)


# ---------------------------------------------------------------- 7. help a newcomer can read
def test_help_shows_run_options_main_fields_with_preset_values(capsys):
    from dataclasses import fields
    from mcwes.cli import MAIN_FIELDS, TRAIN_SECTIONS, build_parser
    with pytest.raises(SystemExit): main(["loso", "--preset", "samm_lv", "--help"])
    h = capsys.readouterr().out
    for opt in ("--features", "--annotations", "--out", "--seeds", "--subjects", "--fold-batched", "mcwes config --preset NAME"):
        assert opt in h, opt
    for key in MAIN_FIELDS: assert f"--{key}" in h, key
    assert "samm_lv: 0.0008" in h and "samm_lv: 380" in h                         # the preset's values, not the defaults
    assert "--extract." not in h
    p = build_parser(["loso"])                                                     # every field is still an option
    for sec in TRAIN_SECTIONS:
        for f in fields(C._SECTIONS[sec]): assert f"--{sec}.{f.name}" in p._subparsers._group_actions[0].choices["loso"]._option_string_actions


def test_config_command_prints_every_field_with_the_preset_value(capsys):
    from dataclasses import fields
    assert main(["config", "--preset", "samm_lv"]) == 0
    out, cfg = capsys.readouterr().out, C.preset("samm_lv")
    docs = {sec: C.field_docs(cls) for sec, cls in C._SECTIONS.items()}
    for sec, cls in C._SECTIONS.items():
        for f in fields(cls):
            line = f"  --{sec}.{f.name} {C._show(getattr(getattr(cfg, sec), f.name))}\n      {docs[sec][f.name]}"
            assert line in out, line
    assert main(["config", "--preset", "sample", "--json"]) == 0
    assert C.config_from_dict(json.loads(capsys.readouterr().out)) == C.preset("sample")


def test_readme_own_data_command_parses_in_bash():
    from mcwes.config import repo_root
    text = (repo_root() / "README.md").read_text()
    block = text.split("## Using your own data", 1)[1].split("```", 2)[1]
    for line in [l for l in block.splitlines() if l.startswith("mcwes ")]:
        r = subprocess.run(["bash", "-n", "-c", line], capture_output=True, text=True)
        assert r.returncode == 0, (line, r.stderr)
        args = subprocess.run(["bash", "-c", f"printf '%s\\n' {line[len('mcwes '):]}"], capture_output=True, text=True).stdout.split("\n")
        if "--annotations" in args: assert args[args.index("--annotations") + 1] == "CAS(ME)^2code_final.xlsx"
