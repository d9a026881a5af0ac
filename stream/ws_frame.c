/*
 * ws_frame: RFC 6455 framing for the server side.  The parser reads a
 * frame header byte by byte into hdr[] until its length is known (2 to 14
 * bytes), then unmasks the payload straight into the message buffer (data
 * frames) or ctl[] (control frames, at most 125 bytes), and reports an
 * event when a message or a control frame is complete.  Everything a
 * client may get wrong is checked on the header, before any payload is
 * accepted: so a frame declaring 2 GiB is refused at its tenth byte.
 */
#include "ws_frame.h"

#include "base64.h"

#include <libwebsockets.h>
#include <string.h>

void ws_parser_init(struct ws_parser *p, size_t max_message)
{
    memset(p, 0, sizeof(*p));
    p->max_message = max_message;
    p->msg_op = WS_OP_CONTINUATION;
    buf_init(&p->msg, max_message);
}

void ws_parser_done(struct ws_parser *p)
{
    buf_done(&p->msg);
}

static int fail(struct ws_parser *p, int code, const char *reason)
{
    p->error = code;
    p->reason = reason;
    return -1;
}

/* The header's length once its first two bytes are known. */
static size_t header_size(const unsigned char *h)
{
    size_t n = 2 + 4; /* client frames are masked: the key always follows */

    if ((h[1] & 0x7f) == 126)
        n += 2;
    else if ((h[1] & 0x7f) == 127)
        n += 8;
    return n;
}

/* Checks the first two bytes: a fault is refused before the rest of the header. */
static int header_start(struct ws_parser *p)
{
    unsigned op = p->hdr[0] & 0x0f;

    if (p->hdr[0] & 0x70)
        return fail(p, WS_CLOSE_PROTOCOL, "reserved bits set (no extension was negotiated)");
    if (!(p->hdr[1] & 0x80))
        return fail(p, WS_CLOSE_PROTOCOL, "client frames must be masked");
    if ((op > WS_OP_BINARY && op < WS_OP_CLOSE) || op > WS_OP_PONG)
        return fail(p, WS_CLOSE_PROTOCOL, "unknown opcode");
    return 0;
}

/* Checks a complete header and sets up the frame; -1 on a fault. */
static int frame_begin(struct ws_parser *p)
{
    const unsigned char *h = p->hdr;
    unsigned op = h[0] & 0x0f, lenbits = h[1] & 0x7f;
    uint64_t len = lenbits;
    size_t k = 2;

    if (h[0] & 0x70)
        return fail(p, WS_CLOSE_PROTOCOL, "reserved bits set (no extension was negotiated)");
    if (!(h[1] & 0x80))
        return fail(p, WS_CLOSE_PROTOCOL, "client frames must be masked");
    if (lenbits == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        k = 4;
    } else if (lenbits == 127) {
        len = 0;
        for (k = 2; k < 10; k++)
            len = len << 8 | h[k];
        if (len >> 63)
            return fail(p, WS_CLOSE_PROTOCOL, "frame length has its top bit set");
    }
    memcpy(p->mask, h + k, 4);
    p->fin = h[0] & 0x80;
    p->op = (enum ws_opcode)op;
    p->remain = len;
    p->pos = 0;
    switch (op) {
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!p->fin)
            return fail(p, WS_CLOSE_PROTOCOL, "control frames must not be fragmented");
        if (len > sizeof(p->ctl))
            return fail(p, WS_CLOSE_PROTOCOL, "control frames carry at most 125 bytes");
        p->ctl_len = 0;
        return 0;
    case WS_OP_CONTINUATION:
        if (p->msg_op == WS_OP_CONTINUATION)
            return fail(p, WS_CLOSE_PROTOCOL, "continuation frame without a message");
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (p->msg_op != WS_OP_CONTINUATION)
            return fail(p, WS_CLOSE_PROTOCOL, "new message before the last one ended");
        p->msg_op = (enum ws_opcode)op;
        buf_reset(&p->msg);
        break;
    default:
        return fail(p, WS_CLOSE_PROTOCOL, "unknown opcode");
    }
    /* Refused on the header: the client does not get to send what cannot be kept. */
    if (len > p->max_message - p->msg.len)
        return fail(p, WS_CLOSE_TOO_BIG, "message too big");
    return 0;
}

/* The frame's payload is complete: an event, or nothing (a non-final fragment). */
static int frame_end(struct ws_parser *p, struct ws_event *ev)
{
    p->hdr_len = 0;
    if (p->op == WS_OP_CLOSE) {
        ev->op = WS_OP_CLOSE;
        ev->close_code = WS_CLOSE_NO_STATUS;
        ev->data = p->ctl;
        ev->len = 0;
        if (p->ctl_len == 1)
            return fail(p, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
        if (p->ctl_len >= 2) {
            int code = p->ctl[0] << 8 | p->ctl[1];
            /* The codes a peer may send (RFC 6455 7.4, IANA registry up to 1014). */
            if (code < 1000 || code >= 5000 || (code >= 1004 && code <= 1006) ||
                (code >= 1015 && code < 3000))
                return fail(p, WS_CLOSE_PROTOCOL, "invalid close code");
            if (!ws_utf8_valid(p->ctl + 2, p->ctl_len - 2))
                return fail(p, WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
            ev->close_code = code;
            ev->data = p->ctl + 2;
            ev->len = p->ctl_len - 2;
        }
        return 1;
    }
    if (p->op == WS_OP_PING || p->op == WS_OP_PONG) {
        ev->op = p->op;
        ev->data = p->ctl;
        ev->len = p->ctl_len;
        ev->close_code = 0;
        return 1;
    }
    if (!p->fin)
        return 0;
    ev->op = p->msg_op;
    ev->data = p->msg.data ? p->msg.data : "";
    ev->len = p->msg.len;
    ev->close_code = 0;
    p->msg_op = WS_OP_CONTINUATION;
    if (ev->op == WS_OP_TEXT && !ws_utf8_valid(ev->data, ev->len))
        return fail(p, WS_CLOSE_BAD_DATA, "text message is not UTF-8");
    return 1;
}

int ws_parse(struct ws_parser *p, const void *data, size_t len, size_t *used, struct ws_event *ev)
{
    const unsigned char *in = data;
    size_t off = 0;
    int r;

    *used = 0;
    if (p->error)
        return -1;
    while (off < len) {
        /* The header, byte by byte until its size is known. */
        if (p->hdr_len < 2 || p->hdr_len < header_size(p->hdr)) {
            p->hdr[p->hdr_len++] = in[off++];
            if (p->hdr_len == 2 && header_start(p) < 0)
                break;
            if (p->hdr_len < 2 || p->hdr_len < header_size(p->hdr))
                continue;
            if (frame_begin(p) < 0)
                break;
        }
        /* The payload, copied to its place and unmasked there. */
        if (p->remain) {
            size_t n = len - off;
            unsigned char *dst;
            if (n > p->remain)
                n = (size_t)p->remain;
            if (p->op >= WS_OP_CLOSE) {
                dst = p->ctl + p->ctl_len;
                memcpy(dst, in + off, n);
                p->ctl_len += n;
            } else {
                size_t at = p->msg.len;
                /* Cannot fail: frame_begin() kept the message under the maximum. */
                if (buf_append(&p->msg, in + off, n) < 0) {
                    fail(p, WS_CLOSE_TOO_BIG, "message too big");
                    break;
                }
                dst = (unsigned char *)p->msg.data + at;
            }
            for (size_t i = 0; i < n; i++)
                dst[i] ^= p->mask[(p->pos + i) & 3];
            p->pos += n;
            p->remain -= n;
            off += n;
            if (p->remain)
                continue;
        }
        r = frame_end(p, ev);
        if (r < 0)
            break;
        if (r > 0) {
            *used = off;
            return 1;
        }
    }
    *used = off;
    return p->error ? -1 : 0;
}

size_t ws_frame_header(unsigned char hdr[10], enum ws_opcode op, uint64_t len)
{
    hdr[0] = (unsigned char)(0x80 | op);
    if (len < 126) {
        hdr[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        hdr[1] = 126;
        hdr[2] = (unsigned char)(len >> 8);
        hdr[3] = (unsigned char)len;
        return 4;
    }
    hdr[1] = 127;
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

bool ws_utf8_valid(const void *data, size_t n)
{
    const unsigned char *s = data, *end = s + n;

    while (s < end) {
        unsigned c = *s++, need, min, cp;
        if (c < 0x80)
            continue;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            min = 0x80;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            min = 0x800;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            min = 0x10000;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - s) < need)
            return false;
        for (unsigned i = 0; i < need; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        s += need;
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

void ws_accept_key(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char in[128 + sizeof(guid)], md[20];

    if (key_len > 128)
        key_len = 128;
    memcpy(in, key, key_len);
    memcpy(in + key_len, guid, sizeof(guid) - 1);
    lws_SHA1(in, key_len + sizeof(guid) - 1, md);
    base64_encode(md, sizeof(md), out);
}
