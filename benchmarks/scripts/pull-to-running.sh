#!/usr/bin/env bash
# Pull-to-running time through containerd 1.6's CRI: a Nydus image through our snapshotter (containerd-nydus-grpc in
# the driver JVM, nydusd = bin/nydusd) against the same OCI image through containerd's built-in overlayfs, with the
# registry's bandwidth throttled by tc htb on the loopback registry port (egress of lo, source port = registry).
# Images: "small" = busybox-static rootfs (one layer); "big" = that plus a layer of BIG_MIB MiB of incompressible
# files (100 files), whose workload reads 6 of them (~6 %). Nydus images are converted with bin/nydusify.
# nydusd runs with the launcher's AppCDS archive (scripts/build-cds.sh, built first). Nydus runs twice: dedicated daemons (a nydusd JVM starts at the container's Prepare) and shared mode (the daemon
# starts with the snapshotter, as upstream's; the image is a sub-mount). Each measurement gets a fresh containerd root and snapshotter root (cold caches); the pause image is pulled
# before the clock starts. Time = CRI PullImage start -> container RUNNING (and -> workload exited).
# Driver: dev.nydus4j.snapshotter.e2e.PullToRunning (nydus-snapshotter test classes; the Java CRI client).
# Needs root, containerd, runc, docker-registry, skopeo, busybox-static, tc (iproute2), python3, /dev/fuse.
# Usage: benchmarks/scripts/pull-to-running.sh [RATE (tc rate, default 100mbit)] [BIG_MIB (default 1600)]
#        BENCH_ONLY=small|big limits the images; BENCH_RUNS=N repeats each row (medians printed); BENCH_WORK
#        (default /tmp/nydus4j-bench-p2r, logs of the last run) is wiped first; BENCH_KEEP_IMAGES=1 keeps the
#        registry data (3.3 GB) in $BENCH_WORK.registry for the next run (BENCH_REBUILD=1 rebuilds it anyway).
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
rate="${1:-100mbit}"
big_mib="${2:-1600}"
work="${BENCH_WORK:-/tmp/nydus4j-bench-p2r}"
only="${BENCH_ONLY:-}"
[[ "$(id -u)" == 0 ]] || { echo "needs root (containerd, FUSE, tc)" >&2; exit 1; }
for t in containerd runc docker-registry skopeo tc python3 curl; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
[[ -x /bin/busybox && -e /dev/fuse ]] || { echo "needs busybox-static and /dev/fuse" >&2; exit 1; }
if [[ ! -f "$root/nydus-cli/target/nydus4j-cli.jar" ]]; then
  (cd "$root" && mvn -B -q -o -pl nydus-cli -am install -DskipTests)
fi
# pin the CLI jar (nydusify, and nydusd as forked by the snapshotter) against rebuilds during the run
for attempt in 1 2 3 4 5 6; do # a copy taken while Maven rewrites the jar is corrupt: check and retry
  cp "$root/nydus-cli/target/nydus4j-cli.jar" "$work.jar"
  if unzip -tqq "$work.jar" >/dev/null 2>&1; then break; fi
  [[ $attempt == 6 ]] && { echo "$root/nydus-cli/target/nydus4j-cli.jar stays corrupt" >&2; exit 1; }
  sleep 10
done
export NYDUS4J_JAR="$work.jar"
# the launchers' AppCDS archive of that jar, built before the clock (else the first nydusd would build it in the
# background during a measurement); NYDUS4J_CDS=off measures without it
if [[ "${NYDUS4J_CDS:-on}" != off && -x "$root/scripts/build-cds.sh" ]]; then
  "$root/scripts/build-cds.sh" "$work.jar" 2>&1 | tail -1
fi
(cd "$root" && mvn -B -q -o -pl nydus-snapshotter test-compile \
  && mvn -B -q -o -pl nydus-snapshotter dependency:build-classpath -Dmdep.outputFile="$work.cp" >/dev/null)
# the project's own modules from their target/classes (the jars in ~/.m2 may predate the sources), copied: other
# builds in the same tree rewrite target/classes while the runs go on
rm -rf "$work.classes" && mkdir -p "$work.classes"
cp=""
for dir in "$root/nydus-snapshotter/target/test-classes" "$root/nydus-snapshotter/target/classes" $(tr ':' '\n' <"$work.cp" \
  | sed -E -e "s#^.*/dev/nydus4j/nydus-backend-([a-z0-9-]+)/[^/]+/[^/]+\.jar\$#$root/nydus-spi-backends/\1/target/classes#" \
    -e "s#^.*/dev/nydus4j/([a-z0-9-]+)/[^/]+/[^/]+\.jar\$#$root/\1/target/classes#"); do
  if [[ "$dir" == "$root"/* ]]; then
    copy="$work.classes/$(echo "${dir#"$root"/}" | tr '/' '_')"
    cp -r "$dir" "$copy"
    dir="$copy"
  fi
  cp="${cp:+$cp:}$dir"
done

reg_pid=""
tc_added=""
regdata="$work.registry"
cleanup() {
  if [[ -n "$tc_added" ]]; then tc qdisc del dev lo root handle 1: 2>/dev/null || true; fi
  if [[ -n "$reg_pid" ]]; then kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; fi
  rm -rf "$work.jar" "$work.cp" "$work.classes" "$work.jsa" "$work.jsa".*
  if [[ "${BENCH_KEEP_IMAGES:-0}" != 1 ]]; then rm -rf "$regdata"; fi
}
trap cleanup EXIT
if grep -q " $work/" /proc/self/mountinfo; then
  echo "mounts remain below $work; unmount them first" >&2; exit 1
fi
rm -rf "$work" && mkdir -p "$work"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# with BENCH_KEEP_IMAGES=1 the registry data stays in $work.registry for the next run with the same BIG_MIB
marker="$regdata/.images-$big_mib"
if [[ "${BENCH_REBUILD:-0}" == 1 || ! -f "$marker" ]] || { [[ "$only" != small ]] && ! grep -q big "$marker"; }; then
  rm -rf "$regdata"
fi
mkdir -p "$regdata"
printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: "127.0.0.1:%s"}\nlog: {level: error, accesslog: {disabled: true}}\n' "$regdata" "$port" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
reg_pid=$!
until curl -sf "http://127.0.0.1:$port/v2/" >/dev/null; do sleep 0.1; done
reg="127.0.0.1:$port"

if [[ -f "$marker" ]]; then
  echo "== reusing the images in $regdata ($(cat "$marker"))"
else
echo "== building images (busybox-static rootfs; big: + ${big_mib} MiB incompressible in 100 files)"
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do [[ "$applet" == busybox ]] || ln -s busybox "$rootfs/bin/$applet"; done
echo "hello from pull-to-running" >"$rootfs/etc/hello.txt"
printf 'root:x:0:0:root:/:/bin/sh\n' >"$rootfs/etc/passwd"
layout="$work/oci"
images=(busybox pause)
if [[ "$only" != small ]]; then
  data="$work/big/data"
  mkdir -p "$data"
  per=$((big_mib * 1024 * 1024 / 100))
  for i in $(seq -w 0 99); do head -c "$per" /dev/urandom >"$data/f$i"; done
  images+=(big)
fi
# OCI layout written with Python's tarfile (umoci 0.4.7's insert leaves the last entry unpadded and no end-of-archive
# blocks, which GNU tar and nydusify reject); gzip level 1 for the 1.6 GB layer
python3 - "$layout" "$rootfs" "$work/big" "${images[@]}" <<'PY'
import gzip, hashlib, json, os, sys, tarfile
layout, rootfs, big, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
os.makedirs(layout + "/blobs/sha256")
def put(path_or_bytes):
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
        d = hashlib.sha256(data).hexdigest()
        open(f"{layout}/blobs/sha256/{d}", "wb").write(data)
        return "sha256:" + d, len(data)
    h = hashlib.sha256()
    with open(path_or_bytes, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    d = h.hexdigest()
    os.rename(path_or_bytes, f"{layout}/blobs/sha256/{d}")
    return "sha256:" + d, os.path.getsize(f"{layout}/blobs/sha256/{d}")
class Digest:
    def __init__(self, f): self.f, self.h, self.n = f, hashlib.sha256(), 0
    def write(self, b): self.h.update(b); self.n += len(b); return self.f.write(b)
    def tell(self): return self.n
    def flush(self): self.f.flush()
def layer(src):
    tmp = layout + "/layer.tmp"
    with open(tmp, "wb") as raw:
        gz = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0)
        dg = Digest(gz)
        with tarfile.open(fileobj=dg, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name in sorted(os.listdir(src)):
                t.add(os.path.join(src, name), arcname=name)
        gz.close()
    diff = "sha256:" + dg.h.hexdigest()
    digest, size = put(tmp)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}, diff
base, base_diff = layer(rootfs)
pause_cmd = ["/bin/sh", "-c", 'trap "exit 0" TERM INT; while true; do sleep 1; done']
manifests = []
for name in names:
    layers, diffs = [base], [base_diff]
    if name == "big":
        l, d = layer(big)
        layers.append(l); diffs.append(d)
    cmd = pause_cmd if name == "pause" else ["/bin/sh"]
    config = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"], "Cmd": cmd},
              "rootfs": {"type": "layers", "diff_ids": diffs}}
    cd, cs = put(json.dumps(config).encode())
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
         "layers": layers}
    md, ms = put(json.dumps(m).encode())
    manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                      "annotations": {"org.opencontainers.image.ref.name": name}})
open(layout + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
json.dump({"schemaVersion": 2, "manifests": manifests}, open(layout + "/index.json", "w"))
PY
rm -rf "$work/big"
for tag in "${images[@]}"; do
  skopeo copy -q --dest-tls-verify=false "oci:$layout:$tag" "docker://$reg/e2e/$tag:latest"
done
conv=(busybox)
[[ "$only" != small ]] && conv+=(big)
for tag in "${conv[@]}"; do
  start=$(date +%s%N)
  "$root/bin/nydusify" convert --source "oci:$layout:$tag" --target "$reg/e2e/$tag-nydus:latest" --plain-http \
    --work-dir "$work/convert-$tag" >"$work/nydusify-$tag.log" 2>&1 \
    || { cat "$work/nydusify-$tag.log" >&2; exit 1; }
  echo "nydusify $tag: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
rm -rf "$layout"
echo "${images[*]}" >"$marker"
fi
du -sh "$regdata" | sed 's/^/registry data: /'

echo "== throttling 127.0.0.1:$port to $rate (tc htb on lo, source port $port; other loopback traffic unclassified)"
if tc qdisc show dev lo | grep -q htb; then echo "lo already has an htb qdisc (someone else's?)" >&2; exit 1; fi
tc qdisc add dev lo root handle 1: htb
tc_added=1
tc class add dev lo parent 1: classid 1:1 htb rate "$rate" ceil "$rate" burst 64k cburst 64k
tc filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport "$port" 0xffff flowid 1:1
# check: 16 MiB of the last layer of the largest OCI image through the throttle (a Range GET)
check="$(awk '{print $NF}' "$marker")"
blob="$(curl -sf "http://$reg/v2/e2e/$check/manifests/latest" -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][-1]["digest"])')"
speed="$(curl -sf -r 0-16777215 -o /dev/null -w '%{speed_download}' "http://$reg/v2/e2e/$check/blobs/$blob")"
python3 -c "print('measured through the throttle: %.1f MB/s' % ($speed / 1e6))"

run() { # name snapshotter image cmd: BENCH_RUNS times
  local i
  for i in $(seq 1 "${BENCH_RUNS:-1}"); do run_once "$1-$i" "$2" "$3" "$4"; done
}
run_once() { # name snapshotter image cmd
  local load out
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  out="$(cd "$work" && java -Xmx1g -cp "$cp" dev.nydus4j.snapshotter.e2e.PullToRunning "$work/run-$1" "$reg" "$2" \
    "$reg/e2e/$3:latest" "$root/bin/nydusd" "$4" 2>"$work/run-$1.err")" \
    || { echo "$out"; tail -30 "$work/run-$1.err" >&2; exit 1; }
  echo "$out" | grep -v '^RESULT' | sed "s/^/  [$1] /"
  echo "$out" | grep '^RESULT' | sed "s/\$/ load=${load// /,}/" >>"$work/results.txt"
}
: >"$work/results.txt"
small_cmd='cat /etc/hello.txt; ls /bin | wc -l'
big_cmd='cat /data/f00 /data/f17 /data/f33 /data/f50 /data/f67 /data/f84 | wc -c'
if [[ "$only" != big ]]; then
  run small-overlayfs overlayfs busybox "$small_cmd"
  run small-nydus nydus busybox-nydus "$small_cmd"
  run small-nydus-shared nydus-shared busybox-nydus "$small_cmd"
fi
if [[ "$only" != small ]]; then
  run big-overlayfs overlayfs big "$big_cmd"
  run big-nydus nydus big-nydus "$big_cmd"
  run big-nydus-shared nydus-shared big-nydus "$big_cmd"
fi

echo "== results (rate $rate; ms from PullImage start)"
python3 - "$work/results.txt" <<'PY'
import statistics, sys
rows = [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in open(sys.argv[1]) if l.strip()]
print(f"{'image':<22}{'snapshotter':<14}{'pull':>8}{'running':>9}{'done':>9}  load")
for r in rows:
    print(f"{r['image']:<22}{r['snapshotter']:<14}{r['pull_ms']:>8}{r['running_ms']:>9}{r['done_ms']:>9}  {r['load']}")
groups = {}
for r in rows:
    groups.setdefault((r["image"].split(":")[0].replace("-nydus", ""), r["snapshotter"]), []).append(r)
by = {k: {c: statistics.median(int(r[c]) for r in v) for c in ("pull_ms", "running_ms", "done_ms")}
      for k, v in groups.items()}
if any(len(v) > 1 for v in groups.values()):
    print("medians:")
    for (img, sn), m in by.items():
        print(f"  {img:<20}{sn:<14}{m['pull_ms']:>8.0f}{m['running_ms']:>9.0f}{m['done_ms']:>9.0f}"
              f"  (n={len(groups[(img, sn)])})")
for img in ("busybox", "big"):
    o = by.get((img, "overlayfs"))
    for mode in ("nydus", "nydus-shared"):
        n = by.get((img, mode))
        if o and n:
            print(f"{img}: {mode}/overlayfs running {int(n['running_ms'])/int(o['running_ms']):.3f}x, "
                  f"done {int(n['done_ms'])/int(o['done_ms']):.3f}x")
PY
