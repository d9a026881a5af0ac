/*
 * ws_frame: the server side of RFC 6455 framing, without I/O.  A parser
 * that takes client bytes in any split and yields whole messages and
 * control frames, refusing what a server must refuse with the close code
 * to send (1002 protocol error, 1007 bad UTF-8, 1009 too big); and the
 * header of an (unmasked) server frame.  No extension is ever negotiated,
 * so any RSV bit is an error.
 */
#ifndef STREAM_WS_FRAME_H
#define STREAM_WS_FRAME_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes agentd sends (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL     1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL   1002
#define WS_CLOSE_NO_STATUS  1005 /* received only: a close frame without a code */
#define WS_CLOSE_BAD_DATA   1007
#define WS_CLOSE_POLICY     1008
#define WS_CLOSE_TOO_BIG    1009

/* What ws_parse() found: a whole message or one control frame. */
struct ws_event {
    enum ws_opcode op; /* TEXT or BINARY (a whole message), CLOSE, PING or PONG */
    const void *data;  /* valid until the next ws_parse() or ws_parser_done() */
    size_t len;
    int close_code; /* CLOSE: the peer's code, WS_CLOSE_NO_STATUS without one */
};

struct ws_parser {
    size_t max_message; /* bytes of one reassembled message */
    /* the frame being read */
    unsigned char hdr[14];
    size_t hdr_len;
    enum ws_opcode op;
    bool fin;
    unsigned char mask[4];
    uint64_t remain; /* payload bytes still to come */
    uint64_t pos;    /* payload bytes read (mask index) */
    /* the message being reassembled: WS_OP_CONTINUATION when none */
    enum ws_opcode msg_op;
    struct buf msg;
    unsigned char ctl[125]; /* a control frame's payload */
    size_t ctl_len;
    /* the error: a close code and its reason, once; the parser is then dead */
    int error;
    const char *reason;
};

void ws_parser_init(struct ws_parser *p, size_t max_message);
void ws_parser_done(struct ws_parser *p);

/*
 * Consumes bytes from (data, len) into *used and returns 1 with *ev filled
 * (call again with the rest), 0 when it needs more bytes (all were
 * consumed), or -1 on a protocol fault: p->error is the close code to
 * send, p->reason says why.  A fault is final.
 */
int ws_parse(struct ws_parser *p, const void *data, size_t len, size_t *used, struct ws_event *ev);

/* Writes the header of a final, unmasked server frame into hdr[10]; returns its length. */
size_t ws_frame_header(unsigned char hdr[10], enum ws_opcode op, uint64_t len);

/* True if (p, n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool ws_utf8_valid(const void *p, size_t n);

/* The Sec-WebSocket-Accept value for a client's key (RFC 6455 4.2.2): 28 characters + NUL. */
void ws_accept_key(const char *key, size_t key_len, char out[29]);

#endif
