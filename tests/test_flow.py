"""mcwes.flow: the PyTorch TV-L1 against OpenCV's DualTVL1 (defaults, median filter, real face frames), batching, devices."""
import numpy as np
import pytest
import torch

cv2 = pytest.importorskip("cv2", reason="the OpenCV reference needs opencv-contrib-python-headless (extra 'extract')")
if not hasattr(cv2, "optflow"): pytest.skip("OpenCV without the contrib modules (cv2.optflow)", allow_module_level=True)
from mcwes.config import FlowConfig, shared_dir
from mcwes.flow import endpoint_error, median_filter, opencv_tvl1, tvl1


def _face_pairs(n: int, size: int = 224):
    video = shared_dir() / "videos" / "single_face.mp4" if shared_dir() is not None else None
    if video is None or not video.is_file(): pytest.skip("needs ../shared/videos/single_face.mp4 (MCWES_SHARED)")
    cap, out = cv2.VideoCapture(str(video)), []
    while len(out) < n + 1:
        ok, f = cap.read()
        if not ok: break
        out.append(cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), (size, size), interpolation=cv2.INTER_AREA))
    cap.release()
    g = np.stack(out)
    return g[:-1], g[1:]


def test_defaults_are_opencvs():
    "FlowConfig's defaults are the parameters of a default cv2.optflow.DualTVL1OpticalFlow."
    tv, c = cv2.optflow.DualTVL1OpticalFlow_create(), FlowConfig()
    got = (c.tau, c.lam, c.theta, c.nscales, c.warps, c.epsilon, c.inner_iterations, c.outer_iterations, c.scale_step, c.gamma,
           c.median_filtering)
    ref = (tv.getTau(), tv.getLambda(), tv.getTheta(), tv.getScalesNumber(), tv.getWarpingsNumber(), tv.getEpsilon(),
           tv.getInnerIterations(), tv.getOuterIterations(), tv.getScaleStep(), tv.getGamma(), tv.getMedianFiltering())
    assert got == pytest.approx(ref)


def test_median_filter_is_opencvs():
    "The 5x5 and 3x3 median networks equal cv2.medianBlur on float32 (replicated border)."
    x = np.random.default_rng(0).normal(size=(37, 41)).astype(np.float32)
    for k in (3, 5):
        np.testing.assert_array_equal(median_filter(torch.from_numpy(x)[None, None], k)[0, 0].numpy(), cv2.medianBlur(x, k))


def test_matches_opencv_on_real_face_frames():
    "Real 30 fps face frames at 224 x 224: mean EPE against OpenCV <= 0.2 x mean speed + 0.02 px (the issue's bound)."
    prev, nxt = _face_pairs(3)
    ours, ref = tvl1(prev, nxt).numpy(), opencv_tvl1(prev, nxt)
    speed = float(np.sqrt((ref ** 2).sum(1)).mean())
    assert ours.shape == ref.shape == (3, 2, 224, 224)
    assert endpoint_error(ours, ref) <= 0.2 * speed + 0.02
    assert endpoint_error(ours, ref) < 0.25 * endpoint_error(np.zeros_like(ref), ref)      # far closer than "no motion"


def test_batch_threads_and_errors():
    "A pair gives the same flow alone, in a batch, and with 2 CPU threads; wrong shapes are refused by name."
    rng = np.random.default_rng(1)
    a = cv2.GaussianBlur(rng.random((48, 48)) * 255, (0, 0), 2).astype(np.float32)
    b, c = np.roll(a, 1, 1), np.roll(a, -1, 0)
    alone = tvl1(a[None], b[None])
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        both = tvl1(np.stack([a, a]), np.stack([b, c]))
    finally: torch.set_num_threads(n)
    torch.testing.assert_close(both[0], alone[0], rtol=0, atol=1e-5)
    assert both[1, 1, 10:-10, 10:-10].mean() == pytest.approx(-1.0, abs=0.15)          # c moved up by one pixel
    with pytest.raises(ValueError, match=r"\(N, H, W\)"): tvl1(a, b)
    with pytest.raises(ValueError, match="differ in shape"): tvl1(a[None], b[None, :40])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    "On a GPU the flow is the CPU's up to float rounding, and stays on the device."
    rng = np.random.default_rng(2)
    a = cv2.GaussianBlur(rng.random((4, 64, 64)) * 255, (0, 0), 2).astype(np.float32)
    b = np.roll(a, 1, 2)
    g = tvl1(a, b, device="cuda")
    assert g.device.type == "cuda"
    assert endpoint_error(g.cpu().numpy(), tvl1(a, b).numpy()) < 0.01
