#!/usr/bin/env bash
# Installs the system packages Tugboat needs, from Debian, only where they are missing.
# One line per need below ("command package"), so adding a tool is adding a line. apt waits
# for another apt holding its lock (several checkouts may set up at once) instead of failing.
set -euo pipefail

# command-that-proves-it-is-installed  debian-package  # why
needs=(
  "etcd etcd-server"       # the real etcd
  "etcdctl etcd-client"    # tug etcd snapshot save/restore drive etcdctl
  "ip iproute2"            # the proxy's tugboat-svc interface, host-gw routes
  "curl curl"              # make demo's last check
  "promtool prometheus"    # the real Prometheus and promtool (monitoring, rule tests)
  "docker-compose docker-compose"  # checks deploy/monitoring/compose.yaml
  "debootstrap debootstrap"  # the node image's Debian base (deploy/node-image)
  "vagrant vagrant"          # validates deploy/vagrant/Vagrantfile
  "kubectl kubernetes-client"  # the real kubectl drives the HTTP API (kept if one is there)
  "docker-registry docker-registry"  # a private registry for the imagePullSecrets tests
)

missing=()
for need in "${needs[@]}"; do
  read -r cmd pkg <<<"$need"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
# A static busybox is the base of the locally built images.
[ -x /bin/busybox ] && file_out=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
if [ ! -x /bin/busybox ] || ! grep -qi "not a dynamic" <<<"${file_out:-}"; then
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  apt=(apt-get -o DPkg::Lock::Timeout=600)
  $sudo "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $sudo "${apt[@]}" install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
docker info >/dev/null 2>&1 || { echo "error: the Docker engine is not reachable" >&2; exit 1; }
