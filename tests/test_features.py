"Feature store: SPEC 1 snippet arithmetic, round trips, error messages, LGSNet's real .npz files."
import json

import numpy as np
import pandas as pd
import pytest

from mcwes.config import DataConfig, shared_dir
from mcwes.features import (FeatureError, FeatureMeta, FeatureStore, convert_lgsnet, lgsnet_to_snippets, n_snippets,
                            read_lgsnet_npz, snippet_centers, snippet_to_frames, write_feature_store)

REAL = ("30_0101disgustingteeth", 2050, 1022), ("30_0102eatingworms", 1068, 531)  # video, frame_cnt, rows (README)


def _meta(**kw):
    d = dict(snippet_length=8, stride=8, fps=30.0, dim=3, streams=("rgb", "flow"), dtype="float32", extractor="test")
    return FeatureMeta(**{**d, **kw})


def test_lgsnet_formula_hand_computed():
    assert n_snippets(2051, 8, 2) == (2050 - 8) // 2 + 1 == 1022
    assert n_snippets(1069, 8, 2) == 531
    cfg = DataConfig()
    assert n_snippets(2051, cfg.snippet_length, cfg.stride) == 256  # floor(2042 / 8) + 1
    assert n_snippets(9, 8, 8) == 1 and n_snippets(8, 8, 8) == 0 and n_snippets(0, 32, 32) == 0
    assert n_snippets(200 * 10, 32, 32) == (2000 - 1 - 32) // 32 + 1 == 62  # SAMM-LV, 10 s


def test_snippet_formula_agrees_with_frame_mapping():
    # the last snippet's last frame is at most L - 2 (the last frame is dropped); one more would pass it
    for L in range(1, 120):
        for length, stride in ((8, 8), (8, 2), (32, 32), (5, 3)):
            T = n_snippets(L, length, stride)
            if T:
                assert snippet_to_frames(T - 1, T - 1, stride, length)[1] <= L - 2
            assert snippet_to_frames(T, T, stride, length)[1] > L - 2


def test_snippet_to_frames_arrays_and_centres():
    on, off = snippet_to_frames(np.array([0, 5, 10]), np.array([1, 5, 12]), 8, 8)
    assert on.tolist() == [0, 40, 80] and off.tolist() == [15, 47, 103]
    assert snippet_to_frames(np.int64(2), np.int64(3), 32, 32) == (64, 127)
    np.testing.assert_allclose(snippet_centers(2, 2, 8), [3.5, 5.5])
    with pytest.raises(FeatureError, match="integers"):
        snippet_to_frames(0.5, 1, 8, 8)


def test_meta_round_trip_and_errors():
    m = _meta(streams=("flow",), dtype="float16")
    assert FeatureMeta.from_dict(json.loads(json.dumps(m.to_dict()))) == m and m.n_channels == 3
    for key, bad in (("fps", "30"), ("snippet_length", 8.0), ("streams", "rgb"), ("extractor", None), ("dim", True)):
        with pytest.raises(FeatureError, match=repr(key)):
            FeatureMeta.from_dict({**m.to_dict(), key: bad})
    with pytest.raises(FeatureError, match="dim"):
        _meta(dim=0)


def test_round_trip_float32_exact_and_single_stream(tmp_path):
    rng = np.random.default_rng(0)
    feats = {f"v{i}": rng.normal(size=(T, 6)).astype(np.float32) for i, T in enumerate((4, 1, 9))}
    st = FeatureStore(write_feature_store(tmp_path / "s", feats, _meta()))
    assert st.videos == ["v0", "v1", "v2"] and st.video_table is None
    for v, x in st.load_all().items():
        np.testing.assert_array_equal(x, feats[v])
    np.testing.assert_array_equal(st.load("v2", ("flow",)), feats["v2"][:, 3:])
    assert list(st.load_all(["v1"], streams="rgb")) == ["v1"]
    st1 = FeatureStore(write_feature_store(tmp_path / "r", {"a": feats["v0"][:, :3]}, _meta(streams=("rgb",))))
    np.testing.assert_array_equal(st1.load("a"), feats["v0"][:, :3])
    with pytest.raises(FeatureError, match="flow"):
        st1.load("a", ("flow",))
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["meta.json", "v0.npy", "v1.npy", "v2.npy"]


def test_float16_storage_and_videos_csv(tmp_path):
    x = np.linspace(-3, 3, 5 * 6, dtype=np.float32).reshape(5, 6)
    table = pd.DataFrame({"video": ["a", "none"], "subject": ["s1", "s1"], "n_frames": [41, pd.NA]})
    write_feature_store(tmp_path, {"a": x, "none": x[:2]}, _meta(dtype="float16"), table)
    assert np.load(tmp_path / "a.npy").dtype == np.float16
    st = FeatureStore(tmp_path)
    np.testing.assert_allclose(st.load("a"), x, atol=2e-3)
    assert st.load("a").dtype == np.float32
    chk = st.check()
    assert chk["T"].tolist() == [5, 2] and chk["n_frames"].isna().tolist() == [False, True]
    # frame counts from the caller's table win over videos.csv, and are checked
    with pytest.raises(FeatureError, match=r"video 'none' .*none\.npy.*2 snippets.*frames gives"):
        st.check(pd.DataFrame({"video": ["a", "none"], "n_frames": [41, 30]}))


def test_check_reports_every_problem(tmp_path):
    st = FeatureStore(write_feature_store(tmp_path, {"a": np.zeros((5, 6)), "b": np.zeros((3, 6))}, _meta()))
    np.save(tmp_path / "b.npy", np.full((3, 6), np.nan, np.float32))
    with pytest.raises(FeatureError) as e:
        st.check(pd.DataFrame({"video": ["a", "b", "missing"], "n_frames": [40, 25, 10]}))
    msg = str(e.value)
    assert "3 problem(s)" in msg and "video 'a'" in msg and "video 'b'" in msg and "NaN" in msg
    assert "video 'missing'" in msg and "missing.npy" in msg


def test_writer_rejects_bad_input_and_writes_nothing(tmp_path):
    m, out = _meta(), tmp_path / "out"
    cases = [({"v": np.zeros((4, 5))}, None, r"video 'v'.*\(T, 6\)"),
             ({"v": np.zeros(6)}, None, "video 'v'"),
             ({"v": np.array([[0, 0, 0, 0, 0, np.inf]])}, None, "video 'v'.*snippet 0"),
             ({"v": np.zeros((4, 6))}, pd.DataFrame({"video": ["v"], "subject": ["s"], "n_frames": [8]}), "video 'v'"),
             ({"v": np.zeros((4, 6))}, pd.DataFrame({"video": ["w"], "subject": ["s"], "n_frames": [41]}), "'v'"),
             ({"v": np.zeros((4, 6))}, pd.DataFrame({"video": ["v"], "n_frames": [41]}), "subject"),
             ({}, None, "no videos")]
    for feats, table, pat in cases:
        with pytest.raises(FeatureError, match=pat):
            write_feature_store(out, feats, m, table)
    assert not out.exists()


def test_store_open_errors(tmp_path):
    with pytest.raises(FeatureError, match="does not exist"):
        FeatureStore(tmp_path / "nope")
    with pytest.raises(FeatureError, match="no meta.json"):
        FeatureStore(tmp_path)
    (tmp_path / "meta.json").write_text("{not json")
    with pytest.raises(FeatureError, match="meta.json"):
        FeatureStore(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps(_meta().to_dict()))
    with pytest.raises(FeatureError, match="no {video}.npy"):
        FeatureStore(tmp_path)
    np.save(tmp_path / "w.npy", np.zeros((3, 5), np.float32))   # wrong width
    (tmp_path / "c.npy").write_bytes(b"\x93NUMPY garbage")
    st = FeatureStore(tmp_path)
    with pytest.raises(FeatureError, match=r"video 'w'.*\(T, 6\)"):
        st.load("w")
    with pytest.raises(FeatureError, match=r"video 'c'.*corrupt.*c\.npy"):
        st.load("c")


def test_lgsnet_conversion_hand_made(tmp_path):
    rows = n_snippets(1001, 8, 2)                                   # frame_cnt 1000
    f = tmp_path / "v-rgb.npz"
    feat = np.arange(rows, dtype=np.float32)[None, :, None] * np.ones((1, 1, 4), np.float32)
    np.savez(f, feature=feat, frame_cnt=np.int64(1000), video_name="/x/s07/07_0101clip")
    st = FeatureStore(convert_lgsnet([f], tmp_path / "store"))
    x = st.load("07_0101clip")
    assert x.shape == (n_snippets(1001, 8, 8), 4) == (125, 4)
    np.testing.assert_array_equal(x[:, 0], np.arange(0, rows, 4))
    assert st.video_table.values.tolist() == [["07_0101clip", "s07", 1001]]
    assert (st.meta.snippet_length, st.meta.stride, st.meta.streams, st.meta.fps) == (8, 8, ("rgb",), 30.0)
    np.savez(f, feature=feat[:, :-1], frame_cnt=np.int64(1000), video_name="/x/s07/07_0101clip")
    with pytest.raises(FeatureError, match=r"v-rgb\.npz.*'07_0101clip'.*\(1000 - 8\) // 2 \+ 1 = 497"):
        convert_lgsnet([f], tmp_path / "bad")
    np.savez(f, feature=feat[0], frame_cnt=np.int64(1000), video_name="a")
    with pytest.raises(FeatureError, match=r"\(1, T, D\)"):
        read_lgsnet_npz(f)
    np.savez(f, feature=feat, video_name="a")
    with pytest.raises(FeatureError, match="frame_cnt"):
        read_lgsnet_npz(f)


def test_real_lgsnet_files(tmp_path):
    root = shared_dir()
    if root is None:
        pytest.skip("no shared/ folder beside the checkout (set MCWES_SHARED): real LGSNet features unavailable")
    paths = [root / "real_features" / f"{v}-rgb.npz" for v, _, _ in REAL]
    if not all(p.is_file() for p in paths):
        pytest.skip("shared/real_features/ lacks the two LGSNet .npz files")
    for p, (video, frame_cnt, rows) in zip(paths, REAL):
        x, fc, name = read_lgsnet_npz(p)
        assert (x.shape, x.dtype, fc) == ((rows, 1024), np.float32, frame_cnt) and name.endswith("/s30/" + video)
        assert rows == (frame_cnt - 8) // 2 + 1 == n_snippets(frame_cnt + 1, 8, 2)
        np.testing.assert_array_equal(lgsnet_to_snippets(x)[1], x[4])
    st = FeatureStore(convert_lgsnet(paths, tmp_path / "casme2_lgsnet", dtype="float16"))
    chk = st.check()
    assert chk.values.tolist() == [["30_0101disgustingteeth", 2051, 256], ["30_0102eatingworms", 1069, 133]]
    assert st.meta.dim == 1024 and st.meta.n_channels == 1024
    vids = root / "annotations" / "normalized" / "casme2_videos.csv"
    if vids.is_file():   # the frame counts of the annotation side agree with the converted store
        t = pd.read_csv(vids).rename(columns={"n_frames_lgsnet": "n_frames"})
        st.check(t[t.video.isin(st.videos)][["video", "n_frames"]])
