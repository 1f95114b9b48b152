"""No real CAS(ME)^2 / SAMM-LV ground-truth row in the notebooks (sources and saved outputs) or the tests.

The real label files are licensed (see ../shared/annotations/README.md): fixtures and saved outputs use
synthetic rows, and cells that read ../shared print only aggregates. The real rows are read here, at test
time, from `mcwes.config.shared_dir()`; the test skips when the folder is absent. A row is found when a
distinctive (video, onset, offset) triple appears: the video's id (`15_0401`, `006_1`) followed, within a
few tokens, by its onset and offset (1-based as in the files, or 0-based as inside the package).
"""
from __future__ import annotations
import json
import re
from pathlib import Path
import pandas as pd
import pytest
from mcwes.config import shared_dir

ROOT = Path(__file__).resolve().parents[1]
WINDOW = 150                   # tokens after the video id in which onset and offset must both appear (a few lines of code)
NORMALIZED = {"casme2_intervals_megc2021.csv": r"^(\d+_\d{4})", "sammlv_intervals_megc2021.csv": r"^(\d{3}_\d+)$"}


def real_rows() -> dict[str, set[tuple[int, int]]]:
    "{video id: {(onset, offset), ...}} of the real files, both 1-based and 0-based; distinctive rows only."
    sh = shared_dir()
    folder = sh / "annotations" / "normalized" if sh else None
    if folder is None or not folder.is_dir(): pytest.skip("no ../shared/annotations/normalized: the real rows are not available here")
    rows: dict[str, set[tuple[int, int]]] = {}
    for name, pattern in NORMALIZED.items():
        df = pd.read_csv(folder / name, dtype={"video": str})
        for v, on, off in zip(df["video"], pd.to_numeric(df["onset"], errors="coerce"), pd.to_numeric(df["offset"], errors="coerce")):
            m = re.match(pattern, str(v))
            if not m or pd.isna(on) or pd.isna(off) or on < 10 or off <= on: continue   # 0 / missing offsets are not distinctive
            for base in (0, 1): rows.setdefault(m.group(1), set()).add((int(on) - base, int(off) - base))
    assert rows, "the normalized files gave no rows: has their layout changed?"
    return rows


def texts(path: Path) -> list[str]:
    "The text of a test file, or of a notebook's cell sources and its text outputs (images skipped)."
    if path.suffix == ".py": return [path.read_text(errors="replace")]
    nb, out = json.loads(path.read_text()), []
    for c in nb.get("cells", []):
        out.append("".join(c.get("source", "")))
        for o in c.get("outputs", []):
            if "text" in o: out.append("".join(o["text"]))
            for mime, v in o.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"): out.append(v if isinstance(v, str) else json.dumps(v))
    return out


TOKEN = re.compile(r"\d+(?:_\d+)*|[A-Za-z]+")


def hits(text: str, rows: dict[str, set[tuple[int, int]]]) -> list[str]:
    "Real (video, onset, offset) triples found in `text`."
    toks, found = TOKEN.findall(text), []
    for i, t in enumerate(toks):
        vid = next((v for v in rows if t == v or t.startswith(v + "_")), None)
        if vid is None: continue
        near = {int(x) for x in toks[i + 1:i + 1 + WINDOW] if x.isdigit()}
        found += [f"{vid} {on}-{off}" for on, off in rows[vid] if on in near and off in near]
    return found


def scanned() -> list[Path]:
    return sorted((ROOT / "nbs").glob("*.ipynb")) + sorted((ROOT / "tests").glob("*.py"))


def test_finder_finds_a_planted_row():
    rows = {"15_0401": {(557, 608)}}
    assert hits("s15, 15_0401girlcrashing, anger1_1, 557, 572, 608, MaE", rows) == ["15_0401 557-608"]
    assert hits("15_0401 557 then far away " + "x " * 160 + "608", rows) == []
    assert hits("15_0402 557 608", rows) == []


@pytest.mark.parametrize("path", scanned(), ids=lambda p: p.name)
def test_no_real_rows(path):
    if path.name == Path(__file__).name: return
    rows = real_rows()
    found = sorted({h for t in texts(path) for h in hits(t, rows)})
    assert not found, f"{path.relative_to(ROOT)} holds {len(found)} real ground-truth row(s), e.g. {found[:5]}: use synthetic rows, print aggregates only"
