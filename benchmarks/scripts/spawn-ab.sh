#!/usr/bin/env bash
# Spawn-to-usable-mount of nydusd for several CLI jars (or launchers), alternating, to compare start-up changes in
# the same conditions: each round starts `bin/nydusd --bootstrap IMAGE -D BLOBS --mountpoint M` once per variant and
# stops it after a file of the image can be stat'ed; prints every wall time (ms from the launcher's start) and the
# daemon's CPU time (utime+stime) at that moment, then their medians. Needs root (FUSE mounts) and the image of
# benchmarks/scripts/fuse-read.sh (BENCH_WORK, default /tmp/nydus4j-bench-fuse).
# Usage: benchmarks/scripts/spawn-ab.sh ROUNDS VARIANT... where VARIANT is JAR or LAUNCHER_DIR:JAR (LAUNCHER_DIR
# holds a bin/nydusd, e.g. an older checkout's; default: this checkout). Each jar should have its AppCDS archive
# (scripts/build-cds.sh JAR) when it is to be compared as the launchers run it.
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
work="${BENCH_WORK:-/tmp/nydus4j-bench-fuse}"
[[ $# -ge 2 ]] || { echo "usage: $0 ROUNDS VARIANT..." >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }
[[ -f "$work/image.boot" ]] || { echo "no image in $work: run benchmarks/scripts/fuse-read.sh first" >&2; exit 1; }
rounds="$1"; shift
mnt="$work/m-nydus"; mkdir -p "$mnt"
one() { # $1 = variant; prints "wall_ms cpu_ms"
  local launcher="$root" jar="$1" s p e c
  if [[ "$1" == *:* ]]; then launcher="${1%%:*}"; jar="${1#*:}"; fi
  s=$(date +%s%N)
  NYDUS4J_JAR="$jar" "$launcher/bin/nydusd" --bootstrap "$work/image.boot" -D "$work/blobs" --mountpoint "$mnt" \
    --log-level warn >/dev/null 2>&1 &
  p=$!
  until stat "$mnt/big.bin" >/dev/null 2>&1; do
    kill -0 "$p" 2>/dev/null || { echo "nydusd ($1) died during start-up" >&2; return 1; }
    sleep 0.002
  done
  e=$(date +%s%N); c=$(awk '{print ($14 + $15) * 10}' "/proc/$p/stat")
  kill "$p"; wait "$p" 2>/dev/null || true
  if mountpoint -q "$mnt"; then umount -l "$mnt"; fi
  echo "$(( (e - s) / 1000000 )) $c"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
declare -A walls cpus
for _ in $(seq 1 "$rounds"); do
  for v in "$@"; do
    r="$(one "$v")"; read -r w c <<<"$r"
    walls[$v]+="$w "; cpus[$v]+="$c "
  done
done
echo "spawn-ab: $rounds rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for v in "$@"; do
  # shellcheck disable=SC2086 # space-separated lists
  echo "$v: wall ${walls[$v]}-> median $(median ${walls[$v]}) ms; CPU ${cpus[$v]}-> median $(median ${cpus[$v]}) ms"
done
