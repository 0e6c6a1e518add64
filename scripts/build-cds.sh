#!/usr/bin/env bash
# Builds the AppCDS archive of the CLI jar: JAR -> JAR-without-.jar.jsa (plus .jsa.key), used by the launchers in
# bin/ (-XX:SharedArchiveFile) to start every tool faster: the classes of the JDK and of the jar that the tools load
# (picocli, commons-compress, the builder, the FUSE daemon, lambda proxies) are mapped pre-parsed and pre-verified
# instead of being loaded from the jar, and fewer methods need compiling at start.
#
# How: each tool runs a short training job in its own JVM with -XX:DumpLoadedClassList; the merged class list is
# dumped into one static archive (java -Xshare:dump), so that one archive serves every tool (a dynamic archive,
# -XX:ArchiveClassesAtExit, holds the classes of a single run only). The archive is written to a temporary file and
# renamed into place; its key file records the jar path, size and mtime and the java binary's, and the launchers
# use the archive only while the key still matches (a rebuilt jar or another JDK silently falls back to the JDK's
# default CDS). Never fails a build: any problem is reported on stderr and the script exits 0 without an archive.
#
# Runs (1) by hand or from scripts (scripts/test-all.sh, scripts/install.sh, benchmarks), and (2) from the launchers
# in the background (--background) when a tool starts and the archive is missing or stale: then at most one attempt
# per jar version (key in JSA.attempt), under a lock (JSA.lock), at low priority, and without the FUSE mount
# training. Set NYDUS4J_CDS=off to keep the launchers from using or building it.
# Usage: scripts/build-cds.sh [--background] [JAR]     (default: nydus-cli/target/nydus4j-cli.jar)
set -uo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd)"
background=0
if [[ "${1:-}" == "--background" ]]; then background=1; shift; fi
jar="$(readlink -f -- "${1:-$root/nydus-cli/target/nydus4j-cli.jar}")"
jsa="${jar%.jar}.jsa"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"

note() { echo "build-cds: $*" >&2; }
if [[ ! -f "$jar" ]]; then
  note "$jar not found; no archive built"
  exit 0
fi
javabin="$(command -v "$java" || true)"
if [[ -z "$javabin" ]]; then
  note "no java found; no archive built"
  exit 0
fi
# the launchers compute the same key (bin/nydus-image, cds_key)
key() { printf '%s %s\n' "$jar" "$(stat -L --printf '%s:%Y ' -- "$jar" "$javabin")"; }
key_before="$(key)"

up_to_date() { [[ -f "$jsa" && -f "$jsa.key" && "$(<"$jsa.key")" == "$key_before" ]]; }
if up_to_date; then
  echo "build-cds: $jsa is up to date"
  exit 0
fi
# one build at a time per archive (a lock older than 10 minutes is left over from a killed run); in the foreground,
# wait for a running build (a launcher may have started one in the background) and use its result
lock="$jsa.lock"
for ((waited = 0; ; waited++)); do
  if [[ -d "$lock" ]] && [[ -n "$(find "$lock" -maxdepth 0 -mmin +10 2>/dev/null)" ]]; then
    rmdir "$lock" 2>/dev/null || true
  fi
  mkdir "$lock" 2>/dev/null && break
  if [[ $background -eq 1 || $waited -ge 300 ]]; then
    note "another build of $jsa is running ($lock); nothing done"
    exit 0
  fi
  sleep 1
  if up_to_date; then
    echo "build-cds: $jsa is up to date (built by another run)"
    exit 0
  fi
done
printf '%s' "$key_before" >"$jsa.attempt" 2>/dev/null || true
if [[ $background -eq 1 ]]; then
  renice -n 19 -p $$ >/dev/null 2>&1 || true
fi
tmp="$(mktemp -d "${TMPDIR:-/tmp}/nydus4j-cds.XXXXXX")"
mounted=""
registry_pid=""
cleanup() {
  if [[ -n "$registry_pid" ]]; then
    kill "$registry_pid" 2>/dev/null || true
  fi
  if [[ -n "$mounted" ]] && mountpoint -q "$mounted"; then
    fusermount -u -z "$mounted" 2>/dev/null || umount -l "$mounted" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  rmdir "$lock" 2>/dev/null || true
}
trap cleanup EXIT

n=0
# run TOOL ARGS...: one training JVM, its loaded classes appended to its own list; output is discarded
train() {
  n=$((n + 1))
  timeout 120 "$java" -Xshare:auto -XX:DumpLoadedClassList="$tmp/classes.$n.lst" -jar "$jar" "$@" \
    >"$tmp/train.$n.out" 2>&1 || note "training run '$*' exited with $? (its classes are still used)"
}

src="$tmp/src"
if [[ -d "$root/samples/sample-tree" ]]; then
  cp -a "$root/samples/sample-tree" "$src"
else
  mkdir -p "$src/etc" && echo hello >"$src/etc/motd"
fi
# a file of several chunks, so that the chunk pipeline and the lane hashing run
head -c $((3 << 20)) /dev/urandom >"$src/data.bin" 2>/dev/null || true
ln -sf data.bin "$src/data.link"
tar -C "$src" -czf "$tmp/layer.tar.gz" .
mkdir -p "$tmp/blobs" "$tmp/blobs2"

# the tools' start-up paths, in the background alongside the image jobs below (2 cores here)
# (the daemons and clients run with JDK 17's COMPAT locale data, see bin/nydus-image: its classes are archived too)
for tool in nydusd nydusctl nydusify containerd-nydus-grpc nydus-overlayfs; do
  n=$((n + 1))
  timeout 60 "$java" -Xshare:auto -XX:DumpLoadedClassList="$tmp/classes.$n.lst" -Djava.locale.providers=COMPAT \
    -jar "$jar" "$tool" --help \
    >"$tmp/train.$n.out" 2>&1 &
done
train nydus-image --version
train nydus-image create --log-level warn -t dir-rafs -B "$tmp/dir.boot" -D "$tmp/blobs" "$src"
train nydus-image create --log-level warn -t targz-rafs -B "$tmp/tgz.boot" -D "$tmp/blobs2" "$tmp/layer.tar.gz"
train nydus-image check -B "$tmp/dir.boot" -D "$tmp/blobs" -J "$tmp/check.json"
train nydus-image inspect -R ls "$tmp/dir.boot"
train nydus-image stat -B "$tmp/dir.boot"
train nydus-image merge -B "$tmp/merged.boot" "$tmp/dir.boot" "$tmp/tgz.boot"
train nydus-image unpack "$tmp/dir.boot" -D "$tmp/blobs" --output "$tmp/unpacked.tar"
wait
# nydusify convert of a one-layer OCI layout (the training layer above): pushed to a local docker-registry when there
# is one (the converter, the shared hash pool, the registry client with its TLS probe and plain-http fallback, the
# streaming blob upload: ~0.15 CPU s less per conversion than with only --help trained), else to an OCI layout
if command -v python3 >/dev/null; then
  python3 - "$tmp/layer.tar.gz" "$tmp/oci" <<'PY' || note "cannot write the nydusify training image"
import gzip, hashlib, json, os, sys
layer, out = open(sys.argv[1], "rb").read(), sys.argv[2]
os.makedirs(out + "/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
cfg = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers",
    "diff_ids": ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()]}}).encode())
man = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **cfg),
    "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **put(layer))]}).encode())
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
json.dump({"schemaVersion": 2, "manifests": [dict(mediaType="application/vnd.oci.image.manifest.v1+json",
    annotations={"org.opencontainers.image.ref.name": "cds"}, **man)]}, open(out + "/index.json", "w"))
PY
  target="oci:$tmp/oci-nydus:cds"
  if [[ -f "$tmp/oci/index.json" ]] && command -v docker-registry >/dev/null; then
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    printf 'version: 0.1\nstorage: {filesystem: {rootdirectory: %s/registry}}\nhttp: {addr: "127.0.0.1:%s"}\nlog: {level: error, accesslog: {disabled: true}}\n' \
      "$tmp" "$port" >"$tmp/registry.yml"
    docker-registry serve "$tmp/registry.yml" >"$tmp/registry.out" 2>&1 &
    registry_pid=$!
    for _ in $(seq 1 100); do
      python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2)' "$port" 2>/dev/null \
        && { target="127.0.0.1:$port/cds:latest"; break; }
      sleep 0.1
    done
  fi
  if [[ -f "$tmp/oci/index.json" ]]; then
    train nydusify --log-level warn convert --source "oci:$tmp/oci:cds" --target "$target" --target-insecure \
      --work-dir "$tmp/nydusify-work"
  fi
  if [[ -n "$registry_pid" ]]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    registry_pid=""
  fi
fi
# nydusd's mount path (jnr-fuse, the FUSE session, the API server) when FUSE can be used here (root, /dev/fuse)
if [[ $background -eq 0 && $(id -u) -eq 0 && -e /dev/fuse ]] && command -v fusermount >/dev/null && command -v mountpoint >/dev/null; then
  mkdir -p "$tmp/mnt" "$tmp/cache"
  printf '{"device":{"backend":{"type":"localfs","config":{"dir":"%s"}},"cache":{"type":"blobcache","config":{"work_dir":"%s"}}},"mode":"direct","digest_validate":false}\n' \
    "$tmp/blobs" "$tmp/cache" >"$tmp/nydusd.json"
  n=$((n + 1))
  "$java" -Xshare:auto -XX:DumpLoadedClassList="$tmp/classes.$n.lst" -Djava.locale.providers=COMPAT \
    -jar "$jar" nydusd --config "$tmp/nydusd.json" \
    --bootstrap "$tmp/dir.boot" --mountpoint "$tmp/mnt" --apisock "$tmp/api.sock" --log-level warn \
    >"$tmp/nydusd.out" 2>&1 &
  pid=$!
  mounted="$tmp/mnt"
  for _ in $(seq 1 200); do mountpoint -q "$tmp/mnt" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if mountpoint -q "$tmp/mnt"; then
    ls -lR "$tmp/mnt" >/dev/null 2>&1 || true
    cat "$tmp/mnt/data.bin" >/dev/null 2>&1 || true
    train nydusctl --sock "$tmp/api.sock" info
  else
    note "nydusd did not mount (training without its mount path); its output:"
    tail -5 "$tmp/nydusd.out" >&2
  fi
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
fi

# merged list: every class and lambda line once (order of first appearance), comments dropped
cat "$tmp"/classes.*.lst 2>/dev/null | grep -v '^#' | awk '!seen[$0]++' >"$tmp/classes.lst"
if [[ ! -s "$tmp/classes.lst" ]]; then
  note "no classes recorded; no archive built"
  exit 0
fi
out="$(mktemp "$(dirname -- "$jsa")/.nydus4j-cds.XXXXXX")" || { note "cannot write in $(dirname -- "$jsa")"; exit 0; }
if ! "$java" -Xshare:dump -XX:SharedClassListFile="$tmp/classes.lst" -XX:SharedArchiveFile="$out" -cp "$jar" \
  >"$tmp/dump.out" 2>&1; then
  note "java -Xshare:dump failed; no archive built:"
  tail -5 "$tmp/dump.out" >&2
  rm -f "$out"
  exit 0
fi
if [[ "$(key)" != "$key_before" ]]; then
  note "$jar changed during the training; archive discarded"
  rm -f "$out"
  exit 0
fi
chmod 644 "$out"
rm -f "$jsa.key"
mv -f "$out" "$jsa"
printf '%s' "$key_before" >"$jsa.key.tmp" && mv -f "$jsa.key.tmp" "$jsa.key"
echo "build-cds: $jsa ($(wc -l <"$tmp/classes.lst") classes, $(($(stat -c %s "$jsa") >> 20)) MiB)"
