#!/usr/bin/env bash
# Read performance of an image mounted with our nydusd (FUSE) against squashfuse and the kernel's EROFS, on the
# same bytes in the same run: sequential read of a 1 GiB file (bs 1 MiB and 128 KiB, page cache dropped), a warm
# "read every file" scan, `ls -lR` cost per entry, nydusd's RSS, and spawn-to-usable-mount time.
# Every figure is printed with the 1-minute load average at the time it was taken, and for the FUSE daemons with
# the CPU time the daemon process spent (utime+stime from /proc/PID/stat): on this shared 2-vCPU machine the
# wall-clock figures swing with the other sessions' load, the daemon's CPU cost much less.
# Needs root (mounts, drop_caches), squashfs-tools, squashfuse, fuse3, libfuse2.
# Usage: benchmarks/scripts/fuse-read.sh [RUNS (default 3)]
# Env: BENCH_WORK (work dir), BENCH_REUSE=1 (keep the generated tree and images of a previous run in BENCH_WORK),
#      SPAWNS (spawn measurements, default 7), NYDUS4J_JAVA_OPTS (extra JVM options of the daemon, as bin/nydusd),
#      NYDUSD_ARGS (extra nydusd options, e.g. "--fuse-engine libfuse" to measure the libfuse2 engine).
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
runs="${1:-3}"
spawns="${SPAWNS:-7}"
work="${BENCH_WORK:-/tmp/nydus4j-bench-fuse}"
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 1; }
for t in mksquashfs squashfuse python3; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || (cd "$root" && mvn -B -q -DskipTests package)
ni="$root/bin/nydus-image"

pids=()
cleanup() {
  for m in "$work/m-nydus" "$work/m-squash" "$work/m-erofs"; do
    mountpoint -q "$m" 2>/dev/null && { fusermount -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
if [[ "${BENCH_REUSE:-0}" == 1 && -f "$work/image.boot" && -f "$work/image.sqfs" && -f "$work/image.erofs" ]]; then
  echo "reusing the tree and images in $work"
  for m in "$work/m-nydus" "$work/m-squash" "$work/m-erofs"; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m"
  done
  mkdir -p "$work"/{m-nydus,m-squash,m-erofs}
else
  rm -rf "$work" && mkdir -p "$work"/{src,blobs,m-nydus,m-squash,m-erofs}
  echo "generating: a 1 GiB file and 20 000 small files"
  head -c $((1 << 30)) /dev/urandom >"$work/src/big.bin"
  python3 - "$work/src" <<'PY'
import os, random, sys
rnd = random.Random(7)
for d in range(100):
    p = os.path.join(sys.argv[1], "tree", "d%03d" % d)
    os.makedirs(p)
    for f in range(200):
        with open(os.path.join(p, "f%03d" % f), "wb") as out:
            out.write(rnd.randbytes(rnd.randint(0, 8192)))
PY
  "$ni" create --log-level warn -t dir-rafs -B "$work/image.boot" -D "$work/blobs" "$work/src"
  mksquashfs "$work/src" "$work/image.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null
  "$ni" export --log-level warn --block -B "$work/image.boot" -D "$work/blobs" -O "$work/image.erofs" >/dev/null
fi
entries=$(find "$work/src" | wc -l)
# the launchers' AppCDS archive for the jar measured (built now rather than in the background during the spawns)
if [[ "${NYDUS4J_CDS:-on}" != off && -x "$root/scripts/build-cds.sh" ]]; then
  "$root/scripts/build-cds.sh" "${NYDUS4J_JAR:-$root/nydus-cli/target/nydus4j-cli.jar}" >/dev/null 2>&1 || true
fi
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

# spawn-to-usable-mount: from the launcher's start until a file of the image can be stat'ed; the daemon is stopped
# (SIGTERM, it unmounts) between spawns
spawn_once() {
  local s p
  s=$(date +%s%N)
  # shellcheck disable=SC2086 # NYDUSD_ARGS is a list of options
  "$root/bin/nydusd" --bootstrap "$work/image.boot" -D "$work/blobs" --mountpoint "$work/m-nydus" \
    --log-level warn ${NYDUSD_ARGS:-} >/dev/null 2>&1 &
  p=$!
  until stat "$work/m-nydus/big.bin" >/dev/null 2>&1; do
    kill -0 "$p" 2>/dev/null || { echo "nydusd died during start-up" >&2; exit 1; }
    sleep 0.002
  done
  echo $(( ($(date +%s%N) - s) / 1000000 ))
  kill "$p"; wait "$p" 2>/dev/null || true
  mountpoint -q "$work/m-nydus" && umount -l "$work/m-nydus"
  return 0
}
spawn_vals=(); spawn_load=$(load)
for _ in $(seq 1 "$spawns"); do spawn_vals+=("$(spawn_once)"); done
spawn_ms=$(median "${spawn_vals[@]}")

# shellcheck disable=SC2086
"$root/bin/nydusd" --bootstrap "$work/image.boot" -D "$work/blobs" --mountpoint "$work/m-nydus" \
  --apisock "$work/api.sock" --log-level info ${NYDUSD_ARGS:-} >"$work/nydusd.log" 2>&1 &
nydusd_pid=$!; pids+=("$nydusd_pid")
until stat "$work/m-nydus/big.bin" >/dev/null 2>&1; do sleep 0.005; done
squashfuse "$work/image.sqfs" "$work/m-squash"
squash_pid=$(pgrep -n -f "squashfuse $work/image.sqfs")
mount -t erofs -o ro,loop "$work/image.erofs" "$work/m-erofs"
declare -A pid=([nydus]=$nydusd_pid [squash]=$squash_pid)

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
cpu_ticks() { # $1 = pid (empty: kernel EROFS, no daemon): utime+stime in clock ticks
  if [[ -n "$1" ]]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi
}
tck=$(getconf CLK_TCK)
# cold sequential read: prints "MiB/s daemon-CPU-ms"
seq_read() { # $1 = target, $2 = bs
  drop
  local c0 c1 t0 t1
  c0=$(cpu_ticks "${pid[$1]:-}"); t0=$(date +%s%N)
  dd if="$work/m-$1/big.bin" of=/dev/null bs="$2" status=none
  t1=$(date +%s%N); c1=$(cpu_ticks "${pid[$1]:-}")
  python3 -c "print(f'{1024 / (($t1 - $t0) / 1e9):.0f} {($c1 - $c0) * 1000 / $tck:.0f}')"
}

# the first nydusd read fills its blob cache from the localfs backend; every measured read comes after that and
# after one unmeasured cold read per target (the daemon's JIT compiles its read path meanwhile, and compiler threads
# count in its CPU time). The targets take turns within each run, so that the other sessions' load swings hit all
# three alike.
dd if="$work/m-nydus/big.bin" of=/dev/null bs=1M status=none
for t in nydus squash erofs; do seq_read "$t" 128K >/dev/null; done
declare -A r rc rl vals cpus loads
for bs in 1M 128K; do
  for _ in $(seq 1 "$runs"); do
    for t in nydus squash erofs; do
      read -r v c < <(seq_read "$t" "$bs")
      vals[$t-$bs]+="$v "; cpus[$t-$bs]+="$c "; loads[$t-$bs]+="$(load) "
    done
  done
  for t in nydus squash erofs; do
    # shellcheck disable=SC2086 # space-separated lists
    r[$t-$bs]=$(median ${vals[$t-$bs]}); rc[$t-$bs]=$(median ${cpus[$t-$bs]}); rl[$t-$bs]=$(median ${loads[$t-$bs]})
  done
done
scan() { # $1 = target; prints "seconds daemon-CPU-ms" of a warm read of every file (after a warm-up pass)
  find "$work/m-$1" -type f -exec cat {} + >/dev/null
  local c0 c1 t0 t1
  c0=$(cpu_ticks "${pid[$1]:-}"); t0=$(date +%s%N)
  find "$work/m-$1" -type f -exec cat {} + >/dev/null
  t1=$(date +%s%N); c1=$(cpu_ticks "${pid[$1]:-}")
  python3 -c "print(f'{($t1 - $t0) / 1e9:.3f} {($c1 - $c0) * 1000 / $tck:.0f}')"
}
lslr() { # $1 = target; microseconds per entry of ls -lR (after one warm-up run)
  ls -lR "$work/m-$1" >/dev/null
  local t0 t1; t0=$(date +%s%N); ls -lR "$work/m-$1" >/dev/null; t1=$(date +%s%N)
  python3 -c "print(f'{($t1 - $t0) / 1e3 / $entries:.2f}')"
}
for _ in $(seq 1 "$runs"); do
  for t in nydus squash erofs; do
    read -r v c < <(scan "$t")
    vals[$t-scan]+="$v "; cpus[$t-scan]+="$c "; loads[$t-scan]+="$(load) "
    vals[$t-ls]+="$(lslr "$t") "; loads[$t-ls]+="$(load) "
  done
done
for t in nydus squash erofs; do
  for m in scan ls; do
    # shellcheck disable=SC2086 # space-separated lists
    r[$t-$m]=$(median ${vals[$t-$m]}); rl[$t-$m]=$(median ${loads[$t-$m]})
  done
  # shellcheck disable=SC2086
  rc[$t-scan]=$(median ${cpus[$t-scan]})
done
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$nydusd_pid/status"); rss_load=$(load)

ratio() { python3 -c "print(f'{float($1) / float($2):.2f}')"; }
cell() { echo "${r[$1]} (cpu ${rc[$1]} ms, load ${rl[$1]})"; }
engine=$(grep -o 'FUSE engine [a-z]*' "$work/nydusd.log" | head -1 | cut -d' ' -f3 || true)
[[ -n "$engine" ]] || engine="libfuse (a jar without the engine choice)"
cat <<MD
Command: \`benchmarks/scripts/fuse-read.sh $runs\` on $(date -u '+%Y-%m-%d %H:%M') UTC ($(nproc) cores, $(java -version 2>&1 | head -1)),
daemon JVM options of \`bin/nydusd\`${NYDUS4J_JAVA_OPTS:+ plus \`$NYDUS4J_JAVA_OPTS\`}${NYDUSD_ARGS:+, nydusd options \`$NYDUSD_ARGS\`};
FUSE engine: ${engine}.
Image: ${entries} entries (a 1 GiB random file, 20 000 files of 0–8 KiB in 100 directories); nydus: RAFS v6,
zstd, 1 MiB chunks, nydusd with the localfs backend and blobcache (\`-D\`), read once before measuring so that
chunks come from the cache; squashfuse (libfuse3, one thread) over \`mksquashfs -comp zstd -b 1M\`; kernel EROFS
over \`nydus-image export --block\` (loop). Cold reads: \`echo 3 > /proc/sys/vm/drop_caches\` before each \`dd\`;
median of $runs, the three targets taking turns. Cells: figure (CPU time of the FUSE daemon process during the
measure, 1-minute load average; medians).

| measure | nydusd (FUSE) | squashfuse | kernel EROFS | nydusd / squashfuse | nydusd / EROFS |
|---|---|---|---|---|---|
| sequential read, bs 1 MiB (MiB/s) | $(cell nydus-1M) | $(cell squash-1M) | ${r[erofs-1M]} (load ${rl[erofs-1M]}) | $(ratio "${r[nydus-1M]}" "${r[squash-1M]}")× | $(ratio "${r[nydus-1M]}" "${r[erofs-1M]}")× |
| sequential read, bs 128 KiB (MiB/s) | $(cell nydus-128K) | $(cell squash-128K) | ${r[erofs-128K]} (load ${rl[erofs-128K]}) | $(ratio "${r[nydus-128K]}" "${r[squash-128K]}")× | $(ratio "${r[nydus-128K]}" "${r[erofs-128K]}")× |
| warm read of every file (s) | $(cell nydus-scan) | $(cell squash-scan) | ${r[erofs-scan]} (load ${rl[erofs-scan]}) | | throughput $(ratio "${r[erofs-scan]}" "${r[nydus-scan]}")× |
| \`ls -lR\` (µs per entry) | ${r[nydus-ls]} (load ${rl[nydus-ls]}) | ${r[squash-ls]} (load ${rl[squash-ls]}) | ${r[erofs-ls]} | $(ratio "${r[nydus-ls]}" "${r[squash-ls]}")× | |

nydusd RSS after the runs: $((rss_kib / 1024)) MiB (load $rss_load); spawn of \`bin/nydusd\` to a usable mount:
median ${spawn_ms} ms of ${spawns} (${spawn_vals[*]} ms; load ${spawn_load} before the spawns).
MD
