#!/usr/bin/env bash
# Builds the images and runs the CPU one on a machine that has podman but reaches no container
# registry (docs/deploy.md, "Rehearsing the images without a registry"). Needs root, the Debian
# mirror and the npm registry.
#
#  1. A stand-in for node:20-bookworm-slim, tagged with that name. It is Debian bookworm
#     (debootstrap, minbase) with this machine's Node 20 at /usr/local/bin/node and its headers
#     under /usr/local/include/node, as the official image lays them out. It has npm 10.8.2 (the
#     npm that Node 20 ships), a user node (1000:1000), and this machine's CA bundle in
#     NODE_EXTRA_CA_CERTS when it has one (a TLS-inspecting proxy here; not needed elsewhere).
#  2. `podman build --pull=never` of Dockerfile; and of Dockerfile.gpu with CUDA_IMAGE set to the
#     stand-in (everything but the CUDA libraries, which only the NVIDIA base has).
#  3. The CPU image's ENTRYPOINT and CMD, as its USER, with its ENV and WORKDIR, in a new PID
#     namespace chrooted into the image, so tini is PID 1. `podman run` itself fails in this
#     sandbox: its runtimes get EPERM from setrlimit(RLIMIT_NPROC).
#  4. drain-check.mjs: a prediction, then SIGTERM to PID 1 under load; then the exit status. Last,
#     `sluice gpu doctor` inside the GPU image.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${WORK:-/tmp/sluice-image-rehearsal}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE=docker.io/library/node:20-bookworm-slim
mkdir -p "$WORK"

if ! podman image exists "$BASE"; then
  echo "== stand-in $BASE"
  R=$WORK/rootfs
  rm -rf "$R"
  debootstrap --variant=minbase bookworm "$R" "$MIRROR" >"$WORK/debootstrap.log"
  node_bin=$(node -p process.execPath)
  node_include=$(dirname "$node_bin")/../include/node
  mkdir -p "$R/usr/local/bin" "$R/usr/local/include" "$R/usr/local/lib/node_modules/npm"
  cp "$node_bin" "$R/usr/local/bin/node"
  cp -r "$node_include" "$R/usr/local/include/node"
  (cd "$WORK" && npm pack --silent npm@10.8.2 >/dev/null)
  tar -xzf "$WORK/npm-10.8.2.tgz" -C "$R/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$R/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$R/usr/local/bin/npx"
  chroot "$R" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node'
  changes=(--change 'CMD ["node"]')
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    mkdir -p "$R/etc/ssl/certs" && cp "$NODE_EXTRA_CA_CERTS" "$R/etc/ssl/certs/ca-certificates.crt"
    changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
  fi
  rm -rf "$R"/var/cache/apt/archives/*.deb
  tar -C "$R" -c . | podman import "${changes[@]}" - "$BASE" >/dev/null
fi

build() {
  podman build --pull=never --network=host --isolation=chroot --format docker "$@"
}
echo "== podman build -t sluice:rehearsal ."
build -t sluice:rehearsal . >"$WORK/build-cpu.log" 2>&1 || { tail -30 "$WORK/build-cpu.log"; exit 1; }
grep -E "^added [0-9]+ packages|npm (warn|WARN|error|ERR)|sluice native|SOLINK_MODULE|runtime set in" "$WORK/build-cpu.log" || true
echo "== podman build -f Dockerfile.gpu --build-arg CUDA_IMAGE=$BASE -t sluice:rehearsal-gpu ."
build -f Dockerfile.gpu --build-arg "CUDA_IMAGE=$BASE" -t sluice:rehearsal-gpu . >"$WORK/build-gpu.log" 2>&1 || { tail -30 "$WORK/build-gpu.log"; exit 1; }
grep -E "integrity|installed .*providers|GPU pack .* installed" "$WORK/build-gpu.log" || true
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep rehearsal

# Runs image $1's ENTRYPOINT + CMD (or the command after it) as its USER, chrooted, as PID 1 of a
# new PID namespace, in the background of this shell: STARTED is the PID of its unshare.
start() {
  local image=$1; shift
  local mnt user workdir
  mnt=$(podman image mount "$image")
  mountpoint -q "$mnt/dev" || mount --bind /dev "$mnt/dev"
  user=$(podman image inspect "$image" --format '{{.Config.User}}')
  workdir=$(podman image inspect "$image" --format '{{.Config.WorkingDir}}')
  local -a env cmd
  mapfile -t env < <(podman image inspect "$image" --format '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
  if [ $# -gt 0 ]; then cmd=("$@"); else mapfile -t cmd < <(podman image inspect "$image" --format '{{range .Config.Entrypoint}}{{println .}}{{end}}{{range .Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d'); fi
  local uid gid
  if [[ "$user" =~ ^([0-9]+)(:([0-9]+))?$ ]]; then uid=${BASH_REMATCH[1]}; gid=${BASH_REMATCH[3]:-$uid}
  else uid=$(chroot "$mnt" id -u "$user"); gid=$(chroot "$mnt" id -g "$user"); fi
  unshare --pid --fork --mount-proc="$mnt/proc" chroot --userspec="$uid:$gid" "$mnt" \
    /usr/bin/env -i "${env[@]}" /bin/sh -c "cd '$workdir' && exec \"\$@\"" sh "${cmd[@]}" >"$WORK/$(echo "$image" | tr ':/' '__').out" 2>&1 &
  STARTED=$!
}

echo "== what the CPU image holds"
mnt=$(podman image mount sluice:rehearsal)
chroot "$mnt" /bin/sh -c 'for t in g++ cc make python3 tsc; do command -v $t >/dev/null && echo "  has $t"; done; true'
echo "  /app: $(ls "$mnt/app" | tr '\n' ' ')"
for p in typescript vitest autocannon fastify; do [ -e "$mnt/app/node_modules/$p" ] && echo "  has dev dependency $p"; done
stat -c '  /app/dist owned by %U:%G, mode %A' "$mnt/app/dist"

echo "== the CPU image's CMD as PID 1"
start sluice:rehearsal
unshare_pid=$STARTED
for _ in $(seq 100); do pid1=$(pgrep -P "$unshare_pid" || true); [ -n "$pid1" ] && break; sleep 0.1; done
for _ in $(seq 300); do curl -fs -o /dev/null http://127.0.0.1:8000/v2/health/ready && break; sleep 0.2; done
ps -o pid=,user=,args= --pid "$pid1" --ppid "$pid1" | sed 's/^/  /'
node deploy/rehearse/drain-check.mjs 8000 "$pid1"
set +e; wait "$unshare_pid"; code=$?; set -e
echo "PID 1 exited with $code; its last log lines:"; tail -3 "$WORK/sluice_rehearsal.out" | cut -c1-200
[ "$code" -eq 0 ]

echo "== sluice gpu doctor in the GPU image (its base here has no CUDA)"
set +e
start sluice:rehearsal-gpu node dist/src/cli.js gpu doctor
doctor_pid=$STARTED
wait "$doctor_pid"; echo "gpu doctor exited with $? (1: something missing)"; cat "$WORK/sluice_rehearsal-gpu.out"
set -e
for image in sluice:rehearsal sluice:rehearsal-gpu; do
  mnt=$(podman image mount "$image"); umount "$mnt/dev" 2>/dev/null || true; podman image umount "$image" >/dev/null
done
