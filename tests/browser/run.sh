#!/usr/bin/env bash
# Issue 17: open report.html of a baseline ensemble and of a comparison in a real headless browser
# (Debian's chromium, installed by .ci/run). Each page must load with no console message of level
# warning or error and no failed resource, and its screenshot must not be blank. A canary page that
# logs a console error must be caught, so the console check itself cannot silently pass.
# Usage: tests/browser/run.sh [ORECHAIN_BINARY]   (from the repository root)
set -euo pipefail
BIN=${1:-target/release/orechain}
BROWSER=$(command -v chromium || true)
if [ -z "$BROWSER" ]; then
    echo "tests/browser: chromium is not installed (apt-get install -y chromium); failing" >&2
    exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Console messages go to stderr as `...:INFO:CONSOLE(line)] "text", source: ...` with their level
# in the message for warnings and errors; failed loads as `net::ERR_...`.
load() {  # load PAGE SHOT LOG
    "$BROWSER" --headless --disable-gpu --no-sandbox --no-first-run --user-data-dir="$WORK/profile" \
        --enable-logging=stderr --v=0 --window-size=1280,2400 --hide-scrollbars \
        --virtual-time-budget=5000 --screenshot="$2" "file://$1" 2>"$3" >/dev/null || true
    "$BROWSER" --headless --disable-gpu --no-sandbox --no-first-run --user-data-dir="$WORK/profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom "file://$1" \
        2>>"$3" >"$2.dom" || true
}
problems() {  # problems LOG -> lines that are console output or failed resources
    grep -E 'CONSOLE|Uncaught|net::ERR_|Failed to load|Refused to' "$1" || true
}

echo "== browser: canary page with a console error must be caught"
printf '<!DOCTYPE html><html><body><p>canary</p><script>console.error("canary-error")</script></body></html>\n' \
    >"$WORK/canary.html"
load "$WORK/canary.html" "$WORK/canary.png" "$WORK/canary.log"
if ! problems "$WORK/canary.log" | grep -q canary-error; then
    echo "tests/browser: the console check did not see the canary's console.error; log:" >&2
    cat "$WORK/canary.log" >&2
    exit 1
fi

echo "== browser: build a baseline ensemble, a comparison and their reports"
"$BIN" run scenarios/baseline.ron --replicates 3 -j 2 -o "$WORK/baseline" >/dev/null
"$BIN" report "$WORK/baseline"
"$BIN" compare scenarios/baseline.ron scenarios/trilateral.ron --replicates 3 -j 2 \
    --no-figures -o "$WORK/compare-nofig" >/dev/null
"$BIN" compare "$WORK/compare-nofig/a" "$WORK/compare-nofig/b" -o "$WORK/compare" >/dev/null
"$BIN" report "$WORK/compare"

status=0
for page in baseline compare; do
    html="$WORK/$page/report.html"
    load "$html" "$WORK/$page.png" "$WORK/$page.log"
    found=$(problems "$WORK/$page.log")
    if [ -n "$found" ]; then
        echo "tests/browser: $page report: console messages or failed loads:" >&2
        echo "$found" >&2
        status=1
    fi
    if ! grep -q '<h1>orechain' "$WORK/$page.png.dom"; then
        echo "tests/browser: $page report: the loaded DOM has no <h1>orechain heading" >&2
        status=1
    fi
    if [ ! -s "$WORK/$page.png" ]; then
        echo "tests/browser: $page report: no screenshot" >&2
        status=1
    elif ! python3 tests/browser/png_ink.py "$WORK/$page.png" 0.01; then
        status=1
    fi
    imgs=$(grep -o '<img ' "$WORK/$page.png.dom" | wc -l)
    echo "$page: report.html loaded, $imgs embedded figures, no console errors"
    if [ -n "${BROWSER_SHOTS:-}" ]; then
        mkdir -p "$BROWSER_SHOTS" && cp "$WORK/$page.png" "$BROWSER_SHOTS/"
    fi
done
exit $status
