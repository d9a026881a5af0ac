/*
 * Every limit agentd enforces on input it does not control lives here, so that
 * a reviewer can see the whole attack surface in one screen.  A buffer fed by
 * the network, a child or a file is created with one of these as its maximum.
 */
#ifndef STREAM_LIMITS_H
#define STREAM_LIMITS_H

/* HTTP request line plus all headers (431 beyond; also libwebsockets' header arena). */
#define LIM_HTTP_HEADER_BYTES 16384
/* Header lines in one request (431 beyond). */
#define LIM_HTTP_HEADERS 100
/* Longest request line (414 beyond): the URI plus method and version. */
#define LIM_REQUEST_LINE_BYTES (LIM_URI_BYTES + 64)
/* Chunked request bodies: one chunk-size line with its extensions, and all trailers (400). */
#define LIM_CHUNK_LINE_BYTES    4096
#define LIM_CHUNK_TRAILER_BYTES 16384
/* Longest request path plus query string we accept (414 beyond). */
#define LIM_URI_BYTES 8192
/* Longest query string after '?'. */
#define LIM_QUERY_BYTES 8192
/* Most query parameters in one request. */
#define LIM_QUERY_PARAMS 64
/* Longest single header value we copy out (Authorization, Range, Content-Type...). */
#define LIM_HEADER_VALUE_BYTES 4096

/* JSON request bodies are buffered whole; anything larger is 413. */
#define LIM_JSON_BODY_BYTES (2u * 1024u * 1024u)
/* Nesting depth of a JSON request body (arrays and objects). */
#define LIM_JSON_DEPTH 64

/* A filesystem path a client sends (PATH_MAX is the kernel's own limit). */
#define LIM_PATH_BYTES 4096

/* Streamed uploads: size of each staging buffer handed to the worker pool. */
#define LIM_UPLOAD_CHUNK_BYTES (1024u * 1024u)
/* Streamed uploads: optional cap on one file (0 = only free disk limits it). */
#define LIM_UPLOAD_MAX_BYTES 0ull
/* Downloads: bytes read from the file and written per writable callback. */
#define LIM_DOWNLOAD_CHUNK_BYTES (256u * 1024u)

/* Tar batch upload: entries reported in the reply (all are extracted). */
#define LIM_TAR_REPORTED_PATHS 1024
/* Tar batch upload: most entries in one archive (413 beyond, nothing extracted).  A million
 * tiny entries made 1 M inodes and 3.9 GB of blocks from a 15 MB upload; a large
 * node_modules tree has about 100 000. */
#define LIM_TAR_ENTRIES 250000
/* Tar batch upload: most bytes its regular files may declare in all (413 beyond, nothing
 * extracted; sparse files count their full size). */
#define LIM_TAR_TOTAL_BYTES (64ull * 1024 * 1024 * 1024)

/* Directory listing: most entries returned by one GET /v1/fs/entries. */
#define LIM_DIR_ENTRIES 100000

/* fs watch: inotify watches per stream, and queued-but-unsent event bytes. */
#define LIM_WATCH_DIRS        8192
#define LIM_WATCH_STREAMS     64
#define LIM_WATCH_QUEUE_BYTES (1024u * 1024u)

/* Server-Sent Events: keep-alive comment interval. */
#define LIM_SSE_KEEPALIVE_MS 15000

/* WebSocket: seconds a connection may take to let our close frame out before it is dropped. */
#define LIM_WS_CLOSE_GRACE_S 5

/* Receive buffer per connection (one read from the socket). */
#define LIM_RX_BUFFER_BYTES (256u * 1024u)

/* A body we answered early (413, 401...) is read and dropped up to this, then we close. */
#define LIM_DISCARD_BODY_BYTES (16ull * 1024 * 1024)

/* One newline-delimited JSON-RPC message on an ACP agent's stdio (either direction). */
#define LIM_ACP_LINE_BYTES (16u * 1024u * 1024u)

/* A per-directory config file (mcp.json, skills.json) read back before an update. */
#define LIM_CONFIG_FILE_BYTES (16u * 1024u * 1024u)

/* Desktop: largest screen side a client may ask for (Xvfb's own limit is higher). */
#define LIM_DESKTOP_MAX_SIDE 8192
/* Desktop: most DPI. */
#define LIM_DESKTOP_MAX_DPI 1000
/* Desktop: clicks in one click request, wheel steps in one scroll request (each axis). */
#define LIM_DESKTOP_CLICKS       100
#define LIM_DESKTOP_SCROLL_STEPS 1000
/* Desktop: characters in one type request, and the per-character delay. */
#define LIM_DESKTOP_TYPE_CHARS    65536
#define LIM_DESKTOP_TYPE_DELAY_MS 1000
/* Desktop: characters x delayMs of one `type` (the X thread is busy with it meanwhile). */
#define LIM_DESKTOP_TYPE_TOTAL_MS 60000
/* Desktop: longest waitForChangeMs of a screenshot (a parked request holds one connection). */
#define LIM_DESKTOP_WAIT_CHANGE_MS 60000
/* Desktop: keys in one chord ("ctrl+shift+alt+t"). */
#define LIM_DESKTOP_CHORD_KEYS 8
/* Desktop: clipboard text agentd holds or reads from another owner (set is also bounded by
 * LIM_JSON_BODY_BYTES). */
#define LIM_DESKTOP_CLIPBOARD_BYTES (16u * 1024u * 1024u)
/* Desktop: windows in one list, and bytes of one window title. */
#define LIM_DESKTOP_WINDOWS     1024
#define LIM_DESKTOP_TITLE_BYTES 4096

/* Most simultaneous connections (HTTP, SSE and WebSocket); past it a new one gets 503 and is
 * closed.  RLIMIT_NOFILE is raised at start to make room for them and for child pipes. */
#define LIM_CONNECTIONS 4096
/* A request head must be complete this long after its first byte (408 and close: slowloris). */
#define LIM_HEADER_TIMEOUT_MS 10000
/* An idle keep-alive connection is closed after this; with more than half the connection
 * slots in use, after LIM_KEEPALIVE_BUSY_MS. */
#define LIM_KEEPALIVE_IDLE_MS 60000
#define LIM_KEEPALIVE_BUSY_MS 2000
/* A request body that makes no progress for this long (not counting our own backpressure)
 * ends the connection, releasing its upload. */
#define LIM_BODY_IDLE_MS 60000
/* A closing connection reads and drops what the client still sends for this long (so that
 * unread request bytes do not turn our reply into a reset). */
#define LIM_LINGER_MS 2000
/* Refused connections (503) lingering at once; past it a new one is cut without an answer. */
#define LIM_REFUSED_LINGERING 256
/* Steps one connection may take per loop turn before the others get theirs (fairness). */
#define LIM_CONN_STEPS_PER_TURN 64
/* The spin guard: this many steps in a row without progress, or this many passes in one
 * second that do nothing, mean a bug; the connection is logged and closed. */
#define LIM_CONN_STUCK_STEPS 16
#define LIM_CONN_DRY_PASSES  1000
/* Worker-pool threads kept free of long jobs (work_submit_bulk): with libuv's default 4, at
 * most 2 tar extractions or upload commits run at once and 2 threads serve everything else. */
#define LIM_WORK_BULK_RESERVE 2
/* A WebSocket message (terminal input or control) larger than this closes with 1009. */
#define LIM_WS_MESSAGE_BYTES (256u * 1024u)

/* ACP: agent->client events kept per server for SSE replay (the reference's 1024). */
#define LIM_ACP_REPLAY_EVENTS 1024
/* ACP: bytes of those events kept per server (the oldest go first beyond it). */
#define LIM_ACP_REPLAY_BYTES (64u * 1024u * 1024u)
/* ACP: a request the agent has not answered after this gets 504 (env
 * AGENTD_ACP_REQUEST_TIMEOUT_MS). */
#define LIM_ACP_REQUEST_TIMEOUT_MS (10 * 60 * 1000)
/* ACP: an SSE GET for a server that does not exist yet waits this long for the POST that
 * creates it (the SDK sends both at once) before it gets 404. */
#define LIM_ACP_EARLY_SUBSCRIBE_MS 2000
/* ACP: live servers (agent processes) at once. */
#define LIM_ACP_SERVERS 64
/* ACP: after DELETE, SIGTERM to the agent's group, then SIGKILL after this. */
#define LIM_ACP_KILL_GRACE_MS 2000
/* Agents: the last bytes of an agent's (or npm's) stderr kept for errors and logs. */
#define LIM_AGENT_STDERR_TAIL_BYTES 4096
/* Agents: an npm install that takes longer is killed. */
#define LIM_AGENT_INSTALL_MS (10 * 60 * 1000)
/* Agents: `<cli> --version` for GET /v1/agents?config=true is killed after this (each of the
 * three tries; node CLIs answer in 0.4-0.8 s). */
#define LIM_AGENT_VERSION_MS 5000
/* Agents: the head of a version lookup's stdout and of its stderr that is kept. */
#define LIM_AGENT_VERSION_OUTPUT_BYTES 1024

#endif
