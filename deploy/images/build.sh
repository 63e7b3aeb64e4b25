#!/usr/bin/env bash
# Builds the project's images locally (no registry is reachable): one folder each under
# deploy/images/, tagged with the name in its TAG file. An image already present is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for dir in "$here"/*/; do
  tag=$(cat "$dir/TAG")
  if docker image inspect "$tag" >/dev/null 2>&1 && [ -z "${REBUILD:-}" ]; then
    continue
  fi
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp -r "$dir"/. "$ctx"/
  [ -f "$ctx/busybox" ] || cp /bin/busybox "$ctx/busybox"
  echo "building image $tag"
  docker build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
done
