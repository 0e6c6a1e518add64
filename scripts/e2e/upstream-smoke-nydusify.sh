#!/usr/bin/env bash
# Upstream nydus smoke test image_test.go (TestConvertAndCopyImage) and the convert.yml workflow with bin/nydusify,
# against a real docker-registry on 127.0.0.1 with no --*-insecure flags (plain http is found by the tools):
#   nydusify --log-level warn convert --source S --target T --fs-version 5|6 --nydus-image X --work-dir W --compressor lz4_block
#   nydusify --log-level warn check --source S --target T --nydus-image X --nydusd bin/nydusd --work-dir W/check
#   nydusify --log-level warn copy --source T --target T_copied --nydus-image X --work-dir W
#   nydusify --log-level warn check --source S --target T_copied ...   (and check --target alone)
#   convert.yml: convert --platform linux/amd64,linux/arm64 --output-json J; check with the default ./output work dir;
#   fsck.erofs -d1 output/nydus_bootstrap (with the blobs as --device, as upstream's patched fsck skips them)
#   nydusify mount --backend-type registry --target T --mount-path M   (upstream's commit test mounts this way)
# The source is a two-layer image built with umoci from busybox-static plus generated layers: a whiteout, an opaque
# directory, hard links, symlinks, user.* and security.capability xattrs, a device node, a fifo and a sparse file;
# check compares every file (bytes, modes, owners, xattrs) through bin/nydusd.
# Exit 0 = pass, 77 = skip (not root / tools missing), other = fail.
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || { echo "skip: jar not built"; exit 77; }
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root (FUSE, mknod, setcap)"; exit 77; }
for t in docker-registry skopeo umoci busybox python3 setcap setfattr curl; do
  command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[[ -e /dev/fuse ]] || { echo "skip: no /dev/fuse"; exit 77; }

work="$(mktemp -d /tmp/nydus4j-e2e-nydusify.XXXXXX)"
reg_pid=""; mount_pid=""
cleanup() {
  [[ -n "$mount_pid" ]] && kill "$mount_pid" 2>/dev/null || true
  [[ -n "$mount_pid" ]] && wait "$mount_pid" 2>/dev/null || true
  mountpoint -q "$work/mnt" 2>/dev/null && { umount "$work/mnt" 2>/dev/null || fusermount -u -z "$work/mnt" 2>/dev/null || true; }
  [[ -n "$reg_pid" ]] && kill "$reg_pid" 2>/dev/null || true
  [[ -n "$reg_pid" ]] && wait "$reg_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
nf="$root/bin/nydusify"; ni="$root/bin/nydus-image"; nd="$root/bin/nydusd"

# shellcheck source=lib/registry.sh
source "$root/scripts/e2e/lib/registry.sh"
registry_start "$work" || fail "registry did not start"

# --- the source image: two layers added as plain tars (GNU tar, PAX, xattrs kept)
cd "$work"
umoci init --layout layout >/dev/null
umoci new --image layout:latest >/dev/null
mkdir -p l1/bin l1/etc l1/data/sub l1/opq/old l1/del l2/opq l2/del l2/data
cp "$(command -v busybox)" l1/bin/busybox; ln -s busybox l1/bin/sh
echo motd >l1/etc/motd; setfattr -n user.origin -v layer1 l1/etc/motd
head -c 3000000 /dev/urandom >l1/data/big.bin; seq 1 50000 >l1/data/nums; ln l1/data/nums l1/data/nums.hl
echo old >l1/opq/old/f; echo keep >l1/opq/keep; echo gone >l1/del/gone; echo x >l1/data/sub/x
setcap CAP_NET_RAW+ep l1/data/sub/x
ln -s /etc/motd l1/etc/abs-link; ln -s ../data/nums l1/etc/rel-link
mknod l1/etc/null c 1 3; mkfifo l1/etc/fifo
truncate -s 5M l1/data/sparse; printf hole | dd of=l1/data/sparse bs=1 seek=3000000 conv=notrunc 2>/dev/null
: >l2/opq/.wh..wh..opq; echo new >l2/opq/new; : >l2/del/.wh.gone
echo "layer2" >l2/data/l2file; ln l2/data/l2file l2/data/l2link
for l in l1 l2; do
  tar --xattrs --xattrs-include='*' --format=pax -C "$l" -cf "$l.tar" .
  umoci raw add-layer --image layout:latest "$l.tar" >/dev/null
done
umoci config --image layout:latest --config.cmd /bin/sh --architecture amd64 --os linux >/dev/null
skopeo copy --quiet --dest-tls-verify=false oci:layout:latest "docker://$reg/app:latest"
src="$reg/app:latest"

for v in 5 6; do
  t="$reg/app:nydus-v$v"
  "$nf" --log-level warn convert --source "$src" --target "$t" --fs-version "$v" --nydus-image "$ni" \
    --work-dir "$work/w$v" --compressor lz4_block >"$work/convert$v.log" 2>&1 || { cat "$work/convert$v.log"; fail "convert v$v"; }
  "$nf" --log-level warn check --source "$src" --target "$t" --nydus-image "$ni" --nydusd "$nd" \
    --work-dir "$work/w$v/check" >"$work/check$v.log" 2>&1 || { cat "$work/check$v.log"; fail "check v$v"; }
  grep -q "0 difference(s)" "$work/check$v.log" || fail "check v$v compared no files"
  grep -q "xattrs not compared" "$work/check$v.log" && fail "check v$v did not compare xattrs"
  "$nf" --log-level warn copy --source "$t" --target "${t}_copied" --nydus-image "$ni" --work-dir "$work/w$v" \
    >"$work/copy$v.log" 2>&1 || { cat "$work/copy$v.log"; fail "copy v$v"; }
  [[ "$(skopeo inspect --raw --tls-verify=false "docker://$t" | sha256sum)" == \
     "$(skopeo inspect --raw --tls-verify=false "docker://${t}_copied" | sha256sum)" ]] || fail "copy v$v changed the manifest"
  "$nf" --log-level warn check --source "$src" --target "${t}_copied" --nydus-image "$ni" --nydusd "$nd" \
    --work-dir "$work/w$v/check" >"$work/checkc$v.log" 2>&1 || { cat "$work/checkc$v.log"; fail "check of the copy v$v"; }
  "$nf" --log-level warn check --target "${t}_copied" --nydus-image "$ni" --work-dir "$work/w$v/check" \
    >"$work/checkt$v.log" 2>&1 || { cat "$work/checkt$v.log"; fail "check --target alone v$v"; }
  echo "ok convert/check/copy/check fs-version $v"
done

# --- convert.yml: a platform list on a single-platform image, --output-json, the default ./output of check, fsck.erofs
mkdir -p "$work/yml" && cd "$work/yml"
"$nf" convert --source "$src" --target "$reg/app:nydus-nightly-v6" --fs-version 6 --platform linux/amd64,linux/arm64 \
  --output-json "$work/yml/app.json" >convert.log 2>&1 || { cat convert.log; fail "convert.yml convert"; }
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["SourceImageSize"] > 0 and j["TargetImageSize"] > 0 and j["ConversionElapsed"] > 0, j' \
  "$work/yml/app.json" || fail "--output-json lacks the sizes/elapsed the workflow reads"
rm -rf ./tmp
"$nf" check --source "$src" --target "$reg/app:nydus-nightly-v6" >check.log 2>&1 || { cat check.log; fail "convert.yml check"; }
[[ -s output/nydus_bootstrap ]] || fail "check left no output/nydus_bootstrap"
if command -v fsck.erofs >/dev/null; then
  devs=(); for b in output/blobs/*; do devs+=("--device=$b"); done
  fsck.erofs -d1 "${devs[@]}" output/nydus_bootstrap >fsck.log 2>&1 || { cat fsck.log; fail "fsck.erofs of output/nydus_bootstrap"; }
fi
cd "$work"
echo "ok convert.yml flow"

# --- nydusify mount --backend-type registry, read through the mount, unmount on SIGTERM
mkdir -p "$work/mnt"
"$nf" mount --target "$reg/app:nydus-v6_copied" --backend-type registry --mount-path "$work/mnt" \
  --work-dir "$work/mount-work" >"$work/mount.log" 2>&1 &
mount_pid=$!
for _ in $(seq 1 100); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
mountpoint -q "$work/mnt" || { cat "$work/mount.log"; fail "nydusify mount did not mount"; }
cmp l1/data/big.bin "$work/mnt/data/big.bin" || fail "mounted big.bin differs"
[[ "$(getfattr --only-values -n user.origin "$work/mnt/etc/motd" 2>/dev/null)" == layer1 ]] || fail "mounted xattr"
[[ ! -e "$work/mnt/del/gone" && ! -e "$work/mnt/opq/old" && -e "$work/mnt/opq/new" ]] || fail "whiteout/opaque through the mount"
kill -TERM "$mount_pid"; wait "$mount_pid" || true; mount_pid=""
mountpoint -q "$work/mnt" && fail "nydusify mount left the mount behind after SIGTERM"
echo "PASS upstream-smoke-nydusify"
