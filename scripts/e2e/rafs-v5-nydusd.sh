#!/usr/bin/env bash
# RAFS v5 end to end with the real launchers: bin/nydus-image create --fs-version 5 (dir-rafs and targz-rafs),
# merge of the two v5 layer bootstraps, check, then bin/nydusd mounts each v5 image over FUSE and diff -r equals
# the source. Exit 0 = pass, 77 = skip (jar not built / not root / no FUSE), other = fail.
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || { echo "skip: jar not built"; exit 77; }
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root (FUSE)"; exit 77; }
[[ -e /dev/fuse ]] || { echo "skip: no /dev/fuse"; exit 77; }

work="$(mktemp -d /tmp/nydus4j-e2e-v5.XXXXXX)"
nydusd_pid=""
cleanup() {
  [[ -n "$nydusd_pid" ]] && kill "$nydusd_pid" 2>/dev/null || true
  mountpoint -q "$work/mnt" 2>/dev/null && { umount "$work/mnt" 2>/dev/null || fusermount -u -z "$work/mnt" 2>/dev/null || true; }
  [[ -n "$nydusd_pid" ]] && wait "$nydusd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
bin="$root/bin"

src="$work/src"
cp -a "$root/samples/sample-tree" "$src"
head -c 3000000 /dev/urandom >"$src/random.bin"
seq 1 200000 >"$src/numbers.txt"
ln "$src/numbers.txt" "$src/numbers.hardlink"
ln -s numbers.txt "$src/numbers.symlink"
mkdir -p "$src/empty-dir"
setfattr -n user.v5 -v "xattr value" "$src/numbers.txt" 2>/dev/null || true
mkdir -p "$work/blobs" "$work/mnt"

mount_and_diff() { # $1 = bootstrap, $2 = expected tree
  "$bin/nydusd" --config "$work/nydusd.json" --bootstrap "$1" --mountpoint "$work/mnt" --log-level warn \
    >"$work/nydusd.log" 2>&1 &
  nydusd_pid=$!
  for _ in $(seq 1 150); do mountpoint -q "$work/mnt" && break; sleep 0.1; done
  mountpoint -q "$work/mnt" || { cat "$work/nydusd.log"; fail "nydusd did not mount $1"; }
  diff -r --no-dereference "$2" "$work/mnt" || fail "mounted v5 image $1 differs from $2"
  [[ "$(stat -c %i "$work/mnt/numbers.txt" 2>/dev/null)" == "$(stat -c %i "$work/mnt/numbers.hardlink" 2>/dev/null)" ]] \
    || [[ ! -e "$2/numbers.hardlink" ]] || fail "hard links do not share an inode in $1"
  if command -v getfattr >/dev/null && [[ -e "$2/numbers.txt" ]]; then
    [[ "$(getfattr --only-values -n user.v5 "$work/mnt/numbers.txt" 2>/dev/null)" == \
       "$(getfattr --only-values -n user.v5 "$2/numbers.txt" 2>/dev/null)" ]] || fail "xattr lost in $1"
  fi
  kill "$nydusd_pid"; wait "$nydusd_pid" 2>/dev/null || true; nydusd_pid=""
  for _ in $(seq 1 50); do mountpoint -q "$work/mnt" || break; sleep 0.1; done
  mountpoint -q "$work/mnt" && { umount "$work/mnt" 2>/dev/null || fusermount -u -z "$work/mnt"; }
  return 0
}
cat >"$work/nydusd.json" <<JSON
{"device":{"backend":{"type":"localfs","config":{"dir":"$work/blobs"}},"cache":{"type":"blobcache","config":{"work_dir":"$work/cache"}}},"mode":"direct","digest_validate":true,"enable_xattr":true}
JSON

# a directory, as one v5 image
"$bin/nydus-image" create --log-level warn --fs-version 5 -t dir-rafs -B "$work/dir.boot" -D "$work/blobs" "$src"
head -c 4 "$work/dir.boot" | od -An -tx1 | grep -q "53 46 41 52" || fail "dir.boot has no RAFS v5 magic"
"$bin/nydus-image" check --log-level warn -D "$work/blobs" "$work/dir.boot" | grep -q "RAFS filesystem metadata is valid" \
  || fail "check did not accept dir.boot"
mount_and_diff "$work/dir.boot" "$src"

# two tar.gz layers (the upper one replaces a file and deletes another), merged into one v5 bootstrap
mkdir -p "$work/upper"
echo "replaced in the upper layer" >"$work/upper/numbers.symlink"
touch "$work/upper/.wh.random.bin"
tar --xattrs -C "$src" -czf "$work/lower.tar.gz" .
tar -C "$work/upper" -czf "$work/upper.tar.gz" .
"$bin/nydus-image" create --log-level warn --fs-version 5 -t targz-rafs -B "$work/lower.boot" -D "$work/blobs" \
  -J "$work/lower.json" "$work/lower.tar.gz"
"$bin/nydus-image" create --log-level warn --fs-version 5 -t targz-rafs -B "$work/upper.boot" -D "$work/blobs" \
  -J "$work/upper.json" "$work/upper.tar.gz"
grep -q '"fs_version" : "5"' "$work/lower.json" || fail "result JSON does not say fs_version 5"
ids="$(python3 -c 'import json,sys; print(",".join("sha256:"+json.load(open(f))["blobs"][-1] for f in sys.argv[1:]))' \
  "$work/lower.json" "$work/upper.json")"
"$bin/nydus-image" merge --log-level warn --blob-digests "$ids" -B "$work/merged.boot" "$work/lower.boot" "$work/upper.boot"
head -c 4 "$work/merged.boot" | od -An -tx1 | grep -q "53 46 41 52" || fail "merged.boot is not RAFS v5"
"$bin/nydus-image" check --log-level warn -D "$work/blobs" "$work/merged.boot" | grep -q "in 2 blobs" \
  || fail "check did not verify both blobs of merged.boot"
expected="$work/expected"
cp -a "$src" "$expected"
rm -f "$expected/random.bin" "$expected/numbers.symlink"
cp -a "$work/upper/numbers.symlink" "$expected/numbers.symlink"
mount_and_diff "$work/merged.boot" "$expected"
echo "rafs-v5-nydusd: all checks passed"
