"Repository-level promises: the README's two commands, CI calling the test one, no licensed data in the tree."
import configparser, hashlib, re, subprocess
from pathlib import Path

import pytest
from mcwes.config import repo_root, shared_dir

ROOT = repo_root()


def _block(name):
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"<!-- {name} -->\s*```\n(.*?)\n```\s*<!-- /{name} -->", text, re.S)
    assert m, f"README.md lacks the {name} block"
    return m.group(1).strip()


def test_readme_has_exactly_two_commands():
    text = (ROOT / "README.md").read_text()
    assert text.count("<!-- main-command -->") == 1 and text.count("<!-- test-command -->") == 1
    main, test = _block("main-command"), _block("test-command")
    assert "\n" not in main and "\n" not in test
    assert "mcwes loso" in main and "data_samples/features" in main and "data_samples/annotations.csv" in main
    assert "tools/test.sh" in test


def test_ci_runs_the_readme_test_command():
    out = subprocess.run(["bash", "-c", "sed -n '/<!-- test-command -->/,/<!-- \\/test-command -->/p' README.md "
                          "| grep -v -e '^<!--' -e '^```'"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _block("test-command")
    assert "README.md" in (ROOT / ".ci" / "run").read_text()


def test_main_command_paths_exist():
    main = _block("main-command")
    for p in re.findall(r"(data_samples/\S+)", main):
        assert (ROOT / p).exists(), p


def test_torch_requirement_admits_2_13():
    cfg = configparser.ConfigParser(); cfg.read(ROOT / "settings.ini")
    req = [r for r in cfg["DEFAULT"]["requirements"].split() if r.startswith("torch")]
    assert req == ["torch>=2.1,<3"], req  # a bare 'torch' would pull a multi-GB CUDA build


def test_no_licensed_annotation_file_in_the_tree():
    sh = shared_dir()
    if sh is None: pytest.skip("../shared is absent: nothing to compare against")
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (sh / "annotations").rglob("*") if p.is_file()}
    digests |= {hashlib.sha256(p.read_bytes()).hexdigest() for p in (sh / "real_features").rglob("*.npz")}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    leaked = [t for t in tracked if (ROOT / t).is_file() and hashlib.sha256((ROOT / t).read_bytes()).hexdigest() in digests]
    assert not leaked, leaked


def _code_cell_lengths():
    "{notebook: [lines of each code cell]}, lines counted as len(source.rstrip('\\n').split('\\n'))."
    import json
    out = {}
    for nb in sorted((ROOT / "nbs").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        out[nb.name] = [len("".join(c["source"]).rstrip("\n").split("\n")) for c in cells if c["cell_type"] == "code"]
    return out


def test_code_cells_are_short():
    "Issue 13: at most 25 code cells over 20 lines across all notebooks, none over 40."
    lengths = _code_cell_lengths()
    long = {nb: [n for n in ls if n > 20] for nb, ls in lengths.items()}
    assert sum(map(len, long.values())) <= 25, {nb: l for nb, l in long.items() if l}
    assert not [(nb, n) for nb, ls in lengths.items() for n in ls if n > 40]
