"""Twins of the real datasets (mcwes.twins, `mcwes synth --like`): timing from the real files read at run time,
realism by the measured statistic, SAMM-LV's frame rate and snippet length. Needs ../shared; skipped without it."""
import json

import numpy as np
import pandas as pd
import pytest

from mcwes.cli import main
from mcwes.config import shared_dir
from mcwes.features import FeatureStore
from mcwes.twins import REALISM_TARGETS, is_realistic, realism_table, twin_timing

SHARED = shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="needs ../shared (the real annotation files)")


@needs_shared
def test_casme2_timing_is_the_real_label_mix():
    iv, vt = twin_timing("casme2")
    assert (vt.subject.nunique(), len(vt)) == (22, 97)                       # issue 12: 22 subjects, 97 videos
    assert ((iv.kind == "MaE").sum(), (iv.kind == "ME").sum()) == (300, 57)
    assert vt.video.isin(iv[iv.kind == "MaE"].video).sum() == 89             # 89 of 97 videos hold a MaE
    assert (iv.onset <= iv.offset).all() and (iv.offset < vt.set_index("video").n_frames.loc[iv.video].values).all()


@needs_shared
def test_realistic_casme2_twin_matches_the_real_evidence(tmp_path):
    "The RGB stream of a whole realistic twin meets the targets fixed from the real LGSNet features."
    assert main(["synth", "--like", "casme2", "--out", str(tmp_path / "t"), "--seed", "3", "--dim", "128"]) == 0
    st, ann = FeatureStore(tmp_path / "t" / "features"), pd.read_csv(tmp_path / "t" / "annotations.csv")
    tab = realism_table(st.load_all(), ann, dim=128, stride=8, snippet_length=8)
    lo, hi = REALISM_TARGETS["me_peak_z"]
    assert lo <= tab.loc["rgb", "me_peak_z"] <= hi and tab.loc["rgb", "me_stronger_share"] >= 0.5, tab
    assert is_realistic(tab, "rgb")
    info = json.loads((tmp_path / "t" / "twin.json").read_text())
    assert info["like"] == "casme2" and info["knobs"] == "realistic" and len(info["annotations"]["sha256"]) == 64


@needs_shared
def test_samm_lv_twin_from_given_files_is_at_200_fps(tmp_path):
    "--annotations/--videos take any file in a known layout: a 3-subject slice of the real SAMM-LV files, written at run time."
    ann = pd.read_csv(SHARED / "annotations" / "normalized" / "sammlv_intervals_megc2021.csv")
    vids = pd.read_csv(SHARED / "annotations" / "normalized" / "sammlv_videos_labelled.csv")
    keep = sorted(vids.subject.astype(str).unique())[:3]
    vids = vids[vids.subject.astype(str).isin(keep)]; ann = ann[ann.video.isin(vids.video)]
    ann = ann.rename(columns={"type": "kind"})[["subject", "video", "onset", "apex", "offset", "kind"]]      # our tidy layout
    ann["apex"] = ann.apex.where(ann.apex >= 0)                                   # -1: no apex annotated
    vids = vids.assign(n_frames=vids.n_frames_lgsnet.fillna(vids.n_frames_zzy).astype(int))[["video", "subject", "n_frames"]]
    ann = ann[ann.offset < ann.video.map(dict(zip(vids.video, vids.n_frames)))]  # a few real rows run past the video
    ann.to_csv(tmp_path / "a.csv", index=False); vids.to_csv(tmp_path / "v.csv", index=False)
    rc = main(["synth", "--like", "samm_lv", "--out", str(tmp_path / "s"), "--annotations", str(tmp_path / "a.csv"),
               "--videos", str(tmp_path / "v.csv"), "--dim", "128"])
    assert rc == 0
    m = FeatureStore(tmp_path / "s" / "features").meta
    assert (m.fps, m.snippet_length, m.stride, m.dim) == (200.0, 32, 32, 128)
    out = pd.read_csv(tmp_path / "s" / "annotations.csv")
    assert set(out.video) <= set(vids.video) and len(out) == len(ann)


def test_twin_without_shared_or_files_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("mcwes.twins.shared_dir", lambda: None)
    assert main(["synth", "--like", "casme2", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert "--annotations FILE --videos FILE" in err and "Traceback" not in err and not (tmp_path / "t").exists()
