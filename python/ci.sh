#!/usr/bin/env bash
# CI step for the Python package (issue 20), called by .ci/run with the CLI binary:
# a virtual environment under target/, the wheel built by maturin (release, sharing the
# workspace's target/ cache) and installed into it, the pytest suite (which compares with the
# binary), and the example notebook executed by papermill on a small design.
set -euo pipefail
BIN="$(realpath "$1")"
cd "$(dirname "$0")"                      # python/
ROOT="$(cd .. && pwd)"
VENV="$ROOT/target/python-venv"
WHEELS="$ROOT/target/wheels"

if ! python3 -m venv "$VENV" 2>/dev/null; then
    # Debian's python3 needs python3-venv for ensurepip.
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install --quiet "maturin>=1.9,<2" pytest "pandas>=2" "ema_workbench>=2.5,<3" \
    papermill ipykernel
"$PY" -m pip uninstall --quiet --yes orechain 2>/dev/null || true

rm -f "$WHEELS"/orechain-*.whl
"$VENV/bin/maturin" build --release --interpreter "$PY" --out "$WHEELS"
"$PY" -m pip install --quiet --force-reinstall --no-deps "$WHEELS"/orechain-*.whl

# Import the installed wheel, not the source folder.
(cd "$ROOT/target" && "$PY" -c "import orechain, sys; assert 'site-packages' in orechain.__file__, orechain.__file__")

# Run from target/, with the pytest script (not `python -m pytest`, which would put the current
# folder on sys.path): the tests must import the installed wheel, never python/orechain/.
(cd "$ROOT/target" && ORECHAIN_BIN="$BIN" "$VENV/bin/pytest" -q -p no:cacheprovider \
    --rootdir "$ROOT/python" "$ROOT/python/tests")

OUT="$ROOT/target/notebooks"
mkdir -p "$OUT"
"$VENV/bin/papermill" --cwd examples -k python3 \
    -p n_scenarios 6 -p n_policies 2 -p replicates 2 \
    examples/finance_ema.ipynb "$OUT/finance_ema.ipynb"
echo "notebook executed: $OUT/finance_ema.ipynb"
