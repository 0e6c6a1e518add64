#!/usr/bin/env bash
# Create throughput: nydus-image create (directory and tar.gz sources) against the classic pipelines
# gzip -dc | tar -x + mksquashfs (zstd level 3, 1 MiB blocks), and mkfs.erofs, on the same seeded ~700 MB tree.
# All inputs are in the page cache (24 GiB machine); each tool runs RUNS times, the median is reported.
# Usage: benchmarks/scripts/create-throughput.sh [--update-results] [SIZE_MB (default 720)] [RUNS (default 3)];
# BENCH_JAR=<jar> measures another CLI jar (default: nydus-cli/target/nydus4j-cli.jar)
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
update=0
if [[ "${1:-}" == "--update-results" ]]; then update=1; shift; fi
size_mb="${1:-720}"
runs="${2:-3}"
seed=20261128
work="${BENCH_WORK:-/tmp/nydus4j-bench-create}"
for t in mksquashfs mkfs.erofs gzip tar python3; do
  command -v "$t" >/dev/null || { echo "missing $t (run scripts/install-test-deps.sh)" >&2; exit 1; }
done
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || (cd "$root" && mvn -B -q -DskipTests package)

mkdir -p "$work"
# a private copy of the jar, so that a rebuild during the run cannot change what is measured
cp -p "${BENCH_JAR:-$root/nydus-cli/target/nydus4j-cli.jar}" "$work/nydus4j-cli.jar"
# and its AppCDS archive (as the launcher would build in the background on first use; built here, before measuring)
"$root/scripts/build-cds.sh" "$work/nydus4j-cli.jar"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
# through the launcher (its JVM options are what users get), pinned to the private jar copy
export NYDUS4J_BENCH_LAUNCHER="$root/bin/nydus-image" NYDUS4J_BENCH_JAR="$work/nydus4j-cli.jar"
ni() { NYDUS4J_JAR="$NYDUS4J_BENCH_JAR" "$NYDUS4J_BENCH_LAUNCHER" "$@"; }
src="$work/src"
if [[ ! -f "$work/.done-$size_mb-$seed" ]]; then
  rm -rf "$src" "$work/src.tar.gz" "$work"/.done-*
  echo "generating a ${size_mb} MB tree (seed $seed) in $src"
  python3 - "$src" "$size_mb" "$seed" <<'PY'
import os, random, sys
root, total_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9))) for _ in range(2000)]
def content(n):
    # about half compressible text, half random bytes, interleaved in 64 KiB pieces
    out = bytearray()
    while len(out) < n:
        piece = min(65536, n - len(out))
        if rnd.random() < 0.5:
            buf = bytearray()
            while len(buf) < piece:
                buf += b" ".join(rnd.choices(words, k=64)) + b"\n"
            out += buf[:piece]
        else:
            out += rnd.randbytes(piece)
    return bytes(out)
budget = total_mb * 1024 * 1024
written = files = 0
d = 0
while written < budget:
    sub = os.path.join(root, "d%03d" % (d // 40), "s%02d" % (d % 40))
    os.makedirs(sub, exist_ok=True)
    d += 1
    for i in range(50):
        r = rnd.random()
        n = rnd.randint(0, 4096) if r < 0.55 else rnd.randint(4096, 256 << 10) if r < 0.9 else rnd.randint(256 << 10, 8 << 20) if r < 0.99 else rnd.randint(16 << 20, 48 << 20)
        with open(os.path.join(sub, "f%03d.bin" % i), "wb") as f:
            f.write(content(n))
        written += n
        files += 1
        if written >= budget:
            break
print(f"{files} files, {written} bytes")
PY
  echo "creating $work/src.tar.gz (gzip -6)"
  tar -C "$src" -cf - . | gzip -6 >"$work/src.tar.gz"
  touch "$work/.done-$size_mb-$seed"
fi
src_bytes=$(du -sb --apparent-size "$src" | cut -f1)
gz_bytes=$(stat -c %s "$work/src.tar.gz")
files=$(find "$src" -type f | wc -l)

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# tool name -> command (run with bash -c, the jar function exported) and output path to size
names=("nydus-image create dir-rafs" "nydus-image create targz-rafs" "gzip -dc | tar -x + mksquashfs"
       "mksquashfs only (dir)" "mkfs.erofs (dir, uncompressed)" "mkfs.erofs -zlz4 (dir)")
cmds=("ni create --log-level warn -t dir-rafs -B '$work/out/image.boot' -D '$work/out/blobs' '$src'"
      "ni create --log-level warn -t targz-rafs -B '$work/out/image.boot' -D '$work/out/blobs' '$work/src.tar.gz'"
      "mkdir -p '$work/out/x' && gzip -dc '$work/src.tar.gz' | tar -x -C '$work/out/x' && mksquashfs '$work/out/x' '$work/out/img.sqfs' -comp zstd -Xcompression-level 3 -b 1M -noappend -quiet -no-progress"
      "mksquashfs '$src' '$work/out/img.sqfs' -comp zstd -Xcompression-level 3 -b 1M -noappend -quiet -no-progress"
      "mkfs.erofs --quiet '$work/out/img.erofs' '$src'"
      "mkfs.erofs --quiet -zlz4 '$work/out/img.erofs' '$src'")
outs=("$work/out/image.boot $work/out/blobs" "$work/out/image.boot $work/out/blobs" "$work/out/img.sqfs"
      "$work/out/img.sqfs" "$work/out/img.erofs" "$work/out/img.erofs")
export -f ni
export work
declare -A times cpus result cpu size
# rounds interleave the tools, so that a busy period of the (shared, noisy) machine hits all of them alike
for ((round = 0; round < runs; round++)); do
  for i in "${!names[@]}"; do
    rm -rf "$work/out"; mkdir -p "$work/out/blobs"
    sync
    # wall seconds and CPU seconds (user+sys of the whole command tree): CPU time stays meaningful when other
    # work competes for the cores, wall time shows what a parallel pipeline gains from them
    read -r t c < <(python3 -c '
import resource, subprocess, sys, time
t0 = time.time()
subprocess.run(["bash", "-c", sys.argv[1]], check=True, stdout=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % (time.time() - t0, r.ru_utime + r.ru_stime))' "${cmds[$i]}")
    times[${names[$i]}]+="$t "
    cpus[${names[$i]}]+="$c "
    size[${names[$i]}]=$(du -sb --apparent-size ${outs[$i]} 2>/dev/null | awk '{s+=$1} END {print s+0}')
    printf 'round %d  %-34s %7.2f s wall %7.2f s cpu\n' "$round" "${names[$i]}" "$t" "$c"
  done
done
for k in "${names[@]}"; do
  result[$k]=$(tr ' ' '\n' <<<"${times[$k]}" | grep . | median)
  cpu[$k]=$(tr ' ' '\n' <<<"${cpus[$k]}" | grep . | median)
  printf '%-34s median %7.2f s wall (%s), %7.2f s cpu (%s), output %s bytes\n' "$k" "${result[$k]}" "${times[$k]}" \
    "${cpu[$k]}" "${cpus[$k]}" "${size[$k]}"
done

ratio=$(awk -v a="${result[gzip -dc | tar -x + mksquashfs]}" -v b="${result[nydus-image create targz-rafs]}" 'BEGIN {print a / b}')
cpu_ratio=$(awk -v a="${cpu[gzip -dc | tar -x + mksquashfs]}" -v b="${cpu[nydus-image create targz-rafs]}" 'BEGIN {print a / b}')
mbps() { awk -v n="$src_bytes" -v t="$1" 'BEGIN {print n / t / 1048576}'; }
section="$(
  echo "## nydus-image create throughput"
  echo
  echo "Command: \`benchmarks/scripts/create-throughput.sh $size_mb $runs\` on $(date -u +%Y-%m-%d) ($(nproc) cores," \
    "$(java -version 2>&1 | head -1 | tr -d '"')). Seeded tree (seed $seed): $files files, $src_bytes bytes" \
    "(about half random bytes, half text); its tar.gz (gzip -6) is $gz_bytes bytes. Page cache warm, median of $runs" \
    "interleaved rounds; load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine" \
    "was shared with other sessions)."
  echo "nydus-image: RAFS v6, zstd, blake3, 1 MiB chunks (defaults), through \`bin/nydus-image\` with its JVM options" \
    "and the jar's AppCDS archive ($( [[ -f "${NYDUS4J_BENCH_JAR%.jar}.jsa" ]] && echo present || echo absent))."
  echo
  echo "| tool | wall s (median) | MiB/s of tree data (wall) | CPU s (median) | all wall samples | output bytes |"
  echo "|---|---|---|---|---|---|"
  for k in "${names[@]}"; do
    printf '| %s | %.2f | %.0f | %.2f | %s | %s |\n' "${k//|/\\|}" "${result[$k]}" "$(mbps "${result[$k]}")" "${cpu[$k]}" \
      "${times[$k]% }" "${size[$k]}"
  done
  echo
  printf 'targz conversion vs the gzip+tar+mksquashfs pipeline, wall time: **%.2fx**; CPU time: **%.2fx** (target: at least 1.5x).\n' \
    "$ratio" "$cpu_ratio"
)"
echo
echo "$section"
if [[ $update -eq 1 ]]; then
  results="$root/benchmarks/RESULTS.md"
  python3 - "$results" "$section" <<'PY'
import os, sys
path, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
begin = text.find("<!-- create-throughput:latest:begin")
end = text.find("<!-- create-throughput:latest:end -->")
start = text.find("## nydus-image create throughput")
if 0 <= begin < end:
    # only the latest-run block; the analysis and older runs around it stay
    body = section.split("\n", 2)[2] if section.startswith("## ") else section
    text = text[:text.index("\n", begin) + 1] + body + text[end:]
elif start >= 0:
    nxt = text.find("\n## ", start + 1)
    text = text[:start] + section + (text[nxt + 1:] if nxt >= 0 else "")
else:
    text = text.rstrip() + "\n\n" + section
open(path, "w").write(text)
PY
  echo "updated $results"
fi
