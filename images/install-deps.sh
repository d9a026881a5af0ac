#!/bin/sh
# Installs every Debian package agentd needs to build, run and test.
# Idempotent: packages already present are skipped, so a second run is quick.
# This is the single list of dependencies; images/Dockerfile and `make deps` both call it.
#
#   images/install-deps.sh            build + runtime + test packages
#   images/install-deps.sh --build    only what `make build/agentd` needs (the image's build stage)
#   images/install-deps.sh --runtime  only what a running agentd needs (the image's runtime
#                                     stage): desktop packages and node + npm included
#   images/install-deps.sh --print-desktop  print the desktop runtime packages and exit
set -eu

# The desktop runtime packages are listed once, in desktop_packages.h beside this script, which
# `agentd install desktop` is compiled from.
desktop_list() {
    sed -n "s/^#define $1 \"\(.*\)\"\$/\1/p" "$(dirname "$0")/desktop_packages.h"
}
DESKTOP_RUNTIME="$(desktop_list DESKTOP_PACKAGES) $(desktop_list DESKTOP_FONT_PACKAGES)"
if [ "$DESKTOP_RUNTIME" = " " ]; then
    echo "install-deps: cannot read $(dirname "$0")/desktop_packages.h" >&2
    exit 1
fi
if [ "${1:-}" = "--print-desktop" ]; then
    echo $DESKTOP_RUNTIME
    exit 0
fi

BUILD="gcc make pkg-config libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libcjson-dev
libarchive-dev libx11-dev libxtst-dev libxext-dev libxfixes-dev libxdamage-dev libpng-dev
libjpeg62-turbo-dev libwebp-dev libcmocka-dev clang libclang-rt-dev clang-format"
RUNTIME="libwebsockets17 libwebsockets-evlib-uv libuv1 libcjson1 libarchive13 ca-certificates
libx11-6 libxext6 libxtst6 libxfixes3 libxdamage1 libpng16-16 libjpeg62-turbo libwebp7"
# The desktop (/v1/desktop/*): the X server and window manager agentd starts, ffmpeg for
# recordings, a font.  x11-utils (xwininfo) and xclip are independent X clients the tests use;
# xterm is the terminal a person or an agent opens on the desktop (the image has it too).
DESKTOP="$DESKTOP_RUNTIME x11-utils xclip xterm"
# x11-apps (xmessage...): real X apps the launch tests start; tmux drives agentd exec;
# yamllint checks the Kubernetes example (make lint-yaml).
TEST="wrk curl ca-certificates x11-apps tmux yamllint"

# The compiler and the -dev packages alone (the test and fuzz tools are not needed for the binary).
BUILD_ONLY="gcc make pkg-config libc6-dev libwebsockets-dev libwebsockets-evlib-uv libuv1-dev
libcjson-dev libarchive-dev libx11-dev libxtst-dev libxext-dev libxfixes-dev libxdamage-dev
libpng-dev libjpeg62-turbo-dev libwebp-dev"

case "${1:-}" in
--build) want="$BUILD_ONLY" ;;
--runtime) want="$RUNTIME $DESKTOP" ;;
"") want="$BUILD $RUNTIME $DESKTOP $TEST" ;;
*)
    echo "install-deps: unknown option $1 (--build, --runtime, --print-desktop or none)" >&2
    exit 2
    ;;
esac
# A fresh Debian 12 has no node: take Debian's (the tests run on node 18 and newer; agent
# adapters are npm packages, so a runtime needs it too).
if [ "${1:-}" != "--build" ] && ! command -v node >/dev/null 2>&1; then
    want="$want nodejs npm"
fi

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
