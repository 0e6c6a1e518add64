#!/usr/bin/env bash
# Installs the Debian 12 packages the test suites use (kernel EROFS oracle, squashfs, OCI image tools, registry,
# FUSE libraries, codecs). Idempotent: packages already installed are skipped; nothing is started.
# Usage (as root): scripts/install-test-deps.sh
set -euo pipefail

PACKAGES=(
  fuse3 libfuse2 libfuse3-3 squashfuse attr
  erofs-utils squashfs-tools
  umoci skopeo busybox-static docker-registry containerd runc
  zstd lz4 b3sum gzip tar libisal2
  nginx openssl curl
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-test-deps.sh: must run as root (apt-get install); try: sudo $0" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-test-deps.sh: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

echo "install-test-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-test-deps.sh: done"
