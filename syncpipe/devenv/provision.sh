#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager and fetch etcd into a cache directory,
# using only Debian's package registry (no container engine, no prebuilt Kubernetes binaries).
#
#   provision.sh CACHE_DIR [--node]
#
# Leaves CACHE_DIR/bin/{kube-apiserver,kube-controller-manager,etcd}; with --node also
# kube-scheduler and the node's kubelet, kube-proxy and kubectl, built from the same source, the
# pause container's static binary (build/pause of that source) as CACHE_DIR/bin/pause, and
# Debian's containerd, runc, CNI plugins, iptables, busybox-static and umoci installed on the
# system. Idempotent: steps whose output already exists are skipped. The system's apt configuration is left untouched: a private
# sources list, state and cache directory live under CACHE_DIR/apt.
set -euo pipefail

cache=${1:?usage: provision.sh CACHE_DIR [--node]}
with_node=0
[ "${2:-}" = --node ] && with_node=1
mkdir -p "$cache/bin"
cache=$(cd "$cache" && pwd)
bin="$cache/bin"

K8S_SOURCE_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
GO_VERSION_PKG="golang-1.15"

log() { printf '[syncpipe provision] %s\n' "$*" >&2; }

need_tools() {
  local missing=()
  for tool in make rsync dpkg-source; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    log "installing build tools: ${missing[*]}"
    install_packages make rsync dpkg-dev
  fi
}

install_packages() {
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && apt-get install -y -qq "$@" >/dev/null
  else
    sudo apt-get update -qq >/dev/null && sudo apt-get install -y -qq "$@" >/dev/null
  fi
}

mirror_uri() {
  # The machine's own Debian mirror, read from its deb822 or one-line sources.
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ {for (i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

private_apt() {
  local aptdir="$cache/apt"
  mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial" "$aptdir/parts"
  local uri; uri=$(mirror_uri)
  cat >"$aptdir/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bullseye main
SRC
  APT_OPTS=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=$aptdir/parts"
            -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
            -o "Dir::Cache::Archives=$aptdir/archives" -o "APT::Sandbox::User=root"
            -o "Debug::NoLocking=1")
  if [ ! -f "$aptdir/.updated" ]; then
    log "refreshing the private apt lists (bookworm sources, bullseye binaries)"
    apt-get "${APT_OPTS[@]}" update -qq >/dev/null
    touch "$aptdir/.updated"
  fi
}

fetch_go() {
  local goroot="$cache/go1.15/usr/lib/go-1.15"
  if [ -x "$goroot/bin/go" ]; then echo "$goroot"; return; fi
  log "fetching Go 1.15 from Debian bullseye"
  local work="$cache/go-debs"; mkdir -p "$work"
  (cd "$work" && apt-get "${APT_OPTS[@]}" download -qq "${GO_VERSION_PKG}-go" "${GO_VERSION_PKG}-src" >/dev/null)
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$cache/go1.15"; done
  rm -rf "$work"
  echo "$goroot"
}

fetch_kubernetes_source() {
  local src="$cache/kubernetes-src"
  if [ -f "$src/.unpacked" ]; then echo "$src"; return; fi
  log "fetching Debian's kubernetes source package ($K8S_SOURCE_VERSION)"
  local work="$cache/k8s-dl"; rm -rf "$work" "$src"; mkdir -p "$work"
  (cd "$work" && apt-get "${APT_OPTS[@]}" source -qq --download-only "kubernetes=$K8S_SOURCE_VERSION" >/dev/null)
  (cd "$work" && dpkg-source --no-check -x ./*.dsc unpacked >/dev/null)
  mv "$work/unpacked" "$src"
  rm -rf "$work"
  touch "$src/.unpacked"
  echo "$src"
}

build_kubernetes() {
  # build_kubernetes CMD... : `make WHAT=cmd/CMD ...` for those not in $bin yet, then installs them.
  local missing=() cmd
  for cmd in "$@"; do [ -x "$bin/$cmd" ] || missing+=("$cmd"); done
  ((${#missing[@]})) || return 0
  local goroot src
  goroot=$(fetch_go)
  src=$(fetch_kubernetes_source)
  log "building ${missing[*]} (several minutes on 2 cores)"
  (
    cd "$src"
    export GOROOT="$goroot" PATH="$goroot/bin:$PATH" GOFLAGS=-mod=vendor GO111MODULE=on
    export GOCACHE="$cache/gocache" GOPATH="$cache/gopath" KUBE_GIT_VERSION="v1.20.2"
    export KUBE_BUILD_PLATFORMS="linux/$(go env GOARCH)"
    make WHAT="${missing[*]/#/cmd/}" >"$cache/build.log" 2>&1
  ) || { log "build failed; see $cache/build.log"; tail -30 "$cache/build.log" >&2; exit 1; }
  for cmd in "${missing[@]}"; do
    local built="$src/_output/bin/$cmd"
    [ -x "$built" ] || built=$(find "$src/_output" -type f -name "$cmd" | head -1)
    install -m 0755 "$built" "$bin/"
  done
}

build_pause() {
  # The pod sandbox's only process: build/pause of the same source, linked statically.
  if [ -x "$bin/pause" ]; then return; fi
  local src; src=$(fetch_kubernetes_source)
  local pause_c; pause_c=$(find "$src/build/pause" -name pause.c | head -1)
  log "building pause from ${pause_c#"$src"/}"
  command -v gcc >/dev/null 2>&1 || install_packages gcc libc6-dev
  gcc -Os -Wall -Werror -static -DVERSION=v1.20.2 -o "$bin/pause" "$pause_c"
  strip "$bin/pause"
}

install_node_packages() {
  # The node's runtime from Debian; nothing of it is pulled from a registry.
  local missing=() pkg
  for pkg in containerd runc containernetworking-plugins iptables busybox-static umoci iproute2; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing from Debian: ${missing[*]}"
  install_packages "${missing[@]}"
}

forget_sources() {
  # The tree and Go's caches are not needed once the binaries exist.
  rm -rf "$cache/kubernetes-src" "$cache/gocache" "$cache/gopath"
}

fetch_etcd() {
  if [ -x "$bin/etcd" ]; then return; fi
  if command -v etcd >/dev/null 2>&1; then ln -sf "$(command -v etcd)" "$bin/etcd"; return; fi
  log "fetching etcd-server from Debian bookworm"
  local work="$cache/etcd-dl"; rm -rf "$work"; mkdir -p "$work"
  local aptdir="$cache/apt"
  cat >"$aptdir/sources-bookworm.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(mirror_uri) bookworm main
SRC
  local opts=("${APT_OPTS[@]}")
  opts[1]="Dir::Etc::SourceList=$aptdir/sources-bookworm.list"
  opts[5]="Dir::State::Lists=$aptdir/lists-bookworm"
  mkdir -p "$aptdir/lists-bookworm/partial"
  apt-get "${opts[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${opts[@]}" download -qq etcd-server >/dev/null)
  dpkg -x "$work"/etcd-server_*.deb "$work/root"
  install -m 0755 "$work/root/usr/bin/etcd" "$bin/etcd"
  rm -rf "$work"
}

need_tools
private_apt
fetch_etcd
if [ "$with_node" = 1 ]; then
  # One build for all: the node's binaries share most packages with the control plane's.
  build_kubernetes kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl
  build_pause
  install_node_packages
else
  build_kubernetes kube-apiserver kube-controller-manager
fi
forget_sources
log "ready: $bin"
ls "$bin" >&2
