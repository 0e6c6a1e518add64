#!/usr/bin/env bash
# nydusify convert throughput and peak RSS on a >= 700 MB two-layer image in a local docker-registry, against
# `skopeo copy` of the same image to a local OCI layout followed by `gzip -dc | tar -x` of its layers and
# `mksquashfs -comp zstd -Xcompression-level 3 -b 1M`, in the same run (median of RUNS).
# Needs docker-registry, skopeo, squashfs-tools, python3; reuses the seeded tree of create-throughput.sh.
# Usage: benchmarks/scripts/convert-throughput.sh [RUNS (default 3)]; BENCH_JAR=<jar> measures another CLI jar
# (e.g. an older build, for an A/B comparison in the same conditions)
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
runs="${1:-3}"
work="${BENCH_WORK:-/tmp/nydus4j-bench-convert}"
tree="${BENCH_TREE:-/tmp/nydus4j-bench-create/src}"
for t in docker-registry skopeo mksquashfs python3; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done
if [[ ! -d "$tree" ]]; then bash "$root/benchmarks/scripts/create-throughput.sh" 720 1 >/dev/null; fi
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || (cd "$root" && mvn -B -q -DskipTests package)
mkdir -p "$work.jar"
# a private copy of the jar (a rebuild during the run cannot change what is measured) and its AppCDS archive, built
# before measuring (as the launcher would build it in the background on first use)
cp -p "${BENCH_JAR:-$root/nydus-cli/target/nydus4j-cli.jar}" "$work.jar/nydus4j-cli.jar"
"$root/scripts/build-cds.sh" "$work.jar/nydus4j-cli.jar" >/dev/null
export NYDUS4J_JAR="$work.jar/nydus4j-cli.jar"
reg_pid=""
cleanup() { [[ -n "$reg_pid" ]] && kill "$reg_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s/registry}, delete: {enabled: true}}\nhttp: {addr: "127.0.0.1:%s"}\nlog: {level: error, accesslog: {disabled: true}}\n' "$work" "$port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
until curl -sf "http://127.0.0.1:$port/v2/" >/dev/null; do sleep 0.1; done
reg="127.0.0.1:$port"

echo "packing $tree as a two-layer OCI image and pushing it to $reg"
python3 - "$tree" "$work/oci" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile, zlib
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
# two layers of about the same size: the tree's entries (depth-first, sorted) split in half by count
names = []
for d, dirs, files in os.walk(src):
    dirs.sort()
    rel = os.path.relpath(d, src)
    if rel != ".":
        names.append(rel)
    names.extend(os.path.normpath(os.path.join(rel, f)) for f in sorted(files))
half = len(names) // 2
layers, diff_ids = [], []
for part in (names[:half], names[half:]):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for n in part:
            t.add(os.path.join(src, n), arcname=n, recursive=False)
    diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
    d, size = put(gzip.compress(raw.getvalue(), compresslevel=6, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": size})
cfg, cfg_size = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": [{}, {}]}).encode())
man, man_size = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size},
    "layers": layers}).encode())
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": man, "size": man_size, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
    open(out + "/index.json", "w"))
PY
skopeo copy --quiet --dest-tls-verify=false oci:"$work/oci":bench "docker://$reg/bench:latest"
image_bytes=$(du -sb "$tree" | cut -f1)

conv=(); pipe=(); rss=(); conv_cpu=(); pipe_cpu=(); conv_reg=(); pipe_reg=()
# CPU seconds (user + sys) the registry process has used so far
reg_cpu() { python3 -c 'import os,sys; f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split(); print((int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK"))' "$reg_pid"; }
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do
  # ours: pull + convert + push, registry to registry; a new repository per run, so that no run finds the blobs
  # of an earlier one (a registry answers HEAD per repository) and every run uploads them
  g0=$(reg_cpu)
  if ! /usr/bin/time -o "$work/time-$i" -f '%e %M %U %S' "$root/bin/nydusify" --log-level warn convert \
      --source "$reg/bench:latest" --target "$reg/bench-nydus-r$i-$$:latest" --source-insecure --target-insecure \
      --work-dir "$work/w$i" >/dev/null 2>"$work/nydusify-$i.err"; then
    echo "run $i: nydusify convert failed:" >&2; tail -20 "$work/nydusify-$i.err" >&2; exit 1
  fi
  read -r e m u s < <(tail -1 "$work/time-$i")
  conv+=("$e"); rss+=("$m"); conv_cpu+=("$(python3 -c "print(f'{$u + $s:.2f}')")")
  conv_reg+=("$(python3 -c "print(f'{$(reg_cpu) - $g0:.2f}')")")
  # baseline: skopeo copy to a layout, then gzip -dc | tar -x of each layer, then mksquashfs
  rm -rf "$work/pulled" "$work/rootfs" "$work/sq"; mkdir -p "$work/rootfs"
  g0=$(reg_cpu)
  read -r t c < <(python3 -c '
import resource, subprocess, sys, time
t0 = time.time()
subprocess.run(["bash", "-c", sys.argv[1]], check=True, stdout=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f %.2f" % (time.time() - t0, r.ru_utime + r.ru_stime))' "
  skopeo copy --quiet --src-tls-verify=false 'docker://$reg/bench:latest' oci:'$work/pulled':bench
  for l in \$(python3 -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+\"/index.json\")); m=json.load(open(d+\"/blobs/sha256/\"+i[\"manifests\"][0][\"digest\"][7:])); print(\" \".join(x[\"digest\"][7:] for x in m[\"layers\"]))' '$work/pulled'); do
    gzip -dc '$work/pulled/blobs/sha256/'\$l | tar -x -C '$work/rootfs'
  done
  mksquashfs '$work/rootfs' '$work/sq' -comp zstd -Xcompression-level 3 -b 1M -noappend -quiet >/dev/null")
  pipe+=("$t"); pipe_cpu+=("$c")
  pipe_reg+=("$(python3 -c "print(f'{$(reg_cpu) - $g0:.2f}')")")
  echo "run $i: nydusify ${conv[-1]} s wall, ${conv_cpu[-1]} CPU s (+ registry ${conv_reg[-1]}), ${rss[-1]} KB;" \
    "baseline ${pipe[-1]} s wall, ${pipe_cpu[-1]} CPU s (+ registry ${pipe_reg[-1]}); load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
load1="$(cut -d' ' -f1-3 /proc/loadavg)"
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.2f}')" "$@"; }
c=$(median "${conv[@]}"); p=$(median "${pipe[@]}"); r=$(median "${rss[@]}")
cc=$(median "${conv_cpu[@]}"); pc=$(median "${pipe_cpu[@]}"); cr=$(median "${conv_reg[@]}"); pr=$(median "${pipe_reg[@]}")
cat <<MD
Command: \`benchmarks/scripts/convert-throughput.sh $runs\` on $(date -u +%Y-%m-%d) ($(nproc) cores). Image: the seeded
tree of create-throughput.sh ($image_bytes bytes, half random, half text) as two gzip layers in a local
docker-registry. Median of $runs. Load average (1/5/15 min) before: $load0, after: $load1.

| run | wall s (median) | all samples | CPU s (median) | registry CPU s (median) |
|---|---|---|---|---|
| \`nydusify convert\` registry → registry (pull, convert, push blobs + bootstrap) | $c | ${conv[*]} | $cc | $cr |
| \`skopeo copy\` to an OCI layout + \`gzip -dc \\| tar -x\` per layer + \`mksquashfs -comp zstd -Xcompression-level 3 -b 1M\` | $p | ${pipe[*]} | $pc | $pr |

nydusify vs the baseline: **$(python3 -c "print(f'{$p / $c:.2f}')")×** wall; CPU seconds with the registry's:
$(python3 -c "print(f'{$cc + $cr:.2f} vs {$pc + $pr:.2f}, {($pc + $pr) / ($cc + $cr):.2f}')")×; nydusify peak RSS (\`/usr/bin/time %M\`): $((${r%.*} / 1024)) MiB.
MD
