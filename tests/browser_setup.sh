#!/usr/bin/env bash
# Install what tests/test_browser.py needs: Chromium (Debian package, only when missing and we are root)
# and Playwright (PyPI; its own browser downloads are never used: `playwright install` is not run).
# Exit 0: ready. Exit 3: cannot be installed here (the message says why; the test skips with it).
set -u
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != "0" ]; then
    echo "Chromium is missing (/usr/bin/chromium) and we are not root, so it cannot be installed (apt-get install chromium)"
    exit 3
  fi
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/tmp/mcwes_chromium_install.log 2>&1; then
    echo "apt-get install chromium failed (see /tmp/mcwes_chromium_install.log)"
    exit 3
  fi
fi
if ! python -c "import playwright.sync_api" 2>/dev/null; then
  if ! python -m pip install -q playwright >/tmp/mcwes_playwright_install.log 2>&1; then
    echo "pip install playwright failed (see /tmp/mcwes_playwright_install.log)"
    exit 3
  fi
fi
echo "browser test dependencies ready: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
