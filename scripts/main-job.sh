#!/usr/bin/env bash
# The main job: builds nydus4j, converts the bundled sample tree (plus a generated 3 MiB file) into a RAFS v6 image,
# checks it, lists it, prints its statistics, and reads one file lazily through the Java library; then packs the
# same tree as an OCI image (a local OCI layout, no registry needed), converts it with nydusify, and mounts the
# Nydus image lazily with nydusd over FUSE from the embedded localfs backend, showing bytes fetched vs image size
# (the mount part needs root for FUSE; as root it installs fuse3/libfuse2 if they are missing).
# Usage: scripts/main-job.sh [WORKDIR]      (default: a fresh directory under /tmp)
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/nydus4j-main-job.XXXXXX)}"
nydus_image="$root/bin/nydus-image"
jar="$root/nydus-cli/target/nydus4j-cli.jar"

step() { printf '\n== %s\n' "$*"; }

if [[ -z "${NYDUS4J_SKIP_BUILD:-}" ]]; then # set it to reuse an existing build
  step "building (mvn -B -q -DskipTests package)"
  (cd "$root" && mvn -B -q -DskipTests package)
fi

step "preparing the source tree in $work/src"
rm -rf "$work/src" "$work/blobs"
mkdir -p "$work/src" "$work/blobs"
cp -a "$root/samples/sample-tree/." "$work/src/"
# a seeded, partly compressible 3 MiB file so that the image has a file spanning several 1 MiB chunks
python3 - "$work/src/usr/share/doc/nydus4j/data.bin" <<'PY'
import random, sys
rnd = random.Random(4242)
with open(sys.argv[1], "wb") as f:
    for i in range(3 * 256):
        f.write(bytes(rnd.getrandbits(8) for _ in range(2048)) + b"nydus4j " * 256)
PY
ln -f "$work/src/etc/hostname" "$work/src/etc/hostname.hardlink"

step "nydus-image create (dir-rafs, zstd, blake3)"
"$nydus_image" create --log-level warn --type dir-rafs --bootstrap "$work/image.boot" --blob-dir "$work/blobs" \
  --output-json "$work/create.json" "$work/src"
cat "$work/create.json"

step "nydus-image check"
"$nydus_image" check --log-level warn --blob-dir "$work/blobs" "$work/image.boot"

step "nydus-image inspect -R ls (root) and stat of the big file"
"$nydus_image" inspect --log-level warn -R ls "$work/image.boot"
"$nydus_image" inspect --log-level warn -R "stat /usr/share/doc/nydus4j/data.bin" "$work/image.boot" | head -20

step "nydus-image stat"
"$nydus_image" stat --log-level warn -B "$work/image.boot"

step "nydus-image unpack, listing"
"$nydus_image" unpack --log-level warn --blob-dir "$work/blobs" --output "$work/image.tar" "$work/image.boot"
tar -tvf "$work/image.tar"

step "reading /etc/motd lazily through the library (RafsImage + LocalChunkReader)"
java -cp "$jar" "$root/scripts/ReadOneFile.java" "$work/image.boot" "$work/blobs" /etc/motd

step "packing the tree as an OCI image (local OCI layout $work/oci) and converting it with nydusify"
rm -rf "$work/oci" "$work/oci-nydus"
python3 - "$work/src" "$work/oci" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    for name in sorted(os.listdir(src)):
        t.add(os.path.join(src, name), arcname=name)
diff_id = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
layer, layer_size = put(gzip.compress(raw.getvalue(), mtime=0))
config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
          "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": [{"created_by": "nydus4j main job"}]}
cfg, cfg_size = put(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}]}
man, man_size = put(json.dumps(manifest).encode())
json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man,
          "size": man_size, "annotations": {"org.opencontainers.image.ref.name": "sample"}}]}, open(out + "/index.json", "w"))
PY
"$root/bin/nydusify" --log-level warn convert --source "oci:$work/oci:sample" --target "oci:$work/oci-nydus:sample" \
  --work-dir "$work/convert"
nydus_manifest="$(python3 - "$work/oci-nydus" <<'PY'
import json, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
m = idx["manifests"][0]["digest"].split(":")[1]
print(d + "/blobs/sha256/" + m)
PY
)"
python3 - "$nydus_manifest" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for l in m["layers"]:
    print(f"  {l['mediaType']:52} {l['size']:>9} bytes  {sorted((l.get('annotations') or {}).keys())}")
PY
boot_layer="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][-1]["digest"].split(":")[1])' "$nydus_manifest")"
mkdir -p "$work/nydus-boot" && tar -xzf "$work/oci-nydus/blobs/sha256/$boot_layer" -C "$work/nydus-boot"
blob_bytes="$(python3 -c 'import json,sys; print(sum(l["size"] for l in json.load(open(sys.argv[1]))["layers"][:-1]))' "$nydus_manifest")"

step "mounting the Nydus image lazily with nydusd (FUSE, localfs backend over the OCI layout's blobs)"
can_mount=1
if [[ $(id -u) -ne 0 ]]; then
  echo "not root: skipping the FUSE mount (run as root to see it)"; can_mount=0
elif ! ldconfig -p | grep -q 'libfuse.so.2' || ! command -v fusermount >/dev/null; then
  echo "installing fuse3 and libfuse2 for the mount"
  (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends fuse3 libfuse2 >/dev/null) \
    || { echo "could not install fuse3/libfuse2: skipping the mount"; can_mount=0; }
fi
if [[ $can_mount -eq 1 && -e /dev/fuse ]]; then
  mkdir -p "$work/mnt" "$work/cache"
  cat >"$work/nydusd.json" <<JSON
{"device":{"backend":{"type":"localfs","config":{"dir":"$work/oci-nydus/blobs/sha256"}},"cache":{"type":"blobcache","config":{"work_dir":"$work/cache"}}},"mode":"direct","digest_validate":false,"enable_xattr":true}
JSON
  "$root/bin/nydusd" --config "$work/nydusd.json" --bootstrap "$work/nydus-boot/image/image.boot" \
    --mountpoint "$work/mnt" --apisock "$work/api.sock" --log-level warn &
  nydusd_pid=$!
  trap 'kill $nydusd_pid 2>/dev/null; wait $nydusd_pid 2>/dev/null; mountpoint -q "$work/mnt" && fusermount -u -z "$work/mnt"' EXIT
  for _ in $(seq 1 150); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
  mountpoint -q "$work/mnt" || { echo "nydusd did not mount"; exit 1; }
  echo "mounted at $work/mnt:"; ls -l "$work/mnt" "$work/mnt/etc"
  echo "cat /etc/motd:"; cat "$work/mnt/etc/motd"
  fetched="$("$root/bin/nydusctl" --sock "$work/api.sock" --raw metrics backend \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["read_amount_total"])')"
  echo "lazy loading: fetched $fetched bytes from the backend of $blob_bytes bytes of blob data"
  "$root/bin/nydusctl" --sock "$work/api.sock" info
  kill -TERM "$nydusd_pid"; wait "$nydusd_pid" || true
  trap - EXIT
fi

step "done: image in $work (bootstrap image.boot, blobs in blobs/; OCI layouts oci/ and oci-nydus/)"
