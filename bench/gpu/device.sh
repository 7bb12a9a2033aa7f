#!/usr/bin/env bash
# On the GPU machine (bench/gpu/README.md), in the repository root the device tool copies:
#   bash bench/gpu/device.sh receive     keep the parts this call carried; say which are still to come
#   bash bench/gpu/device.sh run [measure options]
#                                        check and unpack every part, point the loader at this
#                                        machine's CUDA 13 libraries, gpu doctor, then measure
# .gpu-stage/ is git-ignored: on one warm machine it stays from call to call.
# Exit status of run: 0 measured; 3 sluice gpu doctor says a cuda:N session cannot load (the first
# step that needs a GPU); anything else, a failure before it.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=.gpu-stage
OUT=${OUT:-$STAGE/out}
mkdir -p "$STAGE" "$OUT"
OUT=$(realpath "$OUT")

check_parts() {
  [ -f "$STAGE/MANIFEST" ] || { echo "no MANIFEST yet: the first call carries .gpu-carry/MANIFEST"; return 1; }
  local missing=0
  while read -r sum name; do
    [ "$name" = carry.tar.xz ] && continue
    if [ ! -f "$STAGE/$name" ]; then echo "  $name: still to come"; missing=1
    elif [ "$(sha256sum "$STAGE/$name" | cut -d' ' -f1)" != "$sum" ]; then echo "  $name: sha256 differs, carry it again"; rm -f "$STAGE/$name"; missing=1
    else echo "  $name: ok"; fi
  done < "$STAGE/MANIFEST"
  return $missing
}

case "${1:-}" in
  receive)
    [ -f .gpu-carry/MANIFEST ] && cp .gpu-carry/MANIFEST "$STAGE/"
    for p in .gpu-carry/part-*; do [ -f "$p" ] && mv "$p" "$STAGE/"; done
    check_parts && echo "every part is here: bash bench/gpu/device.sh run" || true
    ;;
  run)
    shift
    check_parts
    whole=$(grep ' carry.tar.xz$' "$STAGE/MANIFEST" | cut -d' ' -f1)
    [ "$(cat "$STAGE"/part-* | sha256sum | cut -d' ' -f1)" = "$whole" ] || { echo "the parts do not add up to the packed whole"; exit 1; }
    rm -rf "$STAGE/unpacked" && mkdir -p "$STAGE/unpacked"
    cat "$STAGE"/part-* | xz -d -T0 | tar -x -C "$STAGE/unpacked"
    APP=$STAGE/unpacked/sluice
    NODE=$APP/bin/node
    "$NODE" --version
    # The CUDA 13 libraries of this machine's Python environment (nvidia-* wheels), then any CUDA
    # toolkit folder: every folder that holds one of the sonames the provider needs.
    libdirs=$( { python3 - <<'PY' 2>/dev/null || true
import os
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
for root in roots:
    for d, _, files in os.walk(root):
        if any(f.startswith(("libcudart.so", "libcublas", "libcurand.so", "libcudnn.so")) for f in files):
            print(d)
PY
      for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && echo "$d"; done; } | sort -u | paste -sd: -)
    export LD_LIBRARY_PATH="${libdirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    nvidia-smi -L || true
    # The first step that needs a GPU.
    if ! "$NODE" "$APP/dist/src/cli.js" gpu doctor | tee "$OUT/gpu-doctor.txt"; then
      [[ " $* " == *" --rehearse "* ]] || { echo "gpu doctor: a cuda:N session cannot load here; stopping before the measurement"; exit 3; }
      echo "gpu doctor failed; --rehearse measures anyway"
    fi
    (cd "$APP" && bin/node dist/bench/gpu/measure.js --out "$OUT/gpu-bench.json" "$@") | tee "$OUT/gpu-bench.txt"
    ;;
  *)
    echo "usage: bash bench/gpu/device.sh receive | run [--seconds S] [--batches 1,2,...] [--gpu-workers N] [--rehearse]" >&2
    exit 2
    ;;
esac
