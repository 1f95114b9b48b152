"""Shared helpers of the speed benchmarks: RSS readers, medians, and replacing one section of BENCHMARKS.md."""
from __future__ import annotations
import os, re, statistics, sys
from pathlib import Path

try: import mcwes  # noqa: F401
except ModuleNotFoundError: sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mcwes.config import atomic_write_text, repo_root


def rss_mib(field: str = "VmRSS") -> float:
    "This process's resident set (VmRSS) or its peak (VmHWM), MiB, from /proc."
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"): return int(line.split()[1]) / 1024
    return float("nan")


def median(xs) -> float: return statistics.median(xs)


def machine() -> str:
    import platform, torch
    return (f"{os.cpu_count()}-core x86-64 CPU, torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
            f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start")


def write_section(title: str, text: str, path: Path | None = None) -> None:
    "Replace (or append) the section `## title` of BENCHMARKS.md, leaving the others untouched."
    path = path or repo_root() / "BENCHMARKS.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    head = f"## {title}"
    pat = re.compile(rf"^{re.escape(head)}\n.*?(?=^## |\Z)", re.S | re.M)
    body = text if text.startswith(head) else head + "\n\n" + text
    new = pat.sub(lambda _: body.rstrip("\n") + "\n\n", old) if pat.search(old) else old.rstrip("\n") + "\n\n" + body
    atomic_write_text(path, new.rstrip("\n") + "\n")
