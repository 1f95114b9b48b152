#!/usr/bin/env bash
# Everything CI checks: notebooks and library in sync, notebook tests, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MPLBACKEND="${MPLBACKEND:-Agg}"

# 1. `nbdev_clean` and `nbdev_export` must not change any tracked file (nor add a module).
state() { git status --porcelain --untracked-files=all -- nbs mcwes; git diff -- nbs mcwes | sha1sum; }
before=$(state)
nbdev_clean >/dev/null
nbdev_export
after=$(state)
if [ "$before" != "$after" ]; then
  echo "FAIL: nbdev_clean / nbdev_export changed files; run them and commit the result:" >&2
  git status --porcelain --untracked-files=all -- nbs mcwes >&2
  exit 1
fi
echo "ok: notebooks are clean and mcwes/ matches them"

# 2. Every notebook's tests.
nbdev_test --n_workers 2 --do_print

# 3. The rest of the suite; pytest's closing line is the summary CI reads.
python -m pytest -q -p no:cacheprovider tests
