"""mcwes.data against the real annotation files in ../shared (skipped when absent) and hand-made files."""
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mcwes.config import DataConfig, shared_dir
from mcwes.data import (AnnotationError, AnnotationWarning, Fold, LAYOUTS, TIDY_COLUMNS, detect_layout, loso_folds,
                        read_annotations, read_frame_counts, video_table, videos_from_frame_counts, weak_labels,
                        write_annotations)

SD = shared_dir()
needs_shared = pytest.mark.skipif(SD is None, reason="real annotations need ../shared (or $MCWES_SHARED); not found")
A = SD / "annotations" if SD is not None else Path("/nonexistent")
CAS_XLSX = A / "MTSN-Spot-ME-MaE/megc2021-ground-truth/CASME_sq_gt.xlsx"
SAMM_V1 = A / "MTSN-Spot-ME-MaE/megc2021-ground-truth/SAMMLV_gt.xlsx"
SAMM_INT = A / "zzy188zzy-megc_spotting_code/labels/SAMM_LongVideos.xlsx"
ZZY_CAS = A / "zzy188zzy-megc_spotting_code/labels/cas(me)_new.csv"
CAS_DUR = A / "zzy188zzy-megc_spotting_code/labels/cas_duration.csv"
SAMM_DUR = A / "zzy188zzy-megc_spotting_code/labels/samm_duration.csv"
LGS_CAS, LGS_SAMM, LGS_CAS3 = (A / "LGSNet" / f for f in
                               ("casme2_annotation_357.csv", "samm_annotation.csv", "cas3_annotation_full_me_reduce.csv"))
NORM = A / "normalized"


def read(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationWarning)
        return read_annotations(path, **kw)


def kinds(df):
    return df["kind"].value_counts().to_dict()


def key(df, cols=("video", "onset", "offset", "kind")):
    return Counter(map(tuple, df[list(cols)].astype(str).values.tolist()))


def norm(name):
    return pd.read_csv(NORM / name, dtype={"subject": str}, keep_default_na=False)


# ---------------------------------------------------------------- layouts
@needs_shared
def test_detect_layout_of_every_real_file():
    got = {p.name: detect_layout(p) for p in (CAS_XLSX, SAMM_V1, SAMM_INT, ZZY_CAS, LGS_CAS, LGS_SAMM, LGS_CAS3)}
    assert got == {"CASME_sq_gt.xlsx": "casme2_xlsx", "SAMMLV_gt.xlsx": "sammlv_v1_xlsx",
                   "SAMM_LongVideos.xlsx": "sammlv_xlsx", "cas(me)_new.csv": "zzy_casme2_csv",
                   "casme2_annotation_357.csv": "lgsnet_csv", "samm_annotation.csv": "lgsnet_csv",
                   "cas3_annotation_full_me_reduce.csv": "lgsnet_csv"}
    assert set(got.values()) <= set(LAYOUTS)
    with pytest.raises(AnnotationError, match="read_frame_counts"):
        detect_layout(CAS_DUR)


# ---------------------------------------------------------------- CAS(ME)^2
@needs_shared
def test_casme2_counts_and_repairs():
    with pytest.warns(AnnotationWarning, match="offset_missing x44"):
        df = read_annotations(CAS_XLSX)
    assert kinds(df) == {"MaE": 300, "ME": 57}
    assert (df["video"].nunique(), df["subject"].nunique()) == (95, 22)
    assert df.attrs["repairs"] == {"apex_missing": 1, "offset_le_apex": 3, "offset_missing": 44}
    assert df.attrs["source_frames"].startswith("1-based") and df.attrs["layout"] == "casme2_xlsx"
    assert list(df.columns) == list(TIDY_COLUMNS) + ["flags"]
    assert str(df["apex"].dtype) == "Int64" and df["apex"].isna().sum() == 1
    assert (df["onset"] <= df["offset"]).all() and (df["onset"] >= 0).all()
    assert df["subject"].str.fullmatch(r"s\d{2}").all() and df["video"].str.fullmatch(r"\d{2}_\d{4}[a-z]+").all()
    assert "15_0502funnyerrors" in set(df["video"])
    drop = read(CAS_XLSX, offset_repair="drop")
    assert kinds(drop) == {"MaE": 253, "ME": 57}
    soft = read(CAS_XLSX, offset_repair="apex")
    fixed = df["flags"].str.contains("offset_")
    assert (soft.loc[fixed, "offset"] == soft.loc[fixed, "apex"]).all()
    assert (df.loc[fixed, "offset"] == df.loc[fixed, "apex"] + 20).all()
    assert (read(CAS_XLSX, offset_repair_frames=5).loc[fixed, "offset"] == df.loc[fixed, "apex"] + 5).all()


@needs_shared
def test_casme2_matches_normalized_reference():
    df, ref = read(CAS_XLSX), norm("casme2_intervals_megc2021.csv")
    ref = ref.assign(onset=ref["onset"] - 1, kind=ref["type"])
    assert key(df, ("subject", "video", "onset", "kind")) == key(ref, ("subject", "video", "onset", "kind"))
    clean_ref = ref[ref["flags"] == ""].assign(offset=lambda r: r["offset"] - 1, apex=lambda r: r["apex"] - 1)
    assert key(df[df["flags"] == ""], ("video", "onset", "apex", "offset")) == key(clean_ref, ("video", "onset", "apex", "offset"))
    assert Counter(df["flags"]) == Counter(ref["flags"])


@needs_shared
def test_casme2_layouts_agree():
    df = read(CAS_XLSX)
    lgs = read(LGS_CAS)  # LGSNet already applied apex + 20 and has no apex column
    assert key(lgs, ("subject", "video", "onset", "offset", "kind")) == key(df, ("subject", "video", "onset", "offset", "kind"))
    assert lgs["apex"].isna().all() and lgs.attrs["dataset"] == "casme2"
    zzy = read(ZZY_CAS)
    pd.testing.assert_frame_equal(zzy[list(TIDY_COLUMNS)], df[list(TIDY_COLUMNS)])


@needs_shared
def test_casme2_video_table_and_weak_labels_match_normalized():
    df, fc = read(CAS_XLSX), read_frame_counts(CAS_DUR)
    assert len(fc) == 97 and fc["15_0502funnyerrors"] > 0
    vt = video_table(df, fc, fps=30.0, videos=videos_from_frame_counts(fc))
    ref = norm("casme2_videos.csv")
    assert len(vt) == 97
    m = vt.merge(ref, on=["subject", "video"], suffixes=("", "_ref"), validate="one_to_one")
    assert len(m) == 97
    assert (m["has_MaE"] == m["has_MaE_ref"]).all() and (m["has_ME"] == m["has_ME_ref"]).all()
    assert (m["n_frames"] == m["n_frames_zzy"]).all()
    y = weak_labels(vt)
    assert y.shape == (97, 2) and y.dtype == np.float32
    split = Counter(map(tuple, y.astype(int).tolist()))
    assert split == {(1, 0): 62, (0, 1): 6, (1, 1): 27, (0, 0): 2}
    assert set(vt.loc[(vt["has_MaE"] == 0) & (vt["has_ME"] == 0), "video"]) == {"15_0508funnydunkey", "23_0503unnyfarting"}


@needs_shared
def test_frame_counts_lgsnet_vs_zzy():
    lgs, zzy = read_frame_counts(LGS_CAS), read_frame_counts(CAS_DUR)
    assert set(lgs) <= set(zzy) and len(lgs) == 95
    assert {v for v in lgs if lgs[v] != zzy[v]} == {"23_0102eatingworms"}
    s_lgs, s_zzy = read_frame_counts(LGS_SAMM), read_frame_counts(SAMM_DUR)
    assert (s_zzy["021_3"], s_lgs["021_3"]) == (3419, 13057)
    assert len(s_zzy) == 147 and "007_6" in s_zzy


# ---------------------------------------------------------------- SAMM-LV
@needs_shared
def test_sammlv_v1_counts_flags_and_exclusions():
    df = read(SAMM_V1)
    assert kinds(df) == {"MaE": 343, "ME": 159}
    assert (df["video"].nunique(), df["subject"].nunique()) == (147, 30)
    r = df.attrs["repairs"]
    assert (r["onset_zero"], r["apex_missing"], r["duplicate_clip_id"], r["lgsnet_excluded"]) == (10, 6, 2, 3)
    assert r["fractional"] == 178
    x = read(SAMM_V1, exclude_lgsnet=True)
    assert kinds(x) == {"MaE": 340, "ME": 159} and x.attrs["dropped"] == {"exclude_lgsnet": 3}
    assert x["subject"].str.fullmatch(r"\d{3}").all() and "006_1" in set(x["video"])
    assert read(SAMM_V1, exclude_lgsnet=DataConfig().exclude_lgsnet).attrs["exclude_lgsnet"] is True


@needs_shared
def test_sammlv_matches_normalized_and_lgsnet():
    df, ref = read(SAMM_V1), norm("sammlv_intervals_megc2021.csv")
    ref = ref.assign(**{c: ref[c] - 1 for c in ("onset", "offset")}, kind=ref["type"])
    ref.loc[ref["flags"].str.contains("onset_zero"), "onset"] = 0   # floor(V1) = 0 means the first frame
    assert key(df, ("subject", "video", "onset", "offset", "kind")) == key(ref, ("subject", "video", "onset", "offset", "kind"))
    lgs = read(LGS_SAMM)
    assert kinds(lgs) == {"MaE": 340, "ME": 159} and lgs.attrs["dataset"] == "samm_lv"
    assert key(lgs) == key(read(SAMM_V1, exclude_lgsnet=True))            # LGSNet = floor(V1) minus 3 rows


@needs_shared
def test_sammlv_round_equals_integer_release():
    kw = dict(fractional_frames="round", exclude_lgsnet=True)
    v1r, rel = read(SAMM_V1, **kw), read(SAMM_INT, exclude_lgsnet=True)
    assert rel.attrs["layout"] == "sammlv_xlsx" and "fractional" not in rel.attrs["repairs"]
    pd.testing.assert_frame_equal(v1r[list(TIDY_COLUMNS)], rel[list(TIDY_COLUMNS)])
    v1f = read(SAMM_V1, exclude_lgsnet=True)
    assert (v1f["onset"] != v1r["onset"]).sum() > 0   # floor and round really differ


@needs_shared
def test_sammlv_video_table_matches_normalized():
    df, fc = read(SAMM_V1, exclude_lgsnet=True), read_frame_counts(SAMM_DUR)
    vt = video_table(df, fc, fps=200.0, videos=videos_from_frame_counts(fc))
    ref = norm("sammlv_videos_labelled.csv")
    m = vt.merge(ref, on=["subject", "video"], suffixes=("", "_ref"), validate="one_to_one")
    assert len(vt) == len(m) == 147
    assert (m["has_MaE"] == m["has_MaE_ref"]).all() and (m["has_ME"] == m["has_ME_ref"]).all()
    assert Counter(map(tuple, weak_labels(vt).astype(int).tolist())) == {(1, 0): 67, (0, 1): 17, (1, 1): 62, (0, 0): 1}
    assert vt.loc[vt["video"] == "012_4", ["has_MaE", "has_ME"]].values.tolist() == [[0, 0]]
    assert (vt["fps"] == 200.0).all()


@needs_shared
def test_samm_intervals_past_the_last_frame_are_reported():
    df = read(SAMM_V1)                     # keeps 020_6_5 (offset 5476 > 5001 frames) and 036_7_4
    with pytest.warns(AnnotationWarning, match="020_6") as rec:
        video_table(df, read_frame_counts(SAMM_DUR))
    assert "036_7" in str(rec[0].message)


# ---------------------------------------------------------------- CAS(ME)^3, folds
@needs_shared
def test_casme3_lgsnet_counts():
    df = read(LGS_CAS3)
    assert kinds(df) == {"MaE": 2071, "ME": 277}
    assert (df["video"].nunique(), df["subject"].nunique()) == (757, 97)
    assert df.attrs["dataset"] == "casme3" and "001_a" in set(df["video"])
    assert set(read_frame_counts(LGS_CAS3)) == set(df["video"])


@needs_shared
def test_loso_folds_on_casme2():
    fc = read_frame_counts(CAS_DUR)
    vt = video_table(read(CAS_XLSX), fc, videos=videos_from_frame_counts(fc))
    folds = loso_folds(vt)
    assert len(folds) == 22 and [f.subject for f in folds] == sorted(vt["subject"].unique())
    for f in folds:
        assert sorted(f.train + f.test) == sorted(vt["video"]) and not set(f.train) & set(f.test)
        assert set(vt.loc[vt["video"].isin(f.test), "subject"]) == {f.subject}
    assert loso_folds(vt.sample(frac=1.0, random_state=np.random.default_rng(0))) == folds


# ---------------------------------------------------------------- hand-made files (always run)
def test_malformed_rows_name_file_and_row(tmp_path):
    p = tmp_path / "ann.csv"
    p.write_text("subject,video,onset,apex,offset,kind\ns1,v,5,,9,ME\ns1,v,-2,,9,ME\n")
    with pytest.raises(AnnotationError, match=r"ann\.csv, line 3: negative frame"):
        read_annotations(p)
    with pytest.warns(AnnotationWarning, match="line 3"):
        assert len(read_annotations(p, strict=False)) == 1
    with pytest.raises(AnnotationError, match="fractional_frames"):
        read_annotations(p, fractional_frames="ceil")


def test_lgsnet_casme2_kind_and_one_based_conversion(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("subject,video,type,type_idx,startFrame,endFrame,frame_num,length\n"
                 "3,./a/s17/17_0505funnyinnovations,micro-expression,2,10,20,500,10\n"
                 "3,./a/s17/17_0505funnyinnovations,macro-expression,1,1,80,500,79\n")
    df = read(p)
    assert df[["subject", "video", "onset", "offset", "kind"]].values.tolist() == [
        ["s17", "17_0505funnyinnovations", 0, 79, "MaE"], ["s17", "17_0505funnyinnovations", 9, 19, "ME"]]
    p.write_text(p.read_text().replace(",2,10,20,", ",7,10,20,"))
    with pytest.raises(AnnotationError, match=r"l\.csv, line 2: unknown kind '7'"):
        read_annotations(p)


def test_write_read_roundtrip_and_empty_apex(tmp_path):
    df = pd.DataFrame(dict(subject=["s1", "s2"], video=["a", "b"], onset=[0, 4], apex=pd.array([3, pd.NA], dtype="Int64"),
                           offset=[7, 9], kind=["ME", "MaE"]))
    write_annotations(df, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[2] == "s2,b,4,,9,MaE"
    back = read_annotations(tmp_path / "t.csv")
    pd.testing.assert_frame_equal(back[list(TIDY_COLUMNS)], df.astype({"subject": str, "video": str, "kind": str}))
    assert (back["flags"] == "").all() and back.attrs["source_frames"].startswith("0-based")


def test_video_table_without_expressions_and_folds():
    empty = pd.DataFrame({c: [] for c in TIDY_COLUMNS})
    vids = pd.DataFrame(dict(video=["x", "y"], subject=["p", "q"]))
    vt = video_table(empty, videos=vids)
    assert weak_labels(vt).tolist() == [[0, 0], [0, 0]]
    assert loso_folds(vt) == [Fold("p", ["y"], ["x"]), Fold("q", ["x"], ["y"])]
    with pytest.raises(AnnotationError, match="has_MaE"):
        weak_labels(vids)
