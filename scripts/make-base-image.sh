#!/usr/bin/env bash
# Make the container base images locally, with no container registry:
#
#   railwatch-base/node:24        minimal Debian bookworm (debootstrap --variant=minbase) + iproute2 +
#                                 ca-certificates + the Node 24 runtime from node_modules/node (the node@24
#                                 devDependency ships the real binary). The runtime stage of the Dockerfile uses it.
#   railwatch-base/node:24-build  the same plus npm (copied from the host's npm installation) and the host's
#                                 site-local CA certificates, so `npm ci` works behind a TLS-intercepting proxy.
#                                 Only the build stage of the Dockerfile uses it.
#
# Cached: does nothing when both images exist and were made from the same Node version. FORCE=1 rebuilds.
# Needs root (debootstrap, chroot) and Debian's docker.io; starts dockerd when it is not running.
#
# Environment:
#   DEBIAN_MIRROR   apt mirror for debootstrap (default: the first bookworm URI in /etc/apt/sources.list{,.d})
#   DEBIAN_SUITE    default bookworm
#   NODE_BIN        Node 24 binary to install (default: node_modules/node/bin/node, symlinks resolved)
#   NPM_DIR         npm package directory for the build image (default: the host npm's package root)
#   EXTRA_CA_DIR    *.crt files added to the build image only (default /usr/local/share/ca-certificates)
#   BASE_IMAGE      default railwatch-base/node:24
#   FORCE=1         rebuild even when cached
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
suite="${DEBIAN_SUITE:-bookworm}"
base_image="${BASE_IMAGE:-railwatch-base/node:24}"
build_image="${base_image}-build"
extra_ca_dir="${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"

log() { printf '[make-base-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null || die "dockerd not found (install Debian's docker.io)"
  log "starting dockerd (log: /tmp/dockerd.log)"
  dockerd >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  die "dockerd did not come up within 60 s; see /tmp/dockerd.log"
}

find_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then printf '%s\n' "$DEBIAN_MIRROR"; return; fi
  local f uri
  # deb822 .sources files: a stanza whose Suites include the suite (not -security/-updates only).
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri="$(awk -v s="$suite" '
      /^[[:space:]]*$/ { if (u != "" && ok) { print u; exit } u=""; ok=0; next }
      tolower($1) == "uris:" { u=$2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) ok=1 }
      END { if (u != "" && ok) print u }' "$f" | head -n1)"
    if [ -n "$uri" ]; then printf '%s\n' "$uri"; return; fi
  done
  # one-line format
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri="$(awk -v s="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == s) { print $i; exit } } }' "$f")"
    if [ -n "$uri" ]; then printf '%s\n' "$uri"; return; fi
  done
  printf '%s\n' "http://deb.debian.org/debian"
}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap)"
ensure_docker

node_bin="${NODE_BIN:-$repo_root/node_modules/node/bin/node}"
node_bin="$(readlink -f "$node_bin")" || die "Node binary not found; run npm ci first"
[ -x "$node_bin" ] || die "$node_bin is not executable"
head -c 4 "$node_bin" | grep -q 'ELF' || die "$node_bin is not an ELF binary"
node_version="$("$node_bin" --version)"
case "$node_version" in v24.*) ;; *) die "expected Node 24, $node_bin is $node_version" ;; esac

image_node_version() {
  docker image inspect -f '{{ index .Config.Labels "io.railwatch.node-version" }}' "$1" 2>/dev/null || true
}
# Bump when the package set changes, so cached base images are rebuilt.
base_rev=2
image_base_rev() {
  docker image inspect -f '{{ index .Config.Labels "io.railwatch.base-rev" }}' "$1" 2>/dev/null || true
}

if [ "${FORCE:-0}" != 1 ] \
  && [ "$(image_node_version "$base_image")" = "$node_version" ] \
  && [ "$(image_node_version "$build_image")" = "$node_version" ] \
  && [ "$(image_base_rev "$base_image")" = "$base_rev" ]; then
  log "$base_image and $build_image exist (Node $node_version); nothing to do"
  exit 0
fi

work="$(mktemp -d /tmp/railwatch-base.XXXXXX)"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"

mirror="$(find_mirror)"
started=$SECONDS
log "debootstrap $suite from $mirror (minbase + iproute2, udev, ca-certificates, libstdc++6)"
# iproute2: `ip -o monitor link` (the rtnetlink rescan trigger); udev: `udevadm monitor --kernel` (the uevent trigger,
# delivered to the host network namespace, where the DaemonSet runs).
debootstrap --variant=minbase --include=iproute2,udev,ca-certificates,libstdc++6 \
  "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
log "debootstrap took $((SECONDS - started)) s"

# Slim the tree: package caches, docs, man pages, locales (nothing at run time reads them).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
  "$rootfs"/tmp/* "$rootfs"/var/tmp/*
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"

install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run inside the new root"
chroot "$rootfs" /usr/bin/ip -V >/dev/null 2>&1 || die "ip (iproute2) missing from the new root"
chroot "$rootfs" /usr/bin/udevadm --version >/dev/null 2>&1 || die "udevadm (udev) missing from the new root"

log "importing $base_image"
tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL io.railwatch.node-version=$node_version" \
  --change "LABEL io.railwatch.base-rev=$base_rev" \
  --change "LABEL org.opencontainers.image.description=\"Debian $suite minbase with iproute2, udev and Node $node_version\"" \
  --change 'CMD ["node"]' \
  - "$base_image" >/dev/null

# Build image: npm and the site-local CAs on top of the base.
npm_dir="${NPM_DIR:-}"
if [ -z "$npm_dir" ]; then
  npm_cli="$(readlink -f "$(command -v npm)")" || die "npm not found on the host"
  npm_dir="$(cd "$(dirname "$npm_cli")/.." && pwd)"
fi
[ -f "$npm_dir/bin/npm-cli.js" ] || die "$npm_dir does not look like the npm package"
ctx="$work/build-ctx"
mkdir -p "$ctx/ca"
cp -a "$npm_dir" "$ctx/npm"
if [ -d "$extra_ca_dir" ]; then
  find "$extra_ca_dir" -maxdepth 1 -name '*.crt' -type f -exec cp {} "$ctx/ca/" \;
fi
cat >"$ctx/Dockerfile" <<EOF
FROM $base_image
COPY npm /usr/local/lib/node_modules/npm
COPY ca/ /usr/local/share/ca-certificates/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && update-ca-certificates >/dev/null \\
 && npm --version >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
LABEL io.railwatch.node-version=$node_version
EOF
log "building $build_image"
DOCKER_BUILDKIT=0 docker build -q -t "$build_image" "$ctx" >/dev/null
log "done in $((SECONDS - started)) s: $base_image, $build_image (Node $node_version)"
