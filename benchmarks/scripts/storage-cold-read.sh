#!/usr/bin/env bash
# Cold reads of a RAFS image from a local docker-registry (issue 3): backend requests per MiB read and bytes fetched
# over bytes needed (distinct stored chunk bytes the reads asked for), with an empty blobcache per run, for a
# sequential read of every file, every file in random order, and a random 10 % sample of the files; at
# amplify_io 1 MiB (default) and 0 (the 128 KiB merge floor). Requests are counted by the blob device's metrics and
# checked against the registry's own access log. Both amplification policies of the blob device: always (upstream)
# and adaptive (extend a fetch only when the read looks sequential).
# Needs docker-registry (Debian), curl, python3; builds the CLI and benchmarks jars when missing.
# Usage: benchmarks/scripts/storage-cold-read.sh
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd)"
work="${BENCH_WORK:-/tmp/nydus4j-bench-cold}"
for t in docker-registry curl python3 sha256sum; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done
cli="$root/nydus-cli/target/nydus4j-cli.jar"
bench="$root/benchmarks/target/benchmarks.jar"
[[ -f "$cli" ]] || (cd "$root" && mvn -B -q -o -pl nydus-cli -am install -DskipTests)
[[ -f "$bench" ]] || (cd "$root" && mvn -B -q -o -pl benchmarks -am package -DskipTests)

reg_pid=""
cleanup() { [[ -n "$reg_pid" ]] && kill "$reg_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
rm -rf "$work" && mkdir -p "$work"/{src,blobs,registry/data}

echo "generating: 4000 small files (0-16 KiB) and 8 files of 4 MiB, text-like (zstd ~2:1)"
python3 - "$work/src" <<'PY'
import os, random, sys
rnd = random.Random(11)
words = [b"nydus ", b"rafs ", b"chunk ", b"blob ", b"layer ", b"digest ", b"\n", b"container "]
def data(n):
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words) if rnd.random() < 0.7 else rnd.randbytes(8)
    return bytes(out[:n])
for d in range(40):
    p = os.path.join(sys.argv[1], "small", "d%02d" % d)
    os.makedirs(p)
    for f in range(100):
        open(os.path.join(p, "f%03d" % f), "wb").write(data(rnd.randint(0, 16384)))
os.makedirs(os.path.join(sys.argv[1], "big"))
for f in range(8):
    open(os.path.join(sys.argv[1], "big", "b%d" % f), "wb").write(data(4 << 20))
PY
"$root/bin/nydus-image" create --log-level warn -t dir-rafs -B "$work/image.boot" -D "$work/blobs" "$work/src"
blob=$(ls "$work/blobs" | head -1)
echo "blob $blob: $(stat -c %s "$work/blobs/$blob") bytes"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/registry/config.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: false}}
storage:
  filesystem: {rootdirectory: $work/registry/data}
http:
  addr: 127.0.0.1:$port
  secret: nydus4j-bench-secret
YML
docker-registry serve "$work/registry/config.yml" >"$work/registry/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done
loc=$(curl -sfi -X POST "http://127.0.0.1:$port/v2/bench/cold/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
[[ "$loc" == http* ]] || loc="http://127.0.0.1:$port$loc"
curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$work/blobs/$blob" "$loc&digest=sha256:$blob" >/dev/null
echo "pushed to 127.0.0.1:$port/bench/cold; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

run() { # amplify mode [fraction]
  rm -rf "$work/cache"
  local before after
  before=$(grep -c "GET /v2/bench/cold/blobs/sha256:$blob" "$work/registry/registry.log" || true)
  java -Xmx512m -cp "$bench:$cli" dev.nydus4j.benchmarks.storage.ColdRegistryRead "$work/image.boot" \
    "127.0.0.1:$port" bench/cold "$work/cache" "$@" 2>>"$work/driver.log"
  after=$(grep -c "GET /v2/bench/cold/blobs/sha256:$blob" "$work/registry/registry.log" || true)
  echo "    registry access log: $((after - before)) blob GETs"
}
for policy in always adaptive; do
  for amp in 1048576 0; do
    run "$amp" seq 1 1 "$policy"
    run "$amp" random 1 1 "$policy"
    run "$amp" sample 0.1 1 "$policy"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
