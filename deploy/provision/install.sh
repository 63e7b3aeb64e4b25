#!/usr/bin/env bash
# Installs Tugboat on a Debian 12 host: its system packages, a virtualenv with Tugboat in
# /opt/tugboat/venv (commands linked into /usr/local/bin), and the systemd units. It starts
# nothing: configure.sh gives the host its role. The node image runs this very script at
# build time (--no-apt, its packages come from debootstrap), Vagrant runs it on each VM, and
# a user runs it on a Debian machine they join by hand, so all three install the same way.
#
#   install.sh --source DIR     install from a Tugboat checkout (pip builds it)
#   install.sh --wheels DIR     install offline from wheels (Tugboat's and its dependencies')
#   --no-apt                    the packages are already there
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
deploy=$(cd "$here/.." && pwd)
source_dir="" wheels="" apt=1
while [ $# -gt 0 ]; do
  case "$1" in
    --source) source_dir=${2:?--source needs a directory}; shift 2 ;;
    --wheels) wheels=${2:?--wheels needs a directory}; shift 2 ;;
    --no-apt) apt=0; shift ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$source_dir" ] && [ -z "$wheels" ]; then
  echo "install.sh: give --source DIR (a Tugboat checkout) or --wheels DIR" >&2
  exit 2
fi
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }

if [ "$apt" = 1 ]; then
  mapfile -t packages < <(grep -v '^#' "$here/packages.txt" | grep .)
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${packages[@]}"
fi

echo "installing Tugboat into /opt/tugboat/venv"
python3 -m venv /opt/tugboat/venv
pip=(/opt/tugboat/venv/bin/pip install -q --disable-pip-version-check)
if [ -n "$wheels" ]; then
  "${pip[@]}" --no-index --find-links "$wheels" tugboat
else
  "${pip[@]}" "$source_dir"
fi
for cmd in tug tug-apiserver tug-scheduler tug-controller-manager tug-kubelet tug-proxy; do
  ln -sf "/opt/tugboat/venv/bin/$cmd" "/usr/local/bin/$cmd"
done

install -d -m 0755 /etc/tugboat /var/lib/tugboat /opt/tugboat/images /opt/tugboat/provision
install -m 0644 "$deploy"/systemd/*.service /etc/systemd/system/
install -m 0755 "$here/configure.sh" /opt/tugboat/provision/configure.sh
# Debian's etcd-server enables its own etcd.service on localhost:2379; Tugboat runs its
# members as tug-etcd.service, configured for the cluster, so the package's one stays off.
systemctl disable --now etcd.service >/dev/null 2>&1 || systemctl disable etcd.service || true
systemctl enable tug-etcd.service tug-apiserver.service tug-scheduler.service \
  tug-controller-manager.service tug-kubelet.service tug-proxy.service tug-images.service
echo "Tugboat installed; give this host its role with /opt/tugboat/provision/configure.sh"
