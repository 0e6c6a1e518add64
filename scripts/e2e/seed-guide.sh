#!/usr/bin/env bash
# The "Nydus setup for containerd" guide's image path with our tools, end to end against a real docker-registry:
# busybox image (umoci + busybox-static) pushed with skopeo -> nydusify convert -> nydusify check -> nydusd with
# the guide's nydusd-config.fusedev.json (host/repo filled in per image, as the snapshotter does) mounts it lazily
# from the registry -> files equal the source rootfs, only touched chunks fetched (the registry's own access log:
# ranged GETs only, far less than the blobs, the same bytes nydusctl's metrics report), a remount reads from the
# blob cache with zero blob requests in the registry's access log.
# Exit 0 = pass, 77 = skip (not root / tools missing), other = fail.
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
[[ -f "$root/nydus-cli/target/nydus4j-cli.jar" ]] || { echo "skip: jar not built"; exit 77; }
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root (FUSE)"; exit 77; }
for t in docker-registry skopeo umoci busybox python3; do
  command -v "$t" >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[[ -e /dev/fuse ]] || { echo "skip: no /dev/fuse"; exit 77; }

work="$(mktemp -d /tmp/nydus4j-e2e-seed.XXXXXX)"
reg_pid=""; nydusd_pid=""
cleanup() {
  [[ -n "$nydusd_pid" ]] && kill "$nydusd_pid" 2>/dev/null || true
  for m in "$work/mnt" "$work/mnt2"; do mountpoint -q "$m" 2>/dev/null && fusermount -u -z "$m" 2>/dev/null || true; done
  [[ -n "$reg_pid" ]] && kill "$reg_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
bin="$root/bin"

# --- a registry on a free loopback port (its access log shows what nydusd fetched) ---
# shellcheck source=lib/registry.sh
source "$root/scripts/e2e/lib/registry.sh"
registry_start "$work" on || fail "registry did not start"

# --- a busybox image with a second layer holding a large file that the workload never reads ---
cd "$work"
umoci init --layout oci >/dev/null
umoci new --image oci:busybox >/dev/null
umoci unpack --rootless --image oci:busybox bundle >/dev/null
mkdir -p bundle/rootfs/bin bundle/rootfs/etc bundle/rootfs/data
cp "$(command -v busybox)" bundle/rootfs/bin/busybox
for a in sh ls cat echo wc; do ln -sf busybox "bundle/rootfs/bin/$a"; done
echo 'NAME="nydus4j busybox"' >bundle/rootfs/etc/os-release
umoci repack --image oci:busybox bundle >/dev/null
head -c 20000000 /dev/urandom >bundle/rootfs/data/big.bin
seq 1 300000 >bundle/rootfs/data/numbers.txt
umoci repack --image oci:busybox bundle >/dev/null
umoci config --image oci:busybox --config.cmd /bin/sh >/dev/null
skopeo copy --quiet --dest-tls-verify=false oci:oci:busybox "docker://$reg/busybox:latest"

# --- convert and check, as the guide does ---
"$bin/nydusify" convert --source "$reg/busybox:latest" --target "$reg/busybox-nydus:latest" \
  --source-insecure --target-insecure --work-dir "$work/convert" >"$work/convert.log" 2>&1 \
  || { cat "$work/convert.log"; fail "nydusify convert failed"; }
"$bin/nydusify" check --source "$reg/busybox:latest" --target "$reg/busybox-nydus:latest" \
  --source-insecure --target-insecure --work-dir "$work/check" >"$work/check.log" 2>&1 \
  || { cat "$work/check.log"; fail "nydusify check failed"; }
skopeo inspect --raw --tls-verify=false "docker://$reg/busybox-nydus:latest" >"$work/manifest.json"
grep -q 'application/vnd.oci.image.layer.nydus.blob.v1' "$work/manifest.json" || fail "no nydus blob layer in the manifest"
grep -q 'containerd.io/snapshot/nydus-bootstrap' "$work/manifest.json" || fail "no bootstrap layer annotation"

# --- fetch the bootstrap layer (the last layer) and extract image/image.boot ---
boot_digest="$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][-1]["digest"])' "$work/manifest.json")"
curl -sf "http://$reg/v2/busybox-nydus/blobs/$boot_digest" -o "$work/bootstrap.tar.gz"
mkdir -p "$work/bootstrap" && tar -xzf "$work/bootstrap.tar.gz" -C "$work/bootstrap"
[[ -f "$work/bootstrap/image/image.boot" ]] || fail "bootstrap layer has no image/image.boot"
blob_bytes="$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(sum(l["size"] for l in m["layers"][:-1]))' "$work/manifest.json")"

# --- nydus-image reads blobs straight from the registry too ---
"$bin/nydus-image" unpack --log-level warn --backend-type registry \
  --backend-config "{\"host\":\"$reg\",\"repo\":\"busybox-nydus\",\"scheme\":\"http\"}" \
  --output "$work/unpacked.tar" "$work/bootstrap/image/image.boot" || fail "unpack through the registry backend failed"
mkdir -p "$work/unpacked" && tar -xf "$work/unpacked.tar" -C "$work/unpacked"
cmp "$work/unpacked/bin/busybox" bundle/rootfs/bin/busybox || fail "unpacked busybox differs"
cmp "$work/unpacked/data/big.bin" bundle/rootfs/data/big.bin || fail "unpacked big.bin differs"

# --- the guide's nydusd config, verbatim, with host/repo supplied per image ---
cat >"$work/nydusd-config.fusedev.json" <<'JSON'
{"device":{"backend":{"type":"registry","config":{"scheme":"","skip_verify":true,"timeout":5,"connect_timeout":5,"retry_limit":4,"auth":""}},"cache":{"type":"blobcache","config":{"work_dir":"cache"}}},"mode":"direct","digest_validate":false,"iostats_files":false,"enable_xattr":true,"fs_prefetch":{"enable":false,"threads_count":4}}
JSON
python3 - "$work/nydusd-config.fusedev.json" "$work/image.json" "$reg" "$work/cache" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["device"]["backend"]["config"].update({"host": sys.argv[3], "repo": "busybox-nydus"})
c["device"]["cache"]["config"]["work_dir"] = sys.argv[4]
json.dump(c, open(sys.argv[2], "w"))
PY
# the template alone must parse and say clearly what is missing when it is used to open blobs
mkdir -p "$work/mnt" "$work/mnt2"

start_nydusd() { # $1 = mountpoint
  "$bin/nydusd" --config "$work/image.json" --bootstrap "$work/bootstrap/image/image.boot" \
    --mountpoint "$1" --apisock "$work/api.sock" --log-level warn >"$work/nydusd.log" 2>&1 &
  nydusd_pid=$!
  for _ in $(seq 1 150); do mountpoint -q "$1" && return 0; sleep 0.1; done
  cat "$work/nydusd.log"; fail "nydusd did not mount at $1"
}
# blob requests in the registry's access log (Apache combined format, written to registry.log) after line $1:
# prints "<GETs> <bytes sent by GETs> <GETs not answered 206> <requests of any method>" for the nydus blob layers
blob_log() {
  python3 - "$work/registry.log" "$1" "$work/manifest.json" <<'PY'
import json, re, sys
blobs = {l["digest"] for l in json.load(open(sys.argv[3]))["layers"][:-1]}
line = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "(\S+) (\S+) [^"]*" (\d{3}) (\d+|-) ')
gets = nbytes = not206 = anymethod = 0
for text in open(sys.argv[1], errors="replace").read().splitlines()[int(sys.argv[2]):]:
    m = line.match(text)
    if not m or not any(m.group(2).endswith("/blobs/" + d) for d in blobs):
        continue
    anymethod += 1
    if m.group(1) == "GET":
        gets += 1
        nbytes += 0 if m.group(4) == "-" else int(m.group(4))
        not206 += m.group(3) != "206"
print(gets, nbytes, not206, anymethod)
PY
}
log_lines() { sleep 0.3; wc -l <"$work/registry.log"; } # the registry logs a request once it completed
metric() { "$bin/nydusctl" --sock "$work/api.sock" --raw metrics backend | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

log_mark="$(log_lines)"
start_nydusd "$work/mnt"
[[ "$(metric read_count)" == 0 ]] || fail "backend reads before any file was read"
grep -q 'nydus4j busybox' "$work/mnt/etc/os-release" || fail "os-release differs"
cmp "$work/mnt/bin/busybox" bundle/rootfs/bin/busybox || fail "busybox binary differs"
[[ "$(readlink "$work/mnt/bin/sh")" == busybox ]] || fail "symlink differs"
read_amount="$(metric read_amount_total)"
echo "lazy: fetched $read_amount of $blob_bytes blob bytes after reading busybox and os-release"
(( read_amount < blob_bytes / 2 )) || fail "fetched $read_amount bytes of $blob_bytes: not lazy"
read -r gets got not206 _ <<<"$(sleep 0.3; blob_log "$log_mark")"
echo "registry access log: $gets blob GETs, $got bytes sent (nydusctl: $(metric read_count) reads, $read_amount bytes)"
(( gets > 0 )) || fail "the registry's access log shows no blob GET for the files read"
(( not206 == 0 )) || fail "$not206 blob GETs were not answered 206: whole blobs fetched instead of ranges"
(( got < blob_bytes / 2 )) || fail "registry sent $got of $blob_bytes blob bytes: not lazy"
(( got == read_amount )) || fail "registry sent $got bytes but nydusd counted $read_amount"
# registry down: an untouched file fails with an I/O error (after the config's retries), the daemon stays up,
# and the same read succeeds once the registry is back
kill "$reg_pid"; wait "$reg_pid" 2>/dev/null || true; reg_pid=""
t0=$SECONDS
if cat "$work/mnt/data/numbers.txt" >/dev/null 2>"$work/eio.err"; then fail "read succeeded with the registry down"; fi
grep -qi 'input/output error' "$work/eio.err" || { cat "$work/eio.err"; fail "expected EIO with the registry down"; }
(( SECONDS - t0 <= 30 )) || fail "the failing read took $((SECONDS - t0)) s"
kill -0 "$nydusd_pid" || fail "nydusd died when the registry went away"
registry_start "$work" || fail "the registry did not come back"
cmp "$work/mnt/data/numbers.txt" bundle/rootfs/data/numbers.txt || fail "numbers.txt differs after the registry came back"
cmp "$work/mnt/data/big.bin" bundle/rootfs/data/big.bin || fail "big.bin differs"
"$bin/nydusctl" --sock "$work/api.sock" info | grep -q '^Status: *"RUNNING"' || fail "nydusctl info does not say RUNNING"
kill -TERM "$nydusd_pid"; wait "$nydusd_pid" || true; nydusd_pid=""
mountpoint -q "$work/mnt" && fail "SIGTERM left the mount behind"

# --- remount: everything comes from the blob cache; the (running) registry sees no blob request at all ---
log_mark="$(log_lines)"
start_nydusd "$work/mnt2"
cmp "$work/mnt2/data/big.bin" bundle/rootfs/data/big.bin || fail "big.bin differs after remount"
cmp "$work/mnt2/bin/busybox" bundle/rootfs/bin/busybox || fail "busybox differs after remount"
cmp "$work/mnt2/data/numbers.txt" bundle/rootfs/data/numbers.txt || fail "numbers.txt differs after remount"
read -r gets _ _ any <<<"$(sleep 0.3; blob_log "$log_mark")"
echo "remount from the cache: $any blob requests in the registry's access log"
(( any == 0 )) || fail "remount made $any blob requests to the registry ($gets GETs)"
[[ "$(metric read_count)" == 0 ]] || fail "remount read from the backend"
kill -TERM "$nydusd_pid"; wait "$nydusd_pid" || true; nydusd_pid=""
# and with the registry stopped the cached image still serves every byte
kill "$reg_pid"; wait "$reg_pid" 2>/dev/null || true; reg_pid=""
start_nydusd "$work/mnt2"
cmp "$work/mnt2/data/big.bin" bundle/rootfs/data/big.bin || fail "big.bin differs with the registry stopped"
[[ "$(metric read_count)" == 0 ]] || fail "remount went to the (stopped) registry"
echo "seed guide flow: convert, check, lazy mount from the registry, cached remount: OK"
