#!/usr/bin/env bash
# bench/desktop.sh - desktop latency: median of 50 calls for PNG, JPEG q70, WebP and scale 0.5
# JPEG screenshots, mouse move, click, typing 100 characters, a 100-action agent loop and the
# latency from an X change to the answer of a waiting ?waitForChangeMs screenshot,
# on a 1440x900 desktop with one window (the tests' X client).  agentd always; the reference
# sandbox-agent 0.4.2 side by side when its binary and its helpers (xdotool, ImageMagick's
# import, xrandr) are installed.  Prints figures, never asserts.
#
# Environment: AGENTD_BIN (build/agentd), BENCH_REF_BIN (the reference binary; default
# .cache/ref/package/bin/sandbox-agent when present), BENCH_N (50), BENCH_LOOP (100).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
AGENTD_BIN=${AGENTD_BIN:-build/agentd}
XCLIENT=${XCLIENT:-build/tests/desk_xclient}
REF_BIN=${BENCH_REF_BIN:-.cache/ref/package/bin/sandbox-agent}

[[ -x $AGENTD_BIN && -x $XCLIENT ]] || make -s "$AGENTD_BIN" "$XCLIENT"

work=$(mktemp -d)
# start() runs in a command substitution (a subshell): its pids go through a file.
cleanup() {
    for p in $(cat "$work/pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# start NAME CMD... : starts a server on a free port, its desktop, and the window; echoes NAME=URL.
start() {
    local name=$1 port display status
    shift
    port=$(free_port)
    mkdir -p "$work/$name"
    HOME=$work/$name "$@" server --host 127.0.0.1 --port "$port" --no-token >"$work/$name.log" 2>&1 &
    echo $! >>"$work/pids"
    for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/v1/health" >/dev/null && break; sleep 0.05; done
    status=$(curl -sf -XPOST -H 'content-type: application/json' \
        -d "{\"width\":1440,\"height\":900,\"displayNum\":$((300 + RANDOM % 300))}" \
        "http://127.0.0.1:$port/v1/desktop/start") || { echo "bench: $name: desktop start failed" >&2; return 1; }
    display=$(printf '%s' "$status" | node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(JSON.parse(s).display))')
    DISPLAY=$display "$XCLIENT" 100 100 800 600 >/dev/null 2>&1 &
    echo $! >>"$work/pids"
    sleep 0.3 # the window maps; only a figure depends on it
    echo "$name=http://127.0.0.1:$port"
}

servers=()
servers+=("$(start agentd "$AGENTD_BIN")")
if [[ -x $REF_BIN ]] && command -v xdotool >/dev/null && command -v import >/dev/null; then
    servers+=("$(start reference "$REF_BIN" || true)")
else
    echo "bench: reference column skipped (needs $REF_BIN, xdotool and ImageMagick's import)" >&2
fi
XCLIENT=$XCLIENT node bench/desktop.mjs "${servers[@]}"
