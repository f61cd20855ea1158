#!/usr/bin/env bash
# Build the railwatch container image with Debian's docker.io and no container registry.
#
#   scripts/build-image.sh [--tag IMAGE] [--mode auto|source|host]
#
# 1. scripts/make-base-image.sh makes (or reuses) railwatch-base/node:24 and railwatch-base/node:24-build.
# 2. --mode source: `docker build` runs npm ci + tsc inside the build stage (needs the npm registry from inside
#    containers). --mode host: npm ci --omit=dev and tsc run here, into a temporary build context, and the
#    Dockerfile only copies the results (no network inside `docker build`). --mode auto (default): source when a
#    container can reach the npm registry, host otherwise.
#
# Environment: IMAGE (default railwatch:<package.json version>), BUILD_MODE (same as --mode).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
node="$repo_root/node_modules/.bin/node"
[ -x "$node" ] || { echo "[build-image] run npm ci first (node_modules/.bin/node missing)" >&2; exit 1; }
version="$("$node" -p 'require("./package.json").version')"
image="${IMAGE:-railwatch:$version}"
mode="${BUILD_MODE:-auto}"
base_image="${BASE_IMAGE:-railwatch-base/node:24}"

while [ $# -gt 0 ]; do
  case "$1" in
    --tag) image="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "[build-image] unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { printf '[build-image] %s\n' "$*" >&2; }
started=$SECONDS

BASE_IMAGE="$base_image" "$repo_root/scripts/make-base-image.sh"
log "base images ready after $((SECONDS - started)) s"

if [ "$mode" = auto ]; then
  if timeout 60 docker run --rm "$base_image-build" npm ping >/dev/null 2>&1; then mode=source; else mode=host; fi
  log "npm registry from a container: $([ "$mode" = source ] && echo reachable || echo unreachable) -> --mode $mode"
fi

revision="$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
build_args=(--build-arg "BASE_IMAGE=$base_image" --build-arg "VERSION=$version"
  --build-arg "REVISION=$revision" --build-arg "CREATED=$created" --build-arg "BUILD_MODE=$mode")

stage=""
cleanup() { if [ -n "$stage" ]; then rm -rf "$stage"; fi; }
trap cleanup EXIT

case "$mode" in
  source)
    context="$repo_root"
    ;;
  host)
    stage="$(mktemp -d /tmp/railwatch-image.XXXXXX)"
    cp package.json package-lock.json "$stage/"
    cp -a bin "$stage/bin"
    log "bundling agent/ into the build context (scripts/build.mjs)"
    "$repo_root/node_modules/.bin/node" scripts/build.mjs "$stage/dist"
    log "installing production dependencies into the build context"
    # npm runs under the project's Node 24 (node_modules/.bin first on PATH), as the engines field asks.
    (cd "$stage" && PATH="$repo_root/node_modules/.bin:$PATH" \
      npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
    context="$stage"
    ;;
  *) echo "[build-image] --mode must be auto, source or host" >&2; exit 2 ;;
esac

log "docker build -t $image (mode $mode)"
DOCKER_BUILDKIT=0 docker build -q "${build_args[@]}" -f "$repo_root/Dockerfile" -t "$image" "$context" >/dev/null
log "built $image in $((SECONDS - started)) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
