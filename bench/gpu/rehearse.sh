#!/usr/bin/env bash
# Here, after pack.sh: plays the device session on this machine, call by call, as the device tool
# would (bench/gpu/README.md): a copy of what travels (tracked and untracked-not-ignored files),
# each call's carried part placed into it, the call's command run in it, its size against the
# 64 MiB limit. The run call must stop with exit 3 at `sluice gpu doctor` on a machine without a
# GPU; then `run --rehearse` measures the whole sequence with the cuda:0 versions on the CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT=$((64 << 20))
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$tree"
tracked=$(git ls-files -co --exclude-standard -z | xargs -0 du -cb | tail -1 | cut -f1)
parts=(.gpu-carry/part-*)
call=0
for part in "${parts[@]}"; do
  call=$((call + 1))
  carried=("$part")
  [ "$call" -eq 1 ] && carried+=(.gpu-carry/MANIFEST)
  bytes=$((tracked + $(du -cb "${carried[@]}" | tail -1 | cut -f1)))
  [ "$bytes" -le "$LIMIT" ] || { echo "call $call would carry $((bytes >> 20)) MiB: over 64 MiB"; exit 1; }
  # The last call receives its part and runs (bench/gpu/README.md's call table).
  command="bash bench/gpu/device.sh receive"
  [ "$call" -eq "${#parts[@]}" ] && command="$command && bash bench/gpu/device.sh run"
  echo "== call $call: carry ${carried[*]} ($((bytes >> 20)) MiB with the tree): $command"
  mkdir -p "$tree/.gpu-carry"
  cp "${carried[@]}" "$tree/.gpu-carry/"
  start=$(date +%s)
  set +e
  (cd "$tree" && eval "$command")
  code=$?
  set -e
  echo "   exit $code after $(( $(date +%s) - start )) s"
done
if [ "$code" -ne 3 ]; then
  echo "expected the last call to exit 3 (gpu doctor: no GPU here)"
  exit 1
fi
echo "== the rest, on the CPU: bash bench/gpu/device.sh run --rehearse --seconds 0.3 --batches 1,16"
(cd "$tree" && bash bench/gpu/device.sh run --rehearse --seconds 0.3 --batches 1,16)
