#!/usr/bin/env bash
# Gives a host installed by install.sh its role in a Tugboat cluster: writes
# /etc/tugboat/<component>.env for the daemons of that role and (re)starts their units.
# Every flag is checked before anything is written: an address that is empty or not an
# IPv4 address stops the script, so no daemon is ever pointed at whatever an empty
# variable would leave.
#
#   configure.sh --role master --name m1 --address 10.0.0.11 \
#                --masters 10.0.0.11,10.0.0.12,10.0.0.13 [--etcd 10.0.0.11,...] [--cluster C]
#   configure.sh --role worker --name w1 --address 10.0.0.21 --masters 10.0.0.11,...
#
# Masters run etcd (when their address is in --etcd, by default every master), the API
# server, the scheduler and the controller manager; workers run Docker, the kubelet and the
# proxy. --docker-bip and --docker-pools give the worker's Docker its own address ranges
# (needed where several engines share a network, as container nodes do). Extra flags for
# one daemon: --kubelet-args "...", --proxy-args "...", --apiserver-args "...".
# --proxy-mode nftables|userspace (default nftables): a host configured here owns its
# network namespace, so its proxy programs the kernel (docs/networking.md, "Proxy modes").
# In nftables mode Docker's userland proxy is turned off: Docker then puts every
# container's bridge port in hairpin mode, which a pod reaching itself through its
# Service needs (the DNAT sends the packet back out of the port it came in by).
# --pki DIR makes the cluster secure: TLS on etcd (clients and peers), the API servers and
# the kubelets, every daemon showing its own client certificate, Node and RBAC
# authorization. DIR holds this host's files under kubeadm-like names (ca.crt;
# on a master apiserver, etcd, etcd-client, kubelet-client, scheduler, controller-manager
# .crt/.key, service-account.key and encryption.yaml; on a worker node, kubelet, proxy
# .crt/.key), as
# `tug up --driver docker` copies them in; every file the role needs must be there. A
# master's signing-ca.crt/.key (the client signer, a CA apart from ca.crt) and
# client-ca.crt (both CAs, the API server's --client-ca-file), when there, let its
# controller manager sign approved CertificateSigningRequests
# (--cluster-signing-cert-file/--cluster-signing-key-file); a folder issued before masters
# got them still works, without that signer and trusting ca.crt alone.
# Ports are Kubernetes' where it has them: API server 6443 (gRPC) and 8443 (HTTP), etcd
# 2379/2380, kubelet 10250 (node agent) and 10255 (HTTP), proxy 10249, scheduler 10259,
# controller manager 10257.
set -euo pipefail

role="" name="" address="" masters="" etcd="" cluster="tugboat" no_start=0
docker_bip="" docker_pools="" kubelet_args="" proxy_args="" apiserver_args="" pki=""
proxy_mode=nftables
while [ $# -gt 0 ]; do
  case "$1" in
    --role) role=${2:-}; shift 2 ;;
    --name) name=${2:-}; shift 2 ;;
    --address) address=${2:-}; shift 2 ;;
    --masters) masters=${2:-}; shift 2 ;;
    --etcd) etcd=${2:-}; shift 2 ;;
    --cluster) cluster=${2:-}; shift 2 ;;
    --docker-bip) docker_bip=${2:-}; shift 2 ;;
    --docker-pools) docker_pools=${2:-}; shift 2 ;;
    --kubelet-args) kubelet_args=${2:-}; shift 2 ;;
    --proxy-args) proxy_args=${2:-}; shift 2 ;;
    --proxy-mode) proxy_mode=${2:-}; shift 2 ;;
    --apiserver-args) apiserver_args=${2:-}; shift 2 ;;
    --pki) pki=${2:-}; shift 2 ;;
    --no-start) no_start=1; shift ;;
    *) echo "configure.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

fail() { echo "configure.sh: $*" >&2; exit 2; }
is_ipv4() {
  [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
  local part
  for part in "${BASH_REMATCH[@]:1}"; do [ "$part" -le 255 ] || return 1; done
}
[ "$role" = master ] || [ "$role" = worker ] || fail "--role must be master or worker, got '$role'"
[[ $name =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || fail "--name '$name' is not a valid node name"
is_ipv4 "$address" || fail "--address '$address' is not an IPv4 address"
[[ $cluster =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || fail "--cluster '$cluster' is not a valid name"
IFS=, read -r -a master_list <<<"$masters"
[ ${#master_list[@]} -gt 0 ] || fail "--masters needs at least one master address"
for m in "${master_list[@]}"; do is_ipv4 "$m" || fail "--masters: '$m' is not an IPv4 address"; done
[ -n "$etcd" ] || etcd=$masters
IFS=, read -r -a etcd_list <<<"$etcd"
for m in "${etcd_list[@]}"; do is_ipv4 "$m" || fail "--etcd: '$m' is not an IPv4 address"; done
[ "$proxy_mode" = nftables ] || [ "$proxy_mode" = userspace ] \
  || fail "--proxy-mode must be nftables or userspace, got '$proxy_mode'"
if [ -n "$docker_bip" ]; then
  [[ $docker_bip =~ ^[0-9.]+/[0-9]+$ ]] || fail "--docker-bip '$docker_bip' is not an address/prefix"
fi
if [ -n "$docker_pools" ]; then
  [[ $docker_pools =~ ^[0-9.]+/[0-9]+$ ]] || fail "--docker-pools '$docker_pools' is not a CIDR"
fi

# With --pki: the scheme, and each daemon's TLS flags (empty without it).
scheme=http etcd_tls="" apiserver_tls="" scheduler_tls="" cm_tls="" kubelet_tls="" proxy_tls=""
if [ -n "$pki" ]; then
  [[ $pki == /* ]] || fail "--pki '$pki' is not an absolute path"
  need() { local f; for f in "$@"; do [ -f "$pki/$f" ] || fail "--pki: $pki/$f is missing"; done; }
  client() { echo "--certificate-authority $pki/ca.crt --client-certificate $pki/$1.crt --client-key $pki/$1.key"; }
  etcd_client() { echo "--etcd-cafile $pki/ca.crt --etcd-certfile $pki/$1.crt --etcd-keyfile $pki/$1.key"; }
  scheme=https
  need ca.crt
  if [ "$role" = master ]; then
    need apiserver.crt apiserver.key etcd-client.crt etcd-client.key kubelet-client.crt \
      kubelet-client.key scheduler.crt scheduler.key controller-manager.crt \
      controller-manager.key service-account.key encryption.yaml
    etcd_tls="--cert-file $pki/etcd.crt --key-file $pki/etcd.key --trusted-ca-file $pki/ca.crt"
    etcd_tls+=" --client-cert-auth=true --peer-cert-file $pki/etcd.crt --peer-key-file $pki/etcd.key"
    etcd_tls+=" --peer-trusted-ca-file $pki/ca.crt --peer-client-cert-auth=true"
    apiserver_tls="--tls-cert-file $pki/apiserver.crt --tls-private-key-file $pki/apiserver.key"
    # The client signer's certificates open the API servers only: they trust the bundle of
    # both CAs (client-ca.crt), while etcd and the kubelets trust ca.crt alone.
    client_ca=$pki/ca.crt
    signer=0
    if [ -f "$pki/signing-ca.crt" ] && [ -f "$pki/signing-ca.key" ] && [ -f "$pki/client-ca.crt" ]; then
      client_ca=$pki/client-ca.crt signer=1
    fi
    apiserver_tls+=" --client-ca-file $client_ca $(etcd_client etcd-client)"
    apiserver_tls+=" --kubelet-certificate-authority $pki/ca.crt"
    apiserver_tls+=" --kubelet-client-certificate $pki/kubelet-client.crt"
    apiserver_tls+=" --kubelet-client-key $pki/kubelet-client.key --authorization-mode Node,RBAC"
    apiserver_tls+=" --service-account-signing-key-file $pki/service-account.key"
    apiserver_tls+=" --encryption-provider-config $pki/encryption.yaml"
    apiserver_tls+=" --audit-log-path /var/log/tugboat/apiserver.audit.jsonl"
    scheduler_tls="$(client scheduler) $(etcd_client scheduler)"
    cm_tls="$(client controller-manager) $(etcd_client controller-manager)"
    # Never ca.key, even where an older folder holds it: etcd admits any certificate of
    # the cluster CA, so what the controller manager signs for users must not be one.
    if [ "$signer" = 1 ]; then
      cm_tls+=" --cluster-signing-cert-file $pki/signing-ca.crt"
      cm_tls+=" --cluster-signing-key-file $pki/signing-ca.key"
    else
      echo "configure.sh: $pki/signing-ca.crt, signing-ca.key or client-ca.crt is missing:" \
        "CertificateSigningRequests stay unsigned (tug pki issue writes them)" >&2
    fi
  else
    need node.crt node.key kubelet.crt kubelet.key proxy.crt proxy.key
    kubelet_tls="$(client node) --tls-cert-file $pki/kubelet.crt"
    kubelet_tls+=" --tls-private-key-file $pki/kubelet.key --client-ca-file $pki/ca.crt"
    kubelet_tls+=" --cluster-ca-file $pki/ca.crt"
    proxy_tls=$(client proxy)
  fi
fi

join() { local IFS=,; echo "$*"; }
# Every component lists the API servers with one of its own choosing first (its own on a
# master), so a cluster's load spreads over them; each fails over to the others.
rotate() {
  local first=$1; shift
  local out=("$first") m
  for m in "$@"; do [ "$m" = "$first" ] || out+=("$m"); done
  join "${out[@]}"
}
servers=() etcd_servers=()
for m in "${master_list[@]}"; do servers+=("$m:6443"); done
for m in "${etcd_list[@]}"; do etcd_servers+=("$m:2379"); done
etcd_endpoints=$(join "${etcd_servers[@]}")

write_env() {  # component, then the daemon's arguments
  local component=$1; shift
  local tmp
  tmp=$(mktemp /etc/tugboat/.env.XXXXXX)
  printf 'ARGS="%s"\n' "$*" >"$tmp"
  chmod 0644 "$tmp"
  mv "$tmp" "/etc/tugboat/$component.env"
}

install -d -m 0755 /etc/tugboat /var/lib/tugboat
[ -z "$pki" ] || install -d -m 0700 /var/log/tugboat
rm -f /etc/tugboat/*.env
units=()
if [ "$role" = master ]; then
  member=-1
  for i in "${!etcd_list[@]}"; do [ "${etcd_list[$i]}" = "$address" ] && member=$i; done
  if [ "$member" -ge 0 ]; then
    [ -z "$pki" ] || need etcd.crt etcd.key
    peers=()
    for i in "${!etcd_list[@]}"; do peers+=("$cluster-etcd-$i=$scheme://${etcd_list[$i]}:2380"); done
    state=new
    [ -d /var/lib/tugboat/etcd/member ] && state=existing
    write_env etcd --name "$cluster-etcd-$member" --data-dir /var/lib/tugboat/etcd \
      --listen-client-urls "$scheme://$address:2379,$scheme://127.0.0.1:2379" \
      --advertise-client-urls "$scheme://$address:2379" \
      --listen-peer-urls "$scheme://$address:2380" \
      --initial-advertise-peer-urls "$scheme://$address:2380" \
      --initial-cluster "$(join "${peers[@]}")" --initial-cluster-state "$state" \
      --initial-cluster-token "$cluster" $etcd_tls
    units+=(tug-etcd.service)
  fi
  mine=$(rotate "$address:6443" "${servers[@]}")
  # A master with its own etcd member talks to it first over loopback (kubeadm's stacked
  # etcd): cut off from the others, it then sees a member without quorum and refuses,
  # rather than seeing nothing at all.
  local_etcd=$etcd_endpoints
  [ "$member" -ge 0 ] && local_etcd=$(rotate "127.0.0.1:2379" "${etcd_servers[@]}")
  # Bound to every address, advertised at the host's: it answers on loopback too.
  write_env apiserver --etcd-servers "$local_etcd" --bind-address 0.0.0.0 \
    --advertise-address "$address" --port 6443 --http-port 8443 --name "$name" \
    --kubelet-http-port 10255 --proxy-http-port 10249 $apiserver_tls $apiserver_args
  write_env scheduler --server "$mine" --etcd-servers "$local_etcd" --name "$name" \
    --http-host "$address" --http-port 10259 $scheduler_tls
  write_env controller-manager --server "$mine" --etcd-servers "$local_etcd" \
    --name "$name" --http-host "$address" --http-port 10257 $cm_tls
  units+=(tug-apiserver.service tug-scheduler.service tug-controller-manager.service)
else
  # Spread the workers over the API servers by a hash of their name.
  pick=$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % ${#servers[@]} ))
  mine=$(rotate "${servers[$pick]}" "${servers[@]}")
  docker_opts=()
  [ -n "$docker_bip" ] && docker_opts+=("\"bip\": \"$docker_bip\"")
  [ -n "$docker_pools" ] && docker_opts+=("\"default-address-pools\": [{\"base\": \"$docker_pools\", \"size\": 24}]")
  [ "$proxy_mode" = nftables ] && docker_opts+=("\"userland-proxy\": false")
  if [ ${#docker_opts[@]} -gt 0 ]; then
    install -d -m 0755 /etc/docker
    {
      echo "{"
      for i in "${!docker_opts[@]}"; do
        printf '  %s%s\n' "${docker_opts[$i]}" "$([ "$i" -lt $((${#docker_opts[@]} - 1)) ] && echo ,)"
      done
      echo "}"
    } >/etc/docker/daemon.json
  fi
  write_env kubelet --node-name "$name" --address "$address" --server "$mine" \
    --root-dir /var/lib/tugboat/kubelet --port 10250 --http-port 10255 --host-gw $kubelet_tls \
    --cluster-dns-wait 60 \
    $kubelet_args
  write_env proxy --node-name "$name" --address "$address" --server "$mine" \
    --http-port 10249 --mode "$proxy_mode" $proxy_tls $proxy_args
  units=(docker.service tug-images.service tug-kubelet.service tug-proxy.service)
fi

echo "configured $name ($address) as a $role: ${units[*]}"
if [ "$no_start" = 0 ]; then
  systemctl daemon-reload
  systemctl enable "${units[@]}" >/dev/null 2>&1
  # Restart, not start: a daemon already running must read its new file.
  systemctl restart "${units[@]}"
fi
