#!/usr/bin/env bash
# bench/run.sh - throughput / memory / size figures for agentd next to the reference
# sandbox-agent 0.4.2, printed as one table.  `make bench` runs it from the repo root after
# building build/agentd.
#
# It reports figures and never asserts: a target that is missed is marked MISS in the table,
# and the exit status is non-zero only when the benchmark itself cannot run (a tool is missing,
# npm cannot fetch the reference, the reference does not start).  If agentd is missing or does
# not start, its column reads n/a and the reason is printed under the table.
#
# Environment (all optional):
#   BENCH_SECONDS=10       wrk duration per server for GET /v1/health
#   BENCH_SKIP_1G=1        skip agentd's 1 GiB upload (RSS growth)
#   BENCH_REPEAT=3         transfers per 256 MiB upload/download figure (best one is reported)
#   BENCH_SMALL_COUNT=64   uploads in the "2 MiB x N" series (one curl, keep-alive)
#   BENCH_CURL_TIMEOUT=300 per-transfer curl --max-time, seconds
#   AGENTD_BIN=build/agentd
#   BENCH_REF_BIN=PATH     use this reference binary instead of the npm-fetched one
#   TMPDIR                 where the scratch dir is made (needs ~1.6 GiB free at peak)
#
# Units: throughput MB/s = 10^6 bytes/s (so "1 GB/s" = 1000 MB/s); memory and file sizes are
# MiB (the kernel reports KiB), and the MB in the memory/size targets is read as MiB.

set -euo pipefail

REF_PKG='@sandbox-agent/cli-linux-x64@0.4.2'
REF_VERSION='0.4.2'

SECONDS_WRK=${BENCH_SECONDS:-10}
SKIP_1G=${BENCH_SKIP_1G:-0}
REPEAT=${BENCH_REPEAT:-3}
SMALL_COUNT=${BENCH_SMALL_COUNT:-64}
CURL_TIMEOUT=${BENCH_CURL_TIMEOUT:-300}

BIG_BYTES=$((256 * 1024 * 1024))
SMALL_BYTES=$((2 * 1024 * 1024))
HUGE_BYTES=$((1024 * 1024 * 1024))

log() { printf '[bench] %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
AGENTD_BIN=${AGENTD_BIN:-build/agentd}

for v in SECONDS_WRK REPEAT SMALL_COUNT CURL_TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

# ---- tools -------------------------------------------------------------------------------------

missing=()
for t in wrk curl npm tar strip awk head truncate cmp stat mktemp timeout; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
((${#missing[@]} == 0)) || die "missing tool(s): ${missing[*]} (Debian: apt-get install wrk curl npm binutils)"
[[ -r /proc/self/status ]] || die "/proc is required (VmRSS/VmHWM are read from /proc/PID/status)"

# ---- scratch dir, processes, cleanup -----------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/agentd-bench.XXXXXX") || die "cannot create a temp dir"
REF_PID=''
AG_PID=''

stop_pid() { # pid: TERM, wait up to 5 s, then KILL
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || {
        wait "$pid" 2>/dev/null || true
        return 0
    }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$REF_PID"
    stop_pid "$AG_PID"
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- small helpers -----------------------------------------------------------------------------

declare -A V=()  # raw figures, keys "ref.xxx" / "ag.xxx"
NOTES=()         # printed under the table

note() { NOTES+=("$*"); }

proc_kb() { # pid field -> KiB or empty
    awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) exit 1 }' \
        "/proc/$1/status" 2>/dev/null || true
}

urlenc() { # percent-encode a query value
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [a-zA-Z0-9/._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

fs_url() { printf 'http://127.0.0.1:%s/v1/fs/file?path=%s' "$1" "$(urlenc "$2")"; }

calc() { awk "BEGIN { printf \"%s\", ($1) }" </dev/null; } # calc 'awk expression'

pick_port() { # a loopback port nobody listens on, below the ephemeral range
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            printf '%s' "$p"
            return 0
        fi
    done
    return 1
}

# curl_xfer METHOD URL [FILE [CURL-ARGS...]] -> "code bytes seconds"; FILE is the PUT body
curl_xfer() {
    local method=$1 url=$2 file=${3:-} out
    local args=(-sS --max-time "$CURL_TIMEOUT" -w '%{http_code} %{size_upload} %{size_download} %{time_total}\n')
    (($# > 3)) && args+=("${@:4}")
    if [[ $method == PUT ]]; then
        args+=(-o "$TMP/resp.body" -T "$file" -X PUT)
    else
        args+=(-o /dev/null)
    fi
    out=$(curl "${args[@]}" "$url" 2>"$TMP/curl.err") || true
    [[ -n $out ]] || out='000 0 0 0'
    if [[ $method == PUT ]]; then
        awk '{ print $1, $2, $4 }' <<<"$out"
    else
        awk '{ print $1, $3, $4 }' <<<"$out"
    fi
}

curl_err() { # last curl error + response body, one line
    local e b
    e=$(tr '\n' ' ' <"$TMP/curl.err" 2>/dev/null | head -c 200 || true)
    b=$(tr '\n' ' ' <"$TMP/resp.body" 2>/dev/null | head -c 200 || true)
    printf '%s%s' "${e:+curl: $e }" "${b:+body: $b}"
}

mbps() { calc "($2 > 0) ? $1 / $2 / 1e6 : 0"; } # bytes seconds

# ---- reference binary (npm) --------------------------------------------------------------------

ensure_ref() {
    if [[ -n ${BENCH_REF_BIN:-} ]]; then
        REF_BIN=$BENCH_REF_BIN
        [[ -x $REF_BIN ]] || die "BENCH_REF_BIN=$REF_BIN is not executable"
        return 0
    fi
    local dir=$ROOT/.cache/ref dl tgz
    REF_BIN=$dir/package/bin/sandbox-agent
    if [[ -x $REF_BIN ]] && "$REF_BIN" --version 2>/dev/null | grep -qF "$REF_VERSION"; then
        return 0
    fi
    log "fetching $REF_PKG with npm into .cache/ref/"
    mkdir -p "$dir"
    dl=$(mktemp -d "$dir/.dl.XXXXXX")
    if ! (cd "$dl" && npm pack "$REF_PKG" --silent >/dev/null 2>"$dl/npm.err"); then
        cat "$dl/npm.err" >&2 || true
        rm -rf "$dl"
        die "npm pack $REF_PKG failed (network? registry?)"
    fi
    tgz=$(find "$dl" -maxdepth 1 -name '*.tgz' -print -quit)
    [[ -n $tgz ]] || {
        rm -rf "$dl"
        die "npm pack produced no tarball"
    }
    tar -xzf "$tgz" -C "$dl" || {
        rm -rf "$dl"
        die "cannot extract $tgz"
    }
    [[ -f $dl/package/bin/sandbox-agent ]] || {
        rm -rf "$dl"
        die "package has no bin/sandbox-agent"
    }
    rm -rf "$dir/package"
    mv "$dl/package" "$dir/package"
    rm -rf "$dl"
    chmod +x "$REF_BIN"
    "$REF_BIN" --version 2>/dev/null | grep -qF "$REF_VERSION" ||
        die "$REF_BIN does not report version $REF_VERSION"
}

# ---- starting servers --------------------------------------------------------------------------

# wait_health PID PORT DEADLINE_S -> 0 when GET /v1/health answers 200
wait_health() {
    local pid=$1 port=$2 end=$((SECONDS + $3)) code
    while ((SECONDS < end)); do
        kill -0 "$pid" 2>/dev/null || return 1
        code=$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$port/v1/health" 2>/dev/null) || true
        [[ $code == 200 ]] && return 0
        sleep 0.05
    done
    return 1
}

start_ref() {
    local try port
    mkdir -p "$TMP/ref-home"
    for ((try = 1; try <= 5; try++)); do
        port=$(pick_port) || die "no free loopback port found"
        HOME=$TMP/ref-home XDG_DATA_HOME=$TMP/ref-home/.local/share \
            "$REF_BIN" server --host 127.0.0.1 --port "$port" --no-token --no-telemetry \
            >"$TMP/ref.log" 2>&1 &
        REF_PID=$!
        if wait_health "$REF_PID" "$port" 30; then
            REF_PORT=$port
            return 0
        fi
        stop_pid "$REF_PID"
        REF_PID=''
        log "reference did not come up on port $port (attempt $try): $(tail -n 3 "$TMP/ref.log" | tr '\n' ' ')"
    done
    die "reference server does not start; log: $(tail -n 20 "$TMP/ref.log")"
}

start_agentd() { # -> 0 and AG_PORT set, or 1 with a note
    local pf=$TMP/agentd.port end=$((SECONDS + 15)) port='' rc
    if [[ ! -x $AGENTD_BIN ]]; then
        note "agentd: $AGENTD_BIN not found or not executable (run 'make' first)"
        return 1
    fi
    mkdir -p "$TMP/ag-home"
    rm -f "$pf"
    HOME=$TMP/ag-home "$AGENTD_BIN" server --host 127.0.0.1 --port 0 --no-token --port-file "$pf" \
        >"$TMP/ag.log" 2>&1 &
    AG_PID=$!
    while ((SECONDS < end)); do
        if ! kill -0 "$AG_PID" 2>/dev/null; then
            wait "$AG_PID" 2>/dev/null && rc=0 || rc=$?
            AG_PID=''
            note "agentd: exited (status $rc) before writing --port-file; log tail: $(tail -n 5 "$TMP/ag.log" | tr '\n' ' ')"
            return 1
        fi
        if [[ -s $pf ]]; then
            port=$(tr -d '[:space:]' <"$pf")
            [[ $port =~ ^[0-9]+$ ]] && ((port > 0)) && break
            port=''
        fi
        sleep 0.02
    done
    if [[ -z $port ]]; then
        note "agentd: no port in --port-file $pf after 15 s"
        stop_pid "$AG_PID"
        AG_PID=''
        return 1
    fi
    AG_PORT=$port
    if ! wait_health "$AG_PID" "$AG_PORT" 10; then
        note "agentd: listening on $AG_PORT but GET /v1/health is not 200: $(curl -s -i --max-time 2 "http://127.0.0.1:$AG_PORT/v1/health" 2>&1 | head -c 300 | tr '\r\n' '  ')"
    fi
    return 0
}

# ---- measurements ------------------------------------------------------------------------------

to_ms() { # wrk latency "245.00us" / "1.23ms" / "1.01s" -> ms
    awk -v x="$1" 'BEGIN {
        if (x ~ /us$/) { sub(/us$/, "", x); printf "%.3f", x / 1000 }
        else if (x ~ /ms$/) { sub(/ms$/, "", x); printf "%.3f", x }
        else if (x ~ /s$/) { sub(/s$/, "", x); printf "%.3f", x * 1000 }
    }'
}

bench_health() { # side port
    local side=$1 port=$2 url="http://127.0.0.1:$2/v1/health" code out non2xx sockerr p99
    code=$(curl -s -o "$TMP/resp.body" --max-time 5 -w '%{http_code}' "$url" 2>/dev/null) || true
    if [[ $code != 200 ]]; then
        V[$side.health_err]="HTTP ${code:-000}"
        note "$side: GET /v1/health -> ${code:-000} $(head -c 200 "$TMP/resp.body" 2>/dev/null | tr '\n' ' ')"
        return 0
    fi
    log "$side: wrk -t2 -c64 -d${SECONDS_WRK}s GET /v1/health"
    out=$(timeout $((SECONDS_WRK + 60)) wrk -t2 -c64 -d"${SECONDS_WRK}s" --latency "$url" 2>&1) || true
    V[$side.health_rps]=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    [[ -n $p99 ]] && V[$side.health_p99]=$(to_ms "$p99")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    sockerr=$(grep -m1 'Socket errors:' <<<"$out" | sed 's/^ *//' || true)
    [[ -n $non2xx ]] && note "$side: wrk saw $non2xx non-2xx responses on /v1/health"
    [[ -n $sockerr ]] && note "$side: wrk $sockerr"
    if [[ -z ${V[$side.health_rps]} ]]; then
        unset "V[$side.health_rps]"
        V[$side.health_err]='wrk failed'
        note "$side: wrk output: $(tr '\n' ' ' <<<"$out" | head -c 300)"
    fi
}

# bench_upload_big SIDE PORT KEY [CURL-ARGS...]: best of REPEAT 256 MiB PUTs into V[SIDE.KEY_*]
bench_upload_big() {
    local side=$1 port=$2 key=$3 i code bytes t r best=''
    local dest="$TMP/$side-up/big.bin"
    shift 3
    log "$side: PUT 256 MiB x$REPEAT $*"
    for ((i = 0; i < REPEAT; i++)); do
        rm -f "$dest"
        read -r code bytes t < <(curl_xfer PUT "$(fs_url "$port" "$dest")" "$SRC256" "$@")
        if [[ $code != 200 ]]; then
            V[$side.${key}_code]=$code
            [[ $code == 413 ]] || note "$side: PUT 256 MiB $* -> HTTP $code $(curl_err)"
            break
        fi
        V[$side.${key}_code]=200
        r=$(mbps "$bytes" "$t")
        if [[ -z $best ]] || (($(calc "$r > $best"))); then best=$r; fi
    done
    [[ -n $best ]] && V[$side.${key}_mbps]=$best
    if [[ ${V[$side.${key}_code]} == 200 ]]; then
        if [[ ! -f $dest ]]; then
            note "$side: PUT 256 MiB said 200 but $dest does not exist"
        elif [[ $(stat -c %s "$dest") != "$BIG_BYTES" ]]; then
            note "$side: PUT 256 MiB wrote $(stat -c %s "$dest") bytes, expected $BIG_BYTES"
        elif ! cmp -s "$SRC256" "$dest"; then
            note "$side: PUT 256 MiB: uploaded file differs from the source (corruption)"
        fi
    fi
    rm -f "$dest"
}

# probe_expect SIDE PORT: does the server answer "Expect: 100-continue" with an interim 100?
# Without it curl (like most clients) stalls --expect100-timeout (1 s by default) per upload.
probe_expect() {
    local side=$1 port=$2 out
    out=$(curl -sS -v --max-time 30 --expect100-timeout 3 -o /dev/null -X PUT -T "$SRC2" \
        -H 'Expect: 100-continue' "$(fs_url "$port" "$TMP/$side-up/expect.bin")" 2>&1) || true
    if grep -qE '^< HTTP/[0-9.]+ 100' <<<"$out"; then
        V[$side.expect]='yes'
    elif grep -q 'Done waiting for 100-continue' <<<"$out"; then
        V[$side.expect]='no (curl stalls 1 s/upload)'
        note "$side: no '100 Continue' for 'Expect: 100-continue'; every curl upload > 1 MiB waits 1 s. Repro: curl -sv -o /dev/null -T FILE_2MiB -X PUT 'http://127.0.0.1:PORT/v1/fs/file?path=/tmp/x' 2>&1 | grep -i -e continue -e '^< HTTP'"
    else
        V[$side.expect]='?'
    fi
    rm -f "$TMP/$side-up/expect.bin"
}

bench_upload_small() { # side port: SMALL_COUNT x 2 MiB on one keep-alive curl
    local side=$1 port=$2 cfg="$TMP/small.curlrc" i out ok start end
    local dest="$TMP/$side-up/small.bin"
    log "$side: PUT 2 MiB x$SMALL_COUNT"
    : >"$cfg"
    for ((i = 0; i < SMALL_COUNT; i++)); do
        printf 'url = "%s"\nupload-file = "%s"\noutput = "/dev/null"\n' \
            "$(fs_url "$port" "$dest")" "$SRC2" >>"$cfg"
    done
    start=$(date +%s%N)
    out=$(curl -sS --max-time "$CURL_TIMEOUT" -X PUT -K "$cfg" -w '%{http_code}\n' 2>"$TMP/curl.err") || true
    end=$(date +%s%N)
    ok=$(grep -c '^200$' <<<"$out" || true)
    if ((ok == SMALL_COUNT)); then
        V[$side.small_mbps]=$(calc "$SMALL_COUNT * $SMALL_BYTES / (($end - $start) / 1e9) / 1e6")
    else
        V[$side.small_err]="$ok/$SMALL_COUNT ok"
        note "$side: PUT 2 MiB x$SMALL_COUNT: only $ok answered 200 (codes: $(sort <<<"$out" | uniq -c | tr '\n' ' ')) $(curl_err)"
    fi
    rm -f "$dest"
}

bench_download() { # side port
    local side=$1 port=$2 i code bytes t r best=''
    log "$side: GET 256 MiB x$REPEAT"
    for ((i = 0; i < REPEAT; i++)); do
        read -r code bytes t < <(curl_xfer GET "$(fs_url "$port" "$SRC256")")
        if [[ $code != 200 || $bytes != "$BIG_BYTES" ]]; then
            V[$side.down_err]="HTTP $code"
            note "$side: GET 256 MiB -> HTTP $code, $bytes bytes $(curl_err) $(curl -s --max-time 5 -r 0-199 "$(fs_url "$port" "$SRC256")" 2>/dev/null | head -c 200 | tr -c '[:print:]' '.')"
            return 0
        fi
        r=$(mbps "$bytes" "$t")
        if [[ -z $best ]] || (($(calc "$r > $best"))); then best=$r; fi
    done
    V[$side.down_mbps]=$best
}

bench_upload_huge() { # side port pid: RSS growth during a 1 GiB upload
    local side=$1 port=$2 pid=$3 before hwm code bytes t reset=1
    local dest="$TMP/$side-up/huge.bin"
    log "$side: PUT 1 GiB (RSS growth)"
    before=$(proc_kb "$pid" VmRSS)
    # Writing 5 to clear_refs resets VmHWM to the current RSS, so the HWM afterwards is the
    # peak during this upload alone.
    { echo 5 >"/proc/$pid/clear_refs"; } 2>/dev/null || reset=0
    V[$side.hwm_before_1g]=$(proc_kb "$pid" VmHWM)
    read -r code bytes t < <(curl_xfer PUT "$(fs_url "$port" "$dest")" "$SRC1G")
    hwm=$(proc_kb "$pid" VmHWM)
    if [[ $code != 200 ]]; then
        V[$side.huge_err]="HTTP $code"
        note "$side: PUT 1 GiB -> HTTP $code $(curl_err)"
    else
        V[$side.huge_mbps]=$(mbps "$bytes" "$t")
        [[ -f $dest && $(stat -c %s "$dest") == "$HUGE_BYTES" ]] ||
            note "$side: PUT 1 GiB said 200 but wrote $(stat -c %s "$dest" 2>/dev/null || echo 0) bytes"
    fi
    if [[ -n $before && -n $hwm ]]; then
        V[$side.growth_1g]=$((hwm - before))
        ((reset)) || note "$side: could not reset VmHWM (clear_refs); 1 GiB growth is HWM - RSS and may include earlier peaks"
    fi
    V[$side.rss_after_1g]=$(proc_kb "$pid" VmRSS)
    rm -f "$dest"
}

run_side() { # side port pid
    local side=$1 port=$2 pid=$3
    mkdir -p "$TMP/$side-up"
    probe_expect "$side" "$port"
    bench_upload_big "$side" "$port" up
    V[$side.rss_after_up]=$(proc_kb "$pid" VmRSS)
    V[$side.hwm_after_up]=$(proc_kb "$pid" VmHWM)
    bench_upload_big "$side" "$port" upnx -H 'Expect:'
    bench_upload_small "$side" "$port"
    bench_download "$side" "$port"
    V[$side.hwm_after_down]=$(proc_kb "$pid" VmHWM)
    bench_health "$side" "$port"
    if [[ $side == ag ]]; then
        if [[ $SKIP_1G == 1 ]]; then
            V[ag.huge_err]='skipped'
        else
            bench_upload_huge "$side" "$port" "$pid"
        fi
    fi
    V[$side.rss_end]=$(proc_kb "$pid" VmRSS)
    V[$side.hwm_end]=$(proc_kb "$pid" VmHWM)
    if ! kill -0 "$pid" 2>/dev/null; then
        note "$side: server process is gone after the benchmarks; log tail: $(tail -n 5 "$TMP/$side.log" 2>/dev/null | tr '\n' ' ')"
    fi
}

# ---- go ----------------------------------------------------------------------------------------

ensure_ref

log "scratch dir $TMP"
SRC256=$TMP/src-256M.bin
SRC2=$TMP/src-2M.bin
SRC1G=$TMP/src-1G.sparse
head -c "$BIG_BYTES" /dev/urandom >"$SRC256"
head -c "$SMALL_BYTES" /dev/urandom >"$SRC2"
truncate -s "$HUGE_BYTES" "$SRC1G" # sparse: reads cost no disk I/O

log "starting reference ($REF_BIN)"
start_ref
V[ref.rss_idle]=$(proc_kb "$REF_PID" VmRSS)
V[ref.hwm_idle]=$(proc_kb "$REF_PID" VmHWM)

AG_OK=0
log "starting agentd ($AGENTD_BIN)"
if start_agentd; then
    AG_OK=1
    V[ag.rss_idle]=$(proc_kb "$AG_PID" VmRSS)
    V[ag.hwm_idle]=$(proc_kb "$AG_PID" VmHWM)
fi

run_side ref "$REF_PORT" "$REF_PID"
stop_pid "$REF_PID" # one server at a time from here: the box may have few cores
REF_PID=''
if ((AG_OK)); then
    run_side ag "$AG_PORT" "$AG_PID"
    stop_pid "$AG_PID"
    AG_PID=''
fi

V[ref.bin]=$(stat -c %s "$REF_BIN")
strip -o "$TMP/ref.stripped" "$REF_BIN" 2>/dev/null && V[ref.bin_stripped]=$(stat -c %s "$TMP/ref.stripped")
rm -f "$TMP/ref.stripped"
if [[ -f $AGENTD_BIN ]]; then
    V[ag.bin]=$(stat -c %s "$AGENTD_BIN")
    if strip -o "$TMP/agentd.stripped" "$AGENTD_BIN" 2>"$TMP/strip.err"; then
        V[ag.bin_stripped]=$(stat -c %s "$TMP/agentd.stripped")
    else
        note "agentd: strip failed: $(head -c 200 "$TMP/strip.err")"
    fi
    rm -f "$TMP/agentd.stripped"
fi

# ---- table -------------------------------------------------------------------------------------

get() { printf '%s' "${V[$1]:-}"; }
f_rate() { if [[ -n $1 ]]; then calc "sprintf(\"%.0f MB/s\", $1)"; fi; }
f_rps() { if [[ -n $1 ]]; then calc "sprintf(\"%.0f req/s\", $1)"; fi; }
f_ms() { if [[ -n $1 ]]; then calc "sprintf(\"%.2f ms\", $1)"; fi; }
f_kib() { if [[ -n $1 ]]; then calc "sprintf(\"%.1f MiB\", $1 / 1024)"; fi; }
f_bytes() { if [[ -n $1 ]]; then calc "sprintf(\"%.2f MiB\", $1 / 1048576)"; fi; }
ratio() { # agentd reference -> "1.23x" or "-"
    if [[ -n $1 && -n $2 ]] && (($(calc "$2 > 0"))); then calc "sprintf(\"%.2fx\", $1 / $2)"; else printf -- '-'; fi
}
mark() { # condition-expression (awk) or empty
    if [[ -z $1 ]]; then printf 'n/a'; elif (($(calc "($1) ? 1 : 0"))); then printf 'ok'; else printf 'MISS'; fi
}

ROWS=()
row() { ROWS+=("$1"$'\t'"${2:--}"$'\t'"${3:--}"$'\t'"${4:--}"$'\t'"${5:-}"); }
or_err() { [[ -n $1 ]] && printf '%s' "$1" || printf '%s' "${2:+($2)}"; } # value, else "(error)"

agv() { ((AG_OK)) && printf '%s' "$1" || printf 'n/a'; }

# health
r=$(get ref.health_rps) a=$(get ag.health_rps)
t=''
[[ -n $r && -n $a ]] && t="$a >= $r"
row 'GET /v1/health (wrk -t2 -c64)' "$(or_err "$(f_rps "$r")" "$(get ref.health_err)")" \
    "$(agv "$(or_err "$(f_rps "$a")" "$(get ag.health_err)")")" "$(ratio "$a" "$r")" \
    ">= 1.0x ref, aim 1.5x [$(mark "$t")$([[ -n $t ]] && (($(calc "$a >= 1.5 * $r"))) && printf ', aim met')]"
row '  health p99 latency' "$(f_ms "$(get ref.health_p99)")" "$(agv "$(f_ms "$(get ag.health_p99)")")" \
    "$(ratio "$(get ag.health_p99)" "$(get ref.health_p99)")" 'lower is better'

# upload 256 MiB
case $(get ref.up_code) in
200) ru=$(f_rate "$(get ref.up_mbps)") ;;
413) ru='refused (413, 2 MiB limit)' ;;
*) ru="error (HTTP $(get ref.up_code))" ;;
esac
a=$(get ag.up_mbps)
au=$(or_err "$(f_rate "$a")" "$([[ -n $(get ag.up_code) ]] && printf 'HTTP %s' "$(get ag.up_code)")")
t=''
[[ -n $a ]] && t="$a >= 1000"
row "PUT 256 MiB /v1/fs/file (best of $REPEAT)" "$ru" "$(agv "$au")" "$(ratio "$a" "$(get ref.up_mbps)")" \
    ">= 1000 MB/s [$(mark "$t")]"
case $(get ref.upnx_code) in
200) ru=$(f_rate "$(get ref.upnx_mbps)") ;;
413) ru='refused (413)' ;;
*) ru="error (HTTP $(get ref.upnx_code))" ;;
esac
a=$(get ag.upnx_mbps)
au=$(or_err "$(f_rate "$a")" "$([[ -n $(get ag.upnx_code) ]] && printf 'HTTP %s' "$(get ag.upnx_code)")")
row "  same, curl -H 'Expect:' (no 100 wait)" "$ru" "$(agv "$au")" "$(ratio "$a" "$(get ref.upnx_mbps)")" 'informative'
row '  answers Expect: 100-continue' "$(get ref.expect)" "$(agv "$(get ag.expect)")" '-' 'yes (reference does)'

# upload 2 MiB x N
r=$(get ref.small_mbps) a=$(get ag.small_mbps)
row "PUT 2 MiB x$SMALL_COUNT (keep-alive)" "$(or_err "$(f_rate "$r")" "$(get ref.small_err)")" \
    "$(agv "$(or_err "$(f_rate "$a")" "$(get ag.small_err)")")" "$(ratio "$a" "$r")" 'informative'

# download
r=$(get ref.down_mbps) a=$(get ag.down_mbps)
t=''
[[ -n $r && -n $a ]] && t="$a >= 2 * $r"
row "GET 256 MiB /v1/fs/file (best of $REPEAT)" "$(or_err "$(f_rate "$r")" "$(get ref.down_err)")" \
    "$(agv "$(or_err "$(f_rate "$a")" "$(get ag.down_err)")")" "$(ratio "$a" "$r")" ">= 2.0x ref [$(mark "$t")]"

# memory
r=$(get ref.rss_idle) a=$(get ag.rss_idle)
t=''
[[ -n $a ]] && t="$a <= 4096"
row 'idle RSS (VmRSS after start)' "$(f_kib "$r")" "$(agv "$(f_kib "$a")")" "$(ratio "$a" "$r")" "<= 4 MiB [$(mark "$t")]"
r=$(get ref.rss_after_up) a=$(get ag.rss_after_up)
row 'RSS after 256 MiB upload(s)' "$(f_kib "$r")" "$(agv "$(f_kib "$a")")" "$(ratio "$a" "$r")" 'lower is better'
r=$(get ref.hwm_after_up) a=$(get ag.hwm_after_up)
row 'VmHWM after 256 MiB upload(s)' "$(f_kib "$r")" "$(agv "$(f_kib "$a")")" "$(ratio "$a" "$r")" 'lower is better'
if [[ $(get ag.huge_err) == skipped ]]; then
    row 'RSS growth, 1 GiB upload' 'n/a' "$(agv 'skipped')" '-' '<= 8 MiB [skipped: BENCH_SKIP_1G=1]'
else
    a=$(get ag.growth_1g)
    t=''
    [[ -n $a ]] && t="$a <= 8192"
    row 'RSS growth, 1 GiB upload (HWM-RSS)' 'n/a (413)' \
        "$(agv "$(or_err "$(f_kib "$a")" "$(get ag.huge_err)")")" '-' "<= 8 MiB [$(mark "$t")]"
    row '  1 GiB upload throughput' 'n/a (413)' "$(agv "$(or_err "$(f_rate "$(get ag.huge_mbps)")" "$(get ag.huge_err)")")" '-' 'informative'
fi
r=$(get ref.hwm_end) a=$(get ag.hwm_end)
r=$(get ref.hwm_after_down) a=$(get ag.hwm_after_down)
row 'VmHWM after 256 MiB downloads' "$(f_kib "$r")" "$(agv "$(f_kib "$a")")" "$(ratio "$a" "$r")" 'lower is better'
row 'VmHWM at end of run' "$(f_kib "$r")" "$(agv "$(f_kib "$a")")" "$(ratio "$a" "$r")" 'includes wrk load'

# size
r=$(get ref.bin) a=$(get ag.bin)
row 'binary size (as shipped/built)' "$(f_bytes "$r")" "$(f_bytes "$a")" "$(ratio "$a" "$r")" 'informative'
r=$(get ref.bin_stripped) a=$(get ag.bin_stripped)
t=''
[[ -n $a ]] && t="$a <= 1048576"
row 'binary size, stripped' "$(f_bytes "$r")" "$(f_bytes "$a")" "$(ratio "$a" "$r")" "<= 1 MiB [$(mark "$t")]"

ag_ver=$( ( [[ -x $AGENTD_BIN ]] && "$AGENTD_BIN" --version 2>/dev/null | head -n1) || true)
printf '\n'
printf 'agentd bench  %s  (%s cores, %s, kernel %s)\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(nproc 2>/dev/null || echo '?')" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo '?')" "$(uname -r)"
printf 'reference: %s (%s)\n' "$("$REF_BIN" --version 2>/dev/null | head -n1)" "$REF_BIN"
printf 'agentd:    %s (%s)\n' "${ag_ver:-unknown}" "$AGENTD_BIN"
printf 'wrk %ss per server; servers measured one at a time on 127.0.0.1; ratio = agentd / reference\n\n' "$SECONDS_WRK"

{
    printf 'metric\treference\tagentd\tratio\ttarget (agentd)\n'
    printf -- '------\t---------\t------\t-----\t---------------\n'
    printf '%s\n' "${ROWS[@]}"
} | awk -F'\t' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
    END {
        for (r = 1; r <= n; r++) {
            line = ""
            for (i = 1; i <= 5; i++) {
                c = cell[r, i]
                if (c ~ /^-+$/ && r == 2) { c = ""; while (length(c) < w[i]) c = c "-" }
                line = line (i > 1 ? " | " : "") sprintf(i == 1 || i == 5 ? "%-" w[i] "s" : "%" w[i] "s", c)
            }
            sub(/ +$/, "", line); print line
        }
    }'

if ((${#NOTES[@]})); then
    printf '\nnotes:\n'
    printf '  - %s\n' "${NOTES[@]}"
fi
