#!/usr/bin/env bash
# End-to-end test of the real launcher bin/nydus-image and scripts/install.sh: help substrings converters probe for,
# --version shape, create from a directory, a tar FIFO and /dev/stdin, check, unpack compared with the source by
# GNU tar + diff, and the clear message when the jar is missing. Exit 0 = pass, 77 = skip, other = fail.
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || { echo "skip: jar not built"; exit 77; }
work="$(mktemp -d /tmp/nydus4j-e2e-cli.XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
"$root/scripts/install.sh" "$prefix" >/dev/null
ni="$prefix/bin/nydus-image" # through the symlink, as an installed tool

fail() { echo "FAIL: $*" >&2; exit 1; }

help="$("$ni" create -h)"
for s in --type tar-rafs --batch-size --encrypt; do
  grep -q -- "$s" <<<"$help" || fail "create -h lacks $s"
done
"$ni" --version | grep -Eq 'Version:[[:space:]]*v[0-9]' || fail "--version has no 'Version: v…' line"

src="$work/src"
cp -a "$root/samples/sample-tree" "$src"
head -c 2500000 /dev/urandom >"$src/random.bin"
seq 1 200000 >"$src/numbers.txt"
ln "$src/numbers.txt" "$src/numbers.hardlink"

compare() { # $1 = bootstrap, $2 = blob dir or blob file option, $3 = its value
  rm -rf "$work/out" "$work/out.tar"; mkdir -p "$work/out"
  "$ni" unpack --log-level warn "$2" "$3" --output "$work/out.tar" "$1"
  tar -xpf "$work/out.tar" -C "$work/out"
  diff -r --no-dereference "$src" "$work/out" || fail "unpacked tree of $1 differs from the source"
}

mkdir -p "$work/blobs"
"$ni" create --log-level warn -t dir-rafs -B "$work/dir.boot" -D "$work/blobs" -J "$work/dir.json" "$src"
grep -q '"blobs"' "$work/dir.json" || fail "result JSON has no blobs"
"$ni" check --log-level warn -D "$work/blobs" "$work/dir.boot" | grep -q "RAFS filesystem metadata is valid" \
  || fail "check did not report a valid image"
compare "$work/dir.boot" -D "$work/blobs"

# tar stream through a FIFO, as converters feed it, with inlined metadata and a prefetch list on stdin
tar -C "$src" -cf "$work/src.tar" .
mkfifo "$work/tar.fifo"
cat "$work/src.tar" >"$work/tar.fifo" &
echo /etc | "$ni" create --log-level warn --prefetch-policy fs -t tar-rafs --blob-inline-meta --features blob-toc \
  -b "$work/inline.blob" "$work/tar.fifo"
wait
"$ni" inspect --log-level warn -R prefetch "$work/inline.blob" | grep -q '"/etc"' || fail "prefetch list lost"
compare "$work/inline.blob" -b "$work/inline.blob"

# tar.gz on /dev/stdin
gzip -c "$work/src.tar" | "$ni" create --log-level warn -t targz-rafs -B "$work/gz.boot" -D "$work/blobs" /dev/stdin
compare "$work/gz.boot" -D "$work/blobs"

# RAFS v5: the same source as a v5 bootstrap, checked and unpacked
"$ni" create --log-level warn --fs-version 5 -t dir-rafs -B "$work/v5.boot" -D "$work/blobs" "$src"
head -c 4 "$work/v5.boot" | od -An -tx1 | grep -q "53 46 41 52" || fail "v5.boot has no RAFS v5 magic"
"$ni" check --log-level warn -D "$work/blobs" "$work/v5.boot" | grep -q "RAFS filesystem metadata is valid" \
  || fail "check did not report a valid v5 image"
compare "$work/v5.boot" -D "$work/blobs"

# errors are one line with exit 1
set +e
err="$("$ni" create --fs-version 7 -B "$work/x.boot" -D "$work/blobs" "$src" 2>&1 >/dev/null)"; rc=$?
set -e
[[ $rc -eq 1 ]] || fail "--fs-version 7 exited $rc, expected 1"
[[ $(wc -l <<<"$err") -eq 1 ]] || fail "error is not one line: $err"
grep -q "invalid --fs-version 7" <<<"$err" || fail "unexpected error text: $err"

# the launcher explains a missing jar
mkdir -p "$work/fake/bin"
cp "$root/bin/nydus-image" "$work/fake/bin/"
set +e
msg="$("$work/fake/bin/nydus-image" --version 2>&1)"; rc=$?
set -e
[[ $rc -ne 0 ]] && grep -q "run mvn -B -q -DskipTests package first" <<<"$msg" || fail "missing-jar message: $msg"
echo "cli-launcher: all checks passed"
