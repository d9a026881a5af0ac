#!/bin/sh
# tests/image: build the runtime and full images (images/Dockerfile) and check them with
# image.test.mjs through the official SDK.  Run by `make image-test` and .ci/run, as root.
#
# What it needs it makes: Debian's docker.io and debootstrap are installed when missing, dockerd
# is started when no engine answers (and stopped again at the end), and debian:bookworm-slim,
# which no registry here serves, is made with debootstrap from this machine's Debian mirror.
# Only that base image gets this machine's apt settings (/etc/apt/apt.conf.d/) and extra CA
# certificates (/usr/local/share/ca-certificates/): the Dockerfile stays machine-independent.
set -eu
cd "$(dirname "$0")/../.."
IMAGE="${IMAGE:-agentd}"
WORK="${TMPDIR:-/tmp}/agentd-image-test"
DOCKERD_PID=""

say() { printf 'image-test: %s\n' "$*"; }

cleanup() {
    if [ -n "$DOCKERD_PID" ]; then
        say "stopping the dockerd this test started (pid $DOCKERD_PID)"
        kill "$DOCKERD_PID" 2>/dev/null || true
        i=0
        while kill -0 "$DOCKERD_PID" 2>/dev/null && [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
}
trap cleanup EXIT INT TERM

need=""
command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
command -v debootstrap >/dev/null 2>&1 || need="$need debootstrap"
if [ -n "$need" ]; then
    say "installing$need"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
# Debian's client: it matches Debian's engine (BuildKit included).
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=docker
export DOCKER

if ! "$DOCKER" info >/dev/null 2>&1; then
    mkdir -p "$WORK"
    say "starting dockerd (log: $WORK/dockerd.log)"
    dockerd >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    i=0
    until "$DOCKER" info >/dev/null 2>&1; do
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null || [ $i -ge 300 ]; then
            say "dockerd did not come up:"
            tail -20 "$WORK/dockerd.log" >&2
            exit 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
fi

if ! "$DOCKER" image inspect debian:bookworm-slim >/dev/null 2>&1; then
    mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
    [ -n "$mirror" ] || mirror="$(sed -n 's/^deb  *\([^ ]*\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)"
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    rootfs="$WORK/rootfs"
    say "making debian:bookworm-slim with debootstrap from $mirror"
    rm -rf "$rootfs" && mkdir -p "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
    # As the real slim image: no package cache, no lists.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
    cp /etc/apt/apt.conf.d/* "$rootfs/etc/apt/apt.conf.d/" 2>/dev/null || true
    if ls /usr/local/share/ca-certificates/* >/dev/null 2>&1; then
        mkdir -p "$rootfs/usr/local/share/ca-certificates"
        cp -r /usr/local/share/ca-certificates/* "$rootfs/usr/local/share/ca-certificates/"
    fi
    tar -C "$rootfs" -c . | "$DOCKER" import - debian:bookworm-slim >/dev/null
    rm -rf "$rootfs"
fi

for target in runtime full; do
    t0=$(date +%s.%N)
    say "building $IMAGE:$target"
    DOCKER_BUILDKIT=0 "$DOCKER" build -q -f images/Dockerfile --target "$target" -t "$IMAGE:$target" . >/dev/null
    t1=$(date +%s.%N)
    say "$IMAGE:$target built in $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
done

# The test's node tools (the SDK, ws) are the integration suite's.
[ -d tests/node_modules/sandbox-agent ] || (cd tests && npm ci --no-audit --no-fund >/dev/null)
cd tests
AGENTD_IMAGE_RUNTIME="$IMAGE:runtime" AGENTD_IMAGE_FULL="$IMAGE:full" \
    node --test --test-concurrency=1 image/image.test.mjs
