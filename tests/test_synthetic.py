"Synthetic data and the shipped data_samples/: regeneration, realistic shape, real-timing twins, signal."
from pathlib import Path
import time

import numpy as np
import pandas as pd
import pytest

from mcwes.config import sample_dir, shared_dir
from mcwes.features import FeatureStore, n_snippets
from mcwes.synthetic import (KINDS, SyntheticError, SyntheticKnobs, interval_mask, random_intervals, synthesize_video,
                             write_synthetic_dataset)
from mcwes.twins import make_sample_dataset, realism_table, is_realistic


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _need_samples() -> Path:
    sd = sample_dir()
    if not (sd / "features" / "meta.json").is_file():
        pytest.skip(f"{sd} holds no generated sample (run `mcwes synth --out data_samples --seed 0`)")
    return sd


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("regen") / "data_samples"
    t0 = time.perf_counter()
    make_sample_dataset(out, 0)
    return out, time.perf_counter() - t0


def test_regeneration_is_byte_identical(regenerated):
    sd = _need_samples()
    out, seconds = regenerated
    again = _files(out)
    shipped = {f: (sd / f).read_bytes() for f in again if (sd / f).is_file()}
    assert sorted(shipped) == sorted(again), f"data_samples/ lacks {sorted(set(again) - set(shipped))}"
    extra = {str(p.relative_to(sd)) for p in (sd / "features").rglob("*") if p.is_file()} - set(again)
    assert not extra, f"data_samples/features/ holds files make_sample_dataset does not write: {sorted(extra)}"
    changed = [f for f in shipped if shipped[f] != again[f]]
    assert not changed, f"data_samples/ differs from make_sample_dataset('data_samples', 0) in {changed[:5]}"


def test_cli_synth_matches(tmp_path):
    cli = pytest.importorskip("mcwes.cli")
    sd = _need_samples()
    assert cli.main(["synth", "--out", str(tmp_path / "s"), "--seed", "0"]) == 0
    again = _files(tmp_path / "s")
    assert again == {f: (sd / f).read_bytes() for f in again}


def test_other_seed_differs(tmp_path, regenerated):
    out, _ = regenerated
    make_sample_dataset(tmp_path / "s1", 1)
    a, b = _files(out), _files(tmp_path / "s1")
    assert a["annotations.csv"] != b["annotations.csv"]


def test_sample_shape_is_realistic():
    sd = _need_samples()
    st = FeatureStore(sd / "features")
    m, vt = st.meta, st.video_table
    assert (m.fps, m.snippet_length, m.stride, m.dim, m.streams, m.dtype) == (30.0, 8, 8, 256, ("rgb", "flow"), "float16")
    assert vt is not None and vt.subject.nunique() >= 8 and len(vt) >= 24
    assert vt.n_frames.between(1000, 3000).all()
    checked = st.check()                                               # T matches n_snippets for every video
    assert (checked["T"] == [n_snippets(int(n), 8, 8) for n in vt.n_frames]).all()
    mine = [sd / "README.md", sd / "annotations.csv", *(sd / "features").rglob("*")]
    assert sum(p.stat().st_size for p in mine if p.is_file()) < 20e6
    ann = pd.read_csv(sd / "annotations.csv")
    assert list(ann.columns) == ["subject", "video", "onset", "apex", "offset", "kind"]
    dur = ann.offset - ann.onset
    assert dur[ann.kind == "ME"].between(8, 15).all() and dur[ann.kind == "MaE"].between(16, 120).all()
    assert ((ann.onset <= ann.apex) & (ann.apex <= ann.offset) & (ann.onset >= 0)).all()
    n = dict(zip(vt.video, vt.n_frames))
    assert (ann.offset <= ann.video.map(n) - 2).all()                  # inside the frames the snippets cover
    kinds = ann.groupby("video").kind.agg(set).reindex(vt.video)
    assert kinds.map(lambda k: isinstance(k, set) and "ME" in k).sum() >= 8, "fewer than 8 videos with an ME"
    assert kinds.map(lambda k: not isinstance(k, set) or "MaE" not in k).sum() >= 1, "no video without a MaE"


def test_sample_reads_with_the_annotation_reader():
    data = pytest.importorskip("mcwes.data")
    sd = _need_samples()
    ann = data.read_annotations(sd / "annotations.csv")
    raw = pd.read_csv(sd / "annotations.csv")
    assert len(ann) == len(raw)
    assert (ann[["onset", "offset"]].to_numpy() == raw[["onset", "offset"]].to_numpy()).all()


def test_sample_is_made_at_the_realistic_knobs():
    "The shipped sample is written with the realistic knobs of mcwes.twins, and its MaEs stand out as far as real ones."
    import json
    from dataclasses import asdict
    from mcwes.twins import TWIN_KNOBS
    sd = _need_samples()
    st, ann = FeatureStore(sd / "features"), pd.read_csv(sd / "annotations.csv")
    knobs = json.loads(st.meta.extractor.split("knobs=", 1)[1])
    assert knobs == json.loads(json.dumps(asdict(TWIN_KNOBS["realistic"])))
    rgb = {v: x[:, :st.meta.dim] for v, x in st.load_all().items()}
    tab = realism_table(rgb, ann, dim=st.meta.dim, stride=8, snippet_length=8, streams=("rgb",))
    assert 4.0 <= tab.loc["rgb", "mae_peak_z"] <= 7.0, tab.round(2).to_string()   # 8 MEs are too few for a stable median


def test_twin_of_real_timing(tmp_path):
    "A real dataset's timing (CAS(ME)^2, LGSNet's label file) twins into a store whose T follows its frame counts."
    sh = shared_dir()
    if sh is None: pytest.skip("no ../shared folder with the real annotations")
    path = sh / "annotations" / "LGSNet" / "casme2_annotation_357.csv"
    if not path.is_file(): pytest.skip(f"{path} is absent")
    data = pytest.importorskip("mcwes.data")
    ann = data.read_annotations(path)
    counts = data.read_frame_counts(path)
    vids = sorted(ann.video.unique())[:3]
    videos = pd.DataFrame(dict(video=vids, subject=[ann.subject[ann.video == v].iloc[0] for v in vids],
                               n_frames=[counts[v] for v in vids]))
    iv = ann[ann.video.isin(vids)][["subject", "video", "onset", "apex", "offset", "kind"]]
    iv = iv[iv.offset <= iv.video.map(counts) - 1]
    out = write_synthetic_dataset(tmp_path / "twin", iv, videos, dim=32, seed=3,
                                  knobs=SyntheticKnobs(n_dirs=1, channels_per_dir=2, drift_dims=2))
    st = FeatureStore(out / "features")
    assert list(st.check()["T"]) == [n_snippets(int(n), 8, 8) for n in videos.n_frames]
    back = pd.read_csv(out / "annotations.csv")
    assert len(back) == len(iv) and set(back.video) <= set(vids)


def test_bad_input_is_named():
    rng = np.random.default_rng(0)
    iv = pd.DataFrame(dict(onset=[10], apex=[12], offset=[5000], kind=["MaE"]))
    with pytest.raises(SyntheticError, match="video v9, row 0"):
        synthesize_video(1000, iv, dim=64, rng=rng, video="v9",
                         knobs=SyntheticKnobs(n_dirs=1, channels_per_dir=4))
    ivs, vids = random_intervals(rng, 2, 1, 30.0, frames=(300, 400))
    with pytest.raises(SyntheticError, match="n_frames"):
        write_synthetic_dataset("unused", ivs, vids.drop(columns="n_frames"), dim=64)
