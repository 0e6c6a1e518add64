#!/usr/bin/env bash
# Read performance of an image mounted with our nydusd (FUSE) against squashfuse and the kernel's EROFS, on the
# same bytes in the same run: sequential read of a 1 GiB file (bs 1 MiB and 128 KiB, page cache dropped), a warm
# "read every file" scan, `ls -lR` cost per entry, nydusd's RSS, and spawn-to-usable-mount time.
# Needs root (mounts, drop_caches), squashfs-tools, squashfuse, fuse3, libfuse2.
# Usage: benchmarks/scripts/fuse-read.sh [RUNS (default 3)]
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
runs="${1:-3}"
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
rm -rf "$work" && mkdir -p "$work"/{src,blobs,cache,m-nydus,m-squash,m-erofs}
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
entries=$(find "$work/src" | wc -l)

"$ni" create --log-level warn -t dir-rafs -B "$work/image.boot" -D "$work/blobs" "$work/src"
mksquashfs "$work/src" "$work/image.sqfs" -comp zstd -b 1M -noappend -quiet >/dev/null
"$ni" export --log-level warn --block -B "$work/image.boot" -D "$work/blobs" -O "$work/image.erofs" >/dev/null

# nydusd: spawn-to-usable-mount, measured from the launcher's start until a file can be stat'ed
start_ns=$(date +%s%N)
"$root/bin/nydusd" --bootstrap "$work/image.boot" -D "$work/blobs" --mountpoint "$work/m-nydus" \
  --apisock "$work/api.sock" --log-level warn >"$work/nydusd.log" 2>&1 &
nydusd_pid=$!; pids+=("$nydusd_pid")
until stat "$work/m-nydus/big.bin" >/dev/null 2>&1; do sleep 0.005; done
spawn_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
squashfuse "$work/image.sqfs" "$work/m-squash"
mount -t erofs -o ro,loop "$work/image.erofs" "$work/m-erofs"

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
mibs() { # $1 = file, $2 = bs; prints MiB/s of a cold sequential read
  drop
  local t0 t1; t0=$(date +%s%N)
  dd if="$1" of=/dev/null bs="$2" status=none
  t1=$(date +%s%N)
  python3 -c "print(f'{1024 / (($t1 - $t0) / 1e9):.0f}')"
}
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }

# the first nydusd read fills its blob cache from the localfs backend; every measured read comes after that
dd if="$work/m-nydus/big.bin" of=/dev/null bs=1M status=none
declare -A r
for bs in 1M 128K; do
  for t in nydus squash erofs; do
    vals=()
    for _ in $(seq 1 "$runs"); do vals+=("$(mibs "$work/m-$t/big.bin" "$bs")"); done
    r[$t-$bs]=$(median "${vals[@]}")
  done
done
scan() { # $1 = mountpoint; prints seconds of a warm read of every file
  find "$1" -type f -exec cat {} + >/dev/null
  local t0 t1; t0=$(date +%s%N); find "$1" -type f -exec cat {} + >/dev/null; t1=$(date +%s%N)
  python3 -c "print(f'{($t1 - $t0) / 1e9:.3f}')"
}
lslr() { # $1 = mountpoint; microseconds per entry of ls -lR (after one warm-up run)
  ls -lR "$1" >/dev/null
  local t0 t1; t0=$(date +%s%N); ls -lR "$1" >/dev/null; t1=$(date +%s%N)
  python3 -c "print(f'{($t1 - $t0) / 1e3 / $entries:.2f}')"
}
for t in nydus squash erofs; do r[$t-scan]=$(scan "$work/m-$t"); r[$t-ls]=$(lslr "$work/m-$t"); done
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$nydusd_pid/status")

ratio() { python3 -c "print(f'{float($1) / float($2):.2f}')"; }
cat <<MD
Command: \`benchmarks/scripts/fuse-read.sh $runs\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(java -version 2>&1 | head -1)).
Image: ${entries} entries (a 1 GiB random file, 20 000 files of 0–8 KiB in 100 directories); nydus: RAFS v6,
zstd, 1 MiB chunks, nydusd with the localfs backend and blobcache (\`-D\`), read once before measuring so that
chunks come from the cache; squashfuse over \`mksquashfs -comp zstd -b 1M\`; kernel EROFS over
\`nydus-image export --block\` (loop). Cold reads: \`echo 3 > /proc/sys/vm/drop_caches\` before each \`dd\`;
median of $runs.

| measure | nydusd (FUSE) | squashfuse | kernel EROFS | nydusd / squashfuse | nydusd / EROFS |
|---|---|---|---|---|---|
| sequential read, bs 1 MiB (MiB/s) | ${r[nydus-1M]} | ${r[squash-1M]} | ${r[erofs-1M]} | $(ratio "${r[nydus-1M]}" "${r[squash-1M]}")× | $(ratio "${r[nydus-1M]}" "${r[erofs-1M]}")× |
| sequential read, bs 128 KiB (MiB/s) | ${r[nydus-128K]} | ${r[squash-128K]} | ${r[erofs-128K]} | $(ratio "${r[nydus-128K]}" "${r[squash-128K]}")× | $(ratio "${r[nydus-128K]}" "${r[erofs-128K]}")× |
| warm read of every file (s) | ${r[nydus-scan]} | ${r[squash-scan]} | ${r[erofs-scan]} | | throughput $(ratio "${r[erofs-scan]}" "${r[nydus-scan]}")× |
| \`ls -lR\` (µs per entry) | ${r[nydus-ls]} | ${r[squash-ls]} | ${r[erofs-ls]} | $(ratio "${r[nydus-ls]}" "${r[squash-ls]}")× | |

nydusd RSS after the runs: $((rss_kib / 1024)) MiB; spawn of \`bin/nydusd\` to a usable mount: ${spawn_ms} ms.
MD
