#!/bin/sh
# Docker gives a container its (private) cgroup namespace read-only; this node's own
# Docker engine must create cgroups for its pods there. So, inside this container only,
# make its cgroup mounts writable: a bind remount changes this mount namespace's flags,
# never the host's hierarchies (which must not be bind-mounted in: see the facts).
set -eu
grep ' /sys/fs/cgroup' /proc/self/mountinfo | while read -r _ _ _ _ point opts _; do
  case ",$opts," in
    *,ro,*) ;;
    *) continue ;;
  esac
  if [ "$point" = /sys/fs/cgroup ]; then
    mount -o remount,rw "$point"
  else
    mount -o remount,bind,rw "$point"
  fi
done
