#!/usr/bin/env bash
# Installs the system packages Tugboat needs, from Debian, only where they are missing:
# etcd (the real one), a static busybox (the base of the locally built images), iproute2
# (the proxy's tugboat-svc interface, host-gw routes) and curl (make demo's last check).
set -euo pipefail
missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v curl >/dev/null 2>&1 || missing+=(curl)
[ -x /bin/busybox ] && file_out=$(LC_ALL=C ldd /bin/busybox 2>&1 || true)
if [ ! -x /bin/busybox ] || ! grep -qi "not a dynamic" <<<"${file_out:-}"; then
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
docker info >/dev/null 2>&1 || { echo "error: the Docker engine is not reachable" >&2; exit 1; }
