#!/usr/bin/env bash
# The main job: builds nydus4j, converts the bundled sample tree (plus a generated 3 MiB file) into a RAFS v6 image,
# checks it, lists it, prints its statistics, and reads one file lazily through the Java library.
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

step "done: image in $work (bootstrap image.boot, blobs in blobs/)"
