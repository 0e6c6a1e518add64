#!/usr/bin/env bash
# containerd/nydus-snapshotter's integration/entrypoint.sh, the steps containerd 1.6's ctr can drive, against
# bin/containerd-nydus-grpc started exactly as that script starts it (a background job of this script, so with
# SIGINT ignored; --daemon-mode multiple --fs-driver fusedev --recover-policy none --log-to-stdout --config-path):
#   reboot_containerd        readiness by retrying `ctr snapshots --snapshotter nydus prepare connectiontest-dummy-…`
#   start_container_on_oci   a plain OCI image (2 layers) pulled and run through the snapshotter
#   ctr_snapshot_usage       `ctr snapshot ls/usage` through the proxy equal the overlayfs snapshotter's for the
#                            same image (same layer chain ids, same sizes)
#   restart_snapshotter      `kill -INT` (upstream: killall -INT), a new snapshotter on the same root, run again
#   image rm                 the image's snapshots and directories are gone after containerd's GC
# Nydus images need CRI's labels (ctr 1.6 cannot pull them): the JUnit ITs of nydus-snapshotter cover those.
# Exit 0 = pass, 77 = skip (not root / tools missing), other = fail.
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || { echo "skip: jar not built"; exit 77; }
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root (containerd, mounts)"; exit 77; }
for t in containerd ctr runc docker-registry skopeo umoci busybox python3 curl; do
  command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
done

work="$(mktemp -d /tmp/nydus4j-e2e-sn.XXXXXX)"
reg_pid=""; ctrd_pid=""; sn_pid=""
cleanup() {
  [[ -n "$ctrd_pid" ]] && kill "$ctrd_pid" 2>/dev/null || true
  [[ -n "$sn_pid" ]] && kill "$sn_pid" 2>/dev/null || true
  [[ -n "$reg_pid" ]] && kill "$reg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  # shims of our containerd outlive it (containers are gone by now; ctr run --rm)
  for p in $(pgrep -f "containerd-shim.*$work" || true); do kill "$p" 2>/dev/null || true; done
  { grep -o " $work/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  if ! grep -q " $work/" /proc/self/mountinfo; then rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- snapshotter log (tail)" >&2; tail -20 "$work/sn.log" >&2 || true
  exit 1
}
retry() { # retry SECONDS CMD...: until CMD succeeds
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do (( SECONDS < end )) || return 1; sleep 0.5; done
}
bin="$root/bin"
# shellcheck source=lib/registry.sh
source "$root/scripts/e2e/lib/registry.sh"

# --- registry and a 2-layer busybox image ---
registry_start "$work" || fail "registry did not start"
cd "$work"
umoci init --layout oci >/dev/null
umoci new --image oci:bb >/dev/null
mkdir -p l1/bin l2/etc
cp "$(command -v busybox)" l1/bin/busybox
for a in sh cat ls grep; do ln -sf busybox "l1/bin/$a"; done
umoci insert --image oci:bb l1 / >/dev/null
echo "hello from the upper layer" >l2/etc/hello.txt
head -c 300000 /dev/urandom >l2/etc/random.bin
umoci insert --image oci:bb l2 / >/dev/null
umoci config --image oci:bb --config.cmd /bin/sh --config.env PATH=/bin --os linux --architecture amd64 >/dev/null
skopeo copy --quiet --dest-tls-verify=false oci:oci:bb "docker://$reg/e2e/bb:latest"
image="$reg/e2e/bb:latest"

# --- the snapshotter, as upstream's reboot_containerd starts it ---
sn_root="$work/sn"; sn_sock="$work/sn.sock"
echo '{"device":{"backend":{"type":"registry","config":{"scheme":"http","timeout":5}},"cache":{"type":"blobcache","config":{"work_dir":"cache"}}},"mode":"direct"}' >"$work/nydusd.json"
start_snapshotter() {
  "$bin/containerd-nydus-grpc" --daemon-mode multiple --fs-driver fusedev --recover-policy none --log-to-stdout \
    --config-path "$work/nydusd.json" --root "$sn_root" --address "$sn_sock" >>"$work/sn.log" 2>&1 &
  sn_pid=$!
  retry 60 test -S "$sn_sock" || fail "snapshotter socket did not appear"
}
start_snapshotter

# --- containerd with its own root/state/sockets, the snapshotter as proxy plugin "nydus" ---
c="$work/ctrd"; mkdir -p "$c"
cat >"$c/config.toml" <<TOML
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[debug]
  address = "$c/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
[proxy_plugins.nydus]
  type = "snapshot"
  address = "$sn_sock"
TOML
containerd --config "$c/config.toml" >"$work/containerd.log" 2>&1 &
ctrd_pid=$!
ctr() { command ctr --address "$c/containerd.sock" -n e2e "$@"; }
retry 30 ctr version || fail "containerd did not start"
connected() { # upstream: retry ctr snapshots --snapshotter=nydus prepare connectiontest-dummy-<suffix> ""
  local k="connectiontest-dummy-$RANDOM$RANDOM"
  retry 30 ctr snapshots --snapshotter nydus prepare "$k" "" || fail "containerd cannot reach the snapshotter"
  ctr snapshots --snapshotter nydus rm "$k"
}
connected
run() { # run NAME SNAPSHOTTER: prints the container's output
  ctr run --rm --fifo-dir "$work/fifo" --runc-root "$c/runc" --snapshotter "$2" "$image" "$1" \
    /bin/sh -c 'cat /etc/hello.txt; grep " / " /proc/self/mountinfo'
}

# --- start_container_on_oci ---
ctr images pull --plain-http --snapshotter nydus "$image" >/dev/null || fail "pull through the snapshotter"
out="$(run oci1 nydus)" || fail "container on the snapshotter: $out"
grep -q "hello from the upper layer" <<<"$out" || fail "container output: $out"
grep -q "lowerdir=$sn_root/snapshots/[0-9]*/fs:$sn_root/snapshots/[0-9]*/fs,upperdir=$sn_root/snapshots/" <<<"$out" \
  || fail "rootfs is not an overlay of the snapshotter's layers, nearest first: $out"
echo "ok start_container_on_oci"

# --- ctr_snapshot_usage: the same as containerd's own overlayfs snapshotter ---
ctr images pull --plain-http --snapshotter overlayfs "$image" >/dev/null || fail "pull through overlayfs"
usage_of() { ctr snapshots --snapshotter "$1" usage | awk 'NR > 1 && $1 ~ /^sha256:/ {print $1, $2, $3, $4}' | sort; }
nu="$(usage_of nydus)"; ou="$(usage_of overlayfs)"
[[ "$(wc -l <<<"$nu")" -eq 2 ]] || fail "expected the 2 layers in ctr snapshots usage: $nu"
[[ "$nu" == "$ou" ]] || fail "usage differs from overlayfs': nydus [$nu] overlayfs [$ou]"
ctr snapshots --snapshotter nydus ls | grep -q Committed || fail "ctr snapshots ls shows no committed layer"
echo "ok ctr_snapshot_usage: $(tr '\n' ';' <<<"$nu")"

# --- restart_snapshotter: killall -INT, then a new one on the same root ---
old="$sn_pid"
kill -INT "$old"
retry 20 bash -c "! kill -0 $old 2>/dev/null" || fail "snapshotter still running 20 s after SIGINT"
[[ ! -e "$sn_sock" ]] || fail "socket left behind after SIGINT"
start_snapshotter
connected
out="$(run oci2 nydus)" || fail "container after the restart: $out"
grep -q "hello from the upper layer" <<<"$out" || fail "container output after the restart: $out"
echo "ok restart_snapshotter (SIGINT)"

# --- image rm: containerd's GC removes the snapshots, their directories go ---
ctr images rm --sync "$image" >/dev/null 2>&1 # (ctr 1.6 logs a harmless "context canceled" here)
retry 20 bash -c "[[ -z \"\$(ctr --address '$c/containerd.sock' -n e2e snapshots --snapshotter nydus ls | tail -n +2)\" ]]" \
  || fail "snapshots left after image rm: $(ctr snapshots --snapshotter nydus ls)"
retry 20 bash -c "[[ -z \"\$(ls -A '$sn_root/snapshots')\" ]]" || fail "snapshot dirs left: $(ls "$sn_root/snapshots")"
! grep -q " $sn_root/" /proc/self/mountinfo || fail "mounts left below the snapshotter root"
echo "ok image rm: no snapshot, directory or mount left"
echo "PASS snapshotter-upstream-entrypoint"
