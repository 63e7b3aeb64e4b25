#!/usr/bin/env bash
# Builds the project's images locally (no registry is reachable): one folder each under
# deploy/images/, tagged with the name in its TAG file. An image already present is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for dir in "$here"/*/; do
  # A TAG file names the image, one name a line: a stand-in may serve under several.
  mapfile -t tags < "$dir/TAG"
  missing=0
  for tag in "${tags[@]}"; do
    docker image inspect "$tag" >/dev/null 2>&1 || missing=1
  done
  if [ "$missing" = 0 ] && [ -z "${REBUILD:-}" ]; then
    continue
  fi
  flags=()
  for tag in "${tags[@]}"; do flags+=(-t "$tag"); done
  tag="${tags[*]}"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp -r "$dir"/. "$ctx"/
  [ -f "$ctx/busybox" ] || cp /bin/busybox "$ctx/busybox"
  echo "building image $tag"
  docker build -q "${flags[@]}" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
done
