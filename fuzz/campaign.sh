#!/usr/bin/env bash
# Run a fuzz campaign: fuzz/campaign.sh [TARGET] [SECONDS] [extra libFuzzer flags...]
#
# Seeds the corpus from the shipped scenarios (or sweep files) and fuzz/seeds/TARGET, then runs libFuzzer with one
# job (the machine has 2 cores). Crashes land in fuzz/artifacts/TARGET/. Only the stable toolchain
# is installed: RUSTC_BOOTSTRAP=1 lets it accept the nightly flags cargo-fuzz passes.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:-scenario}"
seconds="${2:-600}"
shift $(( $# > 2 ? 2 : $# ))

mkdir -p "corpus/$target" "artifacts/$target"
case "$target" in
    scenario) cp ../scenarios/*.ron "corpus/$target/" ;;
    sweep) cp ../scenarios/sweeps/*.ron "corpus/$target/" ;;
esac
if [ -d "seeds/$target" ]; then
    cp seeds/"$target"/* "corpus/$target/"
fi

dict=()
if [ -f "$target.dict" ]; then
    dict=(-dict="$target.dict")
fi

RUSTC_BOOTSTRAP=1 exec cargo fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=16384 \
    -print_final_stats=1 "${dict[@]}" "$@"
