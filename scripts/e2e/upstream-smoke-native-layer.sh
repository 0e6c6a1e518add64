#!/usr/bin/env bash
# Upstream nydus smoke test native_layer_test.go against bin/nydus-image, driven the way nydus-snapshotter's converter
# (converter.Pack / converter.Merge, pkg/converter/tool/builder.go) drives nydus-image:
#   create --log-level warn --prefetch-policy fs --blob <FIFO> --whiteout-spec none --fs-version V --type tar-rafs
#          --blob-inline-meta [--features blob-toc] [--chunk-dict bootstrap=DICT] --compressor C --chunk-size S <tar FIFO>
#   (prefetch "/" on stdin), then the layer bootstrap is taken out of the blob through its ToC into a file named by the
#   blob's sha256 and merged: merge --prefetch-policy fs --output-json J --bootstrap OUT [--chunk-dict ...] <boots>.
# Upstream's texture layers (chunk dict, lower with hard links, symlinks, devices, fifo, non-ASCII and 255-byte names,
# a dangling symlink, holes, security.capability; upper with a whiteout and an opaque dir). Asserted as upstream does:
# repeatable blob digests, the merged blob list (a lower layer wholly in the chunk dict references only the dict blob),
# and the tree, now read back with unpack + GNU tar and, as root with FUSE, with bin/nydusd (xattrs, rdev, nlink).
# Also every upstream fixture through check / inspect / unpack (md5s of the v5 fixture against its .result).
# Exit 0 = pass, 77 = skip, other = fail.
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || { echo "skip: jar not built"; exit 77; }
for t in python3 zstd setcap getfattr; do command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }; done
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root (mknod of devices, setcap)"; exit 77; }

ni="$root/bin/nydus-image"
work="$(mktemp -d /tmp/nydus4j-e2e-smoke.XXXXXX)"
nydusd_pid=""
mnt="$work/mnt"
cleanup() {
  [[ -n "$nydusd_pid" ]] && kill "$nydusd_pid" 2>/dev/null || true
  mountpoint -q "$mnt" 2>/dev/null && { umount "$mnt" 2>/dev/null || fusermount -u -z "$mnt" 2>/dev/null || true; }
  [[ -n "$nydusd_pid" ]] && wait "$nydusd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- upstream's texture layers (smoke/tests/texture/layer.go), the large file 4 MiB instead of 13 GiB
src="$work/src"
mkdir -p "$src/dict" "$src/lower" "$src/upper"
(
  cd "$src/dict"
  printf file-1 >chunk-dict-file-1; printf file-2 >chunk-dict-file-2; printf dir-1/file-1 >chunk-dict-file-3
  printf dir-2/file-1 >chunk-dict-file-4; printf dir-1/file-2 >chunk-dict-file-5; printf 'This is poetry' >chunk-dict-file-6
  printf 'My name is long' >chunk-dict-file-7; head -c 4M /dev/urandom >chunk-dict-file-8
  truncate -s 1M chunk-dict-file-9; printf 'hello world' | dd of=chunk-dict-file-9 bs=1 seek=1024 conv=notrunc 2>/dev/null
  : >chunk-dict-file-10
  cd "$src/lower"
  printf file-1 >file-1; printf file-2 >file-2; mkdir -p dir-1 dir-2/dir-1; printf dir-2/file-1 >dir-2/file-1
  printf dir-1/file-1 >dir-1/file-1; ln dir-1/file-1 dir-1/file-1-hardlink-1; ln dir-1/file-1 dir-1/file-1-hardlink-2
  ln -s "$src/lower/dir-1/file-1" dir-1/file-1-symlink-1; ln -s "$src/lower/dir-1/file-1" dir-1/file-1-symlink-2
  mknod char-1 c 255 0; mknod block-1 b 255 0; mkfifo fifo-1
  printf 'This is poetry' >唐诗三百首
  long=""; for _ in $(seq 17); do long="${long}test-😉-name."; done; printf 'My name is long' >"$long"
  ln -s "$src/lower/dir-1/file-deleted" dir-1/file-deleted-symlink
  cp "$src/dict/chunk-dict-file-8" large-blob.bin
  truncate -s 1M file-hole-1; printf 'hello world' | dd of=file-hole-1 bs=1 seek=1024 conv=notrunc 2>/dev/null
  : >empty.txt; printf dir-1/file-2 >dir-1/file-2; setcap CAP_NET_RAW+ep dir-1/file-2
  cd "$src/upper"
  mkdir dir-1; printf dir-1/upper-file-1 >dir-1/file-1; : >dir-1/.wh.file-2
  mkdir dir-2; : >dir-2/.wh..wh..opq; printf dir-2/upper-file-1 >dir-2/file-1; setcap CAP_NET_RAW+ep dir-2/file-1
)
# the expected lower+upper tree
cp -a "$src/lower" "$src/overlay"
cp -a "$src/upper/dir-1/file-1" "$src/overlay/dir-1/file-1"; rm "$src/overlay/dir-1/file-2"
rm -rf "$src/overlay/dir-2"; mkdir "$src/overlay/dir-2"; cp -a "$src/upper/dir-2/file-1" "$src/overlay/dir-2/"
touch -r "$src/upper/dir-2" "$src/overlay/dir-2"; touch -r "$src/upper/dir-1" "$src/overlay/dir-1"

# converter.UnpackEntry: one ToC entry of a nydus blob, zstd-decompressed when flagged so
unpack_entry() { # blob name out
  python3 - "$1" "$2" "$3" <<'EOF'
import struct, subprocess, sys
blob, name, out = sys.argv[1:4]
data = open(blob, 'rb').read()
hdr = data[-512:]
if hdr[:13] != b'rafs.blob.toc':
    sys.exit(blob + ": no rafs.blob.toc tar header at the end")
size = int(hdr[124:136].rstrip(b'\0 ').decode(), 8)
toc = data[-512 - size:-512]
for i in range(0, size, 128):
    e = toc[i:i + 128]
    flags = struct.unpack('<I', e[0:4])[0]
    off, csz, _ = struct.unpack('<QQQ', e[56:80])
    if e[8:24].rstrip(b'\0').decode() == name:
        raw = data[off:off + csz]
        if flags & 2:
            raw = subprocess.run(['zstd', '-dc'], input=raw, capture_output=True, check=True).stdout
        open(out, 'wb').write(raw)
        sys.exit(0)
sys.exit(blob + ": no ToC entry " + name)
EOF
}

compare_tree() { # ref dir what
  diff -r --no-dereference "$1" "$2" | grep -v 'special file while\|is a fifo while' && fail "$3: contents differ"
  local fmt_d='%p %y %m %U %G %n - %l %T@\n' fmt='%p %y %m %U %G %n %s %l %T@\n'
  diff <(cd "$1" && find . \( -type d -printf "$fmt_d" \) -o -printf "$fmt" | grep -v '^\. ' | sort) \
       <(cd "$2" && find . \( -type d -printf "$fmt_d" \) -o -printf "$fmt" | grep -v '^\. ' | sort) \
    || fail "$3: names, types, modes, owners, nlink, sizes, link targets or mtimes differ"
  diff <(cd "$1" && getfattr -R -h -d -m- . 2>/dev/null) <(cd "$2" && getfattr -R -h -d -m- . 2>/dev/null) \
    || fail "$3: xattrs differ"
  diff <(cd "$1" && find . \( -type c -o -type b \) -exec stat -c '%n %t %T' {} + | sort) \
       <(cd "$2" && find . \( -type c -o -type b \) -exec stat -c '%n %t %T' {} + | sort) || fail "$3: rdev differs"
}

can_mount=0
[[ -e /dev/fuse ]] && can_mount=1

verify() { # bootstrap blobdir ref what
  "$ni" check --log-level warn --bootstrap "$1" -v -D "$2" >/dev/null || fail "$4: check -v"
  rm -rf "$work/out" "$work/out.tar"; mkdir "$work/out"
  "$ni" unpack --log-level warn --bootstrap "$1" --blob-dir "$2" --output "$work/out.tar" || fail "$4: unpack"
  tar --xattrs --xattrs-include='*' -xpf "$work/out.tar" -C "$work/out"
  compare_tree "$3" "$work/out" "$4 (unpack)"
  [[ $can_mount -eq 1 ]] || return 0
  mkdir -p "$mnt" "$work/cache"
  cat >"$work/nydusd.json" <<EOF
{"device":{"backend":{"type":"localfs","config":{"dir":"$2"}},"cache":{"type":"blobcache","config":{"work_dir":"$work/cache"}}},
 "mode":"direct","digest_validate":true,"enable_xattr":true,"iostats_files":false,
 "fs_prefetch":{"enable":true,"threads_count":2,"merging_size":131072}}
EOF
  "$root/bin/nydusd" --config "$work/nydusd.json" --mountpoint "$mnt" --bootstrap "$1" --log-level warn \
    >"$work/nydusd.log" 2>&1 &
  nydusd_pid=$!
  for _ in $(seq 150); do mountpoint -q "$mnt" && break; sleep 0.1; done
  mountpoint -q "$mnt" || { cat "$work/nydusd.log"; fail "$4: nydusd did not mount"; }
  compare_tree "$3" "$mnt" "$4 (nydusd)"
  umount "$mnt"; wait "$nydusd_pid" || true; nydusd_pid=""
}

run_case() { # compressor fs-version chunk-size
  local c=$1 v=$2 s=$3 w="$work/$1-$2-$3"
  mkdir -p "$w/blobs" "$w/boots"
  local opts=(--fs-version "$v" --compressor "$c" --chunk-size "$s")
  [[ $v == 6 ]] && opts+=(--features blob-toc)
  pack() { # dir [create args...] -> prints the blob's sha256
    local dir=$1; shift
    rm -f "$w/src.fifo" "$w/blob.fifo"; mkfifo "$w/src.fifo" "$w/blob.fifo"
    tar --xattrs --xattrs-include='*' --format=pax -C "$dir" -cf - . >"$w/src.fifo" &
    local tar_pid=$!
    cat "$w/blob.fifo" >"$w/blob.tmp" &
    local cat_pid=$!
    if ! printf / | "$ni" create --log-level warn --prefetch-policy fs --blob "$w/blob.fifo" --whiteout-spec none \
      "${opts[@]}" "$@" --type tar-rafs --blob-inline-meta "$w/src.fifo" >&2; then
      kill "$tar_pid" "$cat_pid" 2>/dev/null || true # blocked opening a FIFO nobody opened
      fail "$c/$v/$s: create of $dir"
    fi
    wait "$tar_pid" "$cat_pid"
    local d; d="$(sha256sum "$w/blob.tmp" | cut -c1-64)"
    mv "$w/blob.tmp" "$w/blobs/$d"; echo "$d"
  }
  merge() { # out [dict] -- blob digests...; prints the merged blob list
    local out=$1 dict=$2; shift 3
    local boots=() extra=()
    for d in "$@"; do unpack_entry "$w/blobs/$d" image.boot "$w/boots/$d" || fail "unpack image.boot of $d"; boots+=("$w/boots/$d"); done
    [[ -n $dict ]] && extra=(--chunk-dict "bootstrap=$dict")
    printf / | "$ni" merge --log-level warn --prefetch-policy fs --output-json "$out.json" --bootstrap "$out" \
      "${extra[@]}" "${boots[@]}" >&2 || fail "$c/$v/$s: merge $*"
    python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["blobs"]))' "$out.json"
  }
  local dict lower lower2 upper upper2 got
  dict="$(pack "$src/dict")"
  got="$(merge "$w/dict.boot" "" -- "$dict")"; [[ $got == "$dict" ]] || fail "$c/$v/$s: dict merge blobs '$got'"
  lower="$(pack "$src/lower" --chunk-dict "bootstrap=$w/dict.boot")"
  lower2="$(pack "$src/lower" --chunk-dict "bootstrap=$w/dict.boot")"
  [[ $lower == "$lower2" ]] || fail "$c/$v/$s: lower layer build not repeatable ($lower vs $lower2)"
  got="$(merge "$w/lower.boot" "$w/dict.boot" -- "$lower")"
  [[ $got == "$dict" ]] || fail "$c/$v/$s: lower merged blobs '$got', upstream expects only the chunk dict blob $dict"
  verify "$w/lower.boot" "$w/blobs" "$src/lower" "$c/$v/$s lower"
  upper="$(pack "$src/upper" --chunk-dict "bootstrap=$w/dict.boot")"
  upper2="$(pack "$src/upper" --chunk-dict "bootstrap=$w/dict.boot")"
  [[ $upper == "$upper2" ]] || fail "$c/$v/$s: upper layer build not repeatable"
  got="$(merge "$w/overlay.boot" "$w/dict.boot" -- "$lower" "$upper")"
  [[ $got == "$dict $upper" ]] || fail "$c/$v/$s: overlay merged blobs '$got', expected '$dict $upper'"
  verify "$w/overlay.boot" "$w/blobs" "$src/overlay" "$c/$v/$s lower+upper"
  echo "ok $c fs-version $v chunk-size $s"
}

run_case zstd 6 0x100000
run_case none 5 0x200000
run_case lz4_block 6 0x200000
run_case lz4_block 5 0x100000

# --- every upstream fixture through check, inspect and unpack (read in place)
fx="$root/../shared/fixtures/upstream"
if [[ -d $fx ]]; then
  v6="$fx/bootstrap/rafs-v6-2.2.boot"
  "$ni" check --log-level warn --bootstrap "$v6" -v -D "$fx/blobs" | grep -q "RAFS filesystem metadata is valid" || fail "v6 fixture check"
  "$ni" inspect --log-level warn -R stats "$v6" | grep -q '"files" : 2' || fail "v6 fixture inspect stats"
  "$ni" unpack --log-level warn --bootstrap "$v6" -D "$fx/blobs" --output "$work/v6a.tar"
  sleep 1
  "$ni" unpack --log-level warn --bootstrap "$v6" --blob "$fx/blobs/be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef" \
    --output "$work/v6b.tar"
  cmp -s "$work/v6a.tar" "$work/v6b.tar" || fail "two unpacks of the v6 fixture differ"
  [[ "$(tar -xOf "$work/v6a.tar" lib.rs | wc -c)" -eq 16931 ]] || fail "v6 fixture lib.rs size"
  for b in sha256-nocompress-repeatable blake3-lz4_block-non_repeatable; do
    "$ni" check --log-level warn --bootstrap "$fx/repeatable/$b" -D "$fx/repeatable/blobs" >/dev/null || fail "$b check"
    rm -rf "$work/fx"; mkdir "$work/fx"
    "$ni" unpack --log-level warn --bootstrap "$fx/repeatable/$b" -D "$fx/repeatable/blobs" --output "$work/fx.tar"
    tar -xpf "$work/fx.tar" -C "$work/fx"
    grep -E '^[0-9a-f]{32}  /' "$fx/repeatable/$b.result" | sort -k2 >"$work/expected.md5"
    (cd "$work/fx" && find . -type f -printf '%P\n' | sort | while IFS= read -r f; do printf '%s  /%s\n' "$(md5sum <"$f" | cut -c1-32)" "$f"; done) \
      | sort -k2 >"$work/actual.md5"
    diff "$work/expected.md5" "$work/actual.md5" || fail "$b: md5 of unpacked files differ from the .result"
  done
  for t in "$fx"/toc/*; do
    "$ni" check --log-level warn --bootstrap "$t" | grep -q "verified 3 chunks" || fail "toc fixture check"
    "$ni" unpack --log-level warn --bootstrap "$t" --blob "$t" --output "$work/toc.tar"
    tar -tf "$work/toc.tar" | grep -q 'lib.rs' || fail "toc fixture unpack"
  done
  echo "ok upstream fixtures"
fi
echo "PASS upstream-smoke-native-layer"
