#!/usr/bin/env bash
# Links every launcher of bin/ into PREFIX/bin (default /usr/local). The launchers find the jar through the link,
# so build first: mvn -B -q -DskipTests package. Also builds the AppCDS archive of the jar (scripts/build-cds.sh).
# Usage: scripts/install.sh [PREFIX]
set -euo pipefail
root="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd)"
prefix="${1:-/usr/local}"
mkdir -p "$prefix/bin"
for tool in "$root"/bin/*; do
  [[ -f "$tool" && -x "$tool" ]] || continue
  ln -sfn "$tool" "$prefix/bin/$(basename "$tool")"
  echo "installed $prefix/bin/$(basename "$tool") -> $tool"
done
if [[ ! -f "$root/nydus-cli/target/nydus4j-cli.jar" ]]; then
  echo "note: the jar is not built yet; run mvn -B -q -DskipTests package in $root" >&2
else
  # the AppCDS archive the launchers use for a faster start (otherwise the first tool run builds it in the background)
  "$root/scripts/build-cds.sh" || true
fi
