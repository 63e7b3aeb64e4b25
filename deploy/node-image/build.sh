#!/usr/bin/env bash
# Builds the node image, tugboat/node:<version>, with no registry: Debian bookworm from
# Debian's archive (debootstrap, then `docker import`) as a base image, and on top of it
# Tugboat installed from wheels of this checkout by deploy/provision/install.sh (the very
# script a VM runs), the systemd units, and the test images every node's own engine loads
# at boot. Like kind's node image it runs systemd as PID 1.
#
# Two content hashes make rebuilds cheap: the base is tagged with the hash of its package
# list (debootstrap runs only when that changes, about a minute), and the node image is
# labelled with the hash of everything it is built from (sources, units, provisioning,
# test images' IDs), so an unchanged checkout rebuilds nothing and says so in a second.
# REBUILD=1 forces the node layer to be built again.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
here=deploy/node-image
python=${PYTHON:-$repo/.venv/bin/python}
version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
image=tugboat/node:$version
mapfile -t packages < <(grep -v '^#' deploy/provision/packages.txt | grep .)
preload=(busybox:1.35 tugboat/pause:1)
while read -r tag; do preload+=("$tag"); done < <(cat deploy/images/*/TAG | grep -v -x -e busybox:1.35 -e tugboat/pause:1 | sort -u)

step() { printf 'node image: %s\n' "$*"; }

# ---- the base: Debian bookworm with the packages, from Debian's archive ----
# The recipe is the package list and this debootstrap line: change either, and a new base.
recipe="debootstrap --variant=minbase bookworm http://deb.debian.org/debian"
base_hash=$({ echo "$recipe"; cat deploy/provision/packages.txt; } | sha256sum | cut -c1-12)
base=tugboat/node-base:$base_hash
if ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "error: debootstrap is missing (make sysdeps installs it)" >&2; exit 1; }
  rootfs=$(mktemp -d /var/tmp/tugboat-rootfs.XXXXXX)
  [ -n "$rootfs" ] && [ -d "$rootfs" ] || { echo "error: no temporary directory" >&2; exit 1; }
  trap 'rm -rf --one-file-system "$rootfs"' EXIT
  step "debootstrap Debian bookworm with ${#packages[@]} packages into $rootfs (about a minute)"
  started=$SECONDS
  debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
    bookworm "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 \
    || { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
  rm -f "$rootfs.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  step "debootstrap done in $((SECONDS - started)) s; importing it as $base"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/sbin/init"]' - "$base" >/dev/null
  rm -rf --one-file-system "$rootfs"
  trap - EXIT
fi

# ---- what the node layer is built from, hashed ----
for tag in "${preload[@]}"; do
  docker image inspect "$tag" >/dev/null 2>&1 || { echo "error: image $tag is missing (run make images)" >&2; exit 1; }
done
inputs=$(
  {
    echo "$base"
    find proto client master kubelet proxy cli -type f \( -name '*.py' -o -name '*.pyi' -o -name '*.proto' -o -name py.typed \) -print0 \
      | sort -z | xargs -0 sha256sum
    sha256sum pyproject.toml README.md "$here/Dockerfile" "$here/cgroups-rw.sh" \
      "$here/tug-cgroups-rw.service" deploy/systemd/* deploy/provision/*
    for tag in "${preload[@]}"; do docker image inspect -f "$tag {{.Id}}" "$tag"; done
  } | sha256sum | cut -c1-16
)
current=$(docker image inspect -f '{{index .Config.Labels "io.tugboat.inputs"}}' "$image" 2>/dev/null || true)
if [ "$current" = "$inputs" ] && [ -z "${REBUILD:-}" ]; then
  step "$image is up to date (inputs $inputs)"
  exit 0
fi

# ---- the node layer ----
context=$(mktemp -d /var/tmp/tugboat-node-context.XXXXXX)
[ -n "$context" ] && [ -d "$context" ] || { echo "error: no temporary directory" >&2; exit 1; }
trap 'rm -rf --one-file-system "$context"' EXIT
step "building wheels of Tugboat and its dependencies"
"$python" -m pip wheel -q --disable-pip-version-check --wheel-dir "$context/wheels" "$repo"
step "saving ${#preload[@]} images for the nodes' engines: ${preload[*]}"
mkdir -p "$context/images"
docker save -o "$context/images/preload.tar" "${preload[@]}"
mkdir -p "$context/deploy"
cp -r deploy/systemd deploy/provision "$context/deploy/"
mkdir -p "$context/node-image"
cp "$here/cgroups-rw.sh" "$here/tug-cgroups-rw.service" "$context/node-image/"
step "building $image on $base"
started=$SECONDS
docker build -q -f "$here/Dockerfile" --build-arg "BASE=$base" \
  --label "io.tugboat.inputs=$inputs" -t "$image" "$context" >"$context/build.log" 2>&1 \
  || { cat "$context/build.log" >&2; exit 1; }
step "$image built in $((SECONDS - started)) s (inputs $inputs)"
