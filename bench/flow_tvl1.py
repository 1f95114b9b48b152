"""TV-L1 in PyTorch (mcwes.flow.tvl1) against OpenCV's DualTVL1: accuracy and speed in one run.

    python bench/flow_tvl1.py [--pairs 16] [--size 224] [--threads 2] [--device cpu|cuda] [--video PATH]

Frames of a real face video (default ../shared/videos/single_face.mp4; the drawn sample clip when ../shared
is absent) are converted to grey and resized to SIZE x SIZE; PAIRS consecutive pairs are computed by OpenCV
(one at a time, THREADS threads) and by `tvl1` (all pairs in one batch, THREADS torch threads, or on --device).

Prints the mean end-point error (EPE, px) over all pixels of all pairs, the mean OpenCV flow speed, the
accuracy bound 0.2 x speed + 0.02, the time per pair of each and their ratio, and on CUDA the pairs per
second (the GPU target: >= 300 pairs/s at 224x224). Paste the table into BENCHMARKS.md ("TV-L1 in PyTorch").
"""
import argparse, os, platform, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import numpy as np, torch, cv2
from mcwes.config import FlowConfig, sample_dir, shared_dir
from mcwes.extract import find_videos, iter_frames
from mcwes.flow import endpoint_error, opencv_tvl1, tvl1

def grey_frames(video: Path, n: int, size: int) -> np.ndarray:
    "(n, size, size) uint8 grey frames: the first n of `video`."
    out = []
    for f in iter_frames(find_videos([video])[0]):
        out.append(cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (size, size), interpolation=cv2.INTER_AREA))
        if len(out) == n: break
    return np.stack(out)

def sync(device: torch.device) -> None:
    if device.type == "cuda": torch.cuda.synchronize(device)

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=16); ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of OpenCV and torch (default 2)")
    ap.add_argument("--device", default="cpu", help="device of the torch TV-L1 (OpenCV always runs on the CPU)")
    ap.add_argument("--video", help="the face video (default ../shared/videos/single_face.mp4, else the drawn sample clip)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs of the torch batch (the best is kept)")
    ap.add_argument("--gpu-pairs", type=int, default=256, help="on CUDA: batch size of the throughput run (pairs/s)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads); cv2.setNumThreads(a.threads)
    video = Path(a.video) if a.video else (shared_dir() / "videos/single_face.mp4" if shared_dir() is not None
                                           and (shared_dir() / "videos/single_face.mp4").is_file() else sample_dir() / "clip/smile")
    g = grey_frames(video, a.pairs + 1, a.size)
    prev, nxt, dev, cfg = g[:-1], g[1:], torch.device(a.device), FlowConfig()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"torch {torch.__version__}, OpenCV {cv2.__version__}, {a.threads} threads, device {dev}; "
          f"{video.name}: {len(prev)} pairs at {a.size}x{a.size}\n")
    t = time.perf_counter(); ref = opencv_tvl1(prev, nxt, cfg); t_cv = (time.perf_counter() - t) / len(prev)
    tvl1(prev[:2], nxt[:2], cfg=cfg, device=dev); sync(dev)                     # warm-up (allocator, CUDA context)
    best = float("inf")
    for _ in range(a.repeat):
        t = time.perf_counter(); ours = tvl1(prev, nxt, cfg=cfg, device=dev); sync(dev)
        best = min(best, (time.perf_counter() - t) / len(prev))
    ours = ours.cpu().numpy()
    epe, speed = endpoint_error(ours, ref), float(np.sqrt((ref ** 2).sum(1)).mean())
    bound = 0.2 * speed + 0.02
    print("| quantity | value |\n|---|---|")
    print(f"| mean EPE vs OpenCV (px, all pixels of all pairs) | {epe:.4f} |")
    print(f"| mean OpenCV flow speed (px) | {speed:.3f} |")
    print(f"| accuracy bound 0.2 x speed + 0.02 (px) | {bound:.4f} ({'met' if epe <= bound else 'NOT met'}) |")
    print(f"| OpenCV DualTVL1, s per pair ({a.threads} threads, one pair at a time) | {t_cv:.3f} |")
    print(f"| mcwes.flow.tvl1, s per pair ({dev}, {len(prev)} pairs in one batch) | {best:.3f} |")
    print(f"| time ratio torch / OpenCV (target <= 3) | {best / t_cv:.2f} ({'met' if best / t_cv <= 3 else 'NOT met'}) |")
    if dev.type == "cuda":
        n = a.gpu_pairs; idx = np.arange(n) % len(prev)
        P, Q = torch.as_tensor(prev[idx], device=dev), torch.as_tensor(nxt[idx], device=dev)
        tvl1(P, Q, cfg=cfg); sync(dev)
        t = time.perf_counter(); tvl1(P, Q, cfg=cfg); sync(dev); rate = n / (time.perf_counter() - t)
        print(f"| GPU throughput, pairs/s ({n} pairs in one batch; target >= 300) | {rate:.0f} |")
    return 0 if epe <= bound else 1

if __name__ == "__main__": sys.exit(main())
