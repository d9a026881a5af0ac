/*
 * A response body read from a file descriptor on the worker pool, one
 * chunk (LIM_DOWNLOAD_CHUNK_BYTES) ahead of the socket: no read on the
 * loop, no whole-file buffering.  For file downloads (fs/, recordings).
 */
#ifndef STREAM_HTTP_FD_H
#define STREAM_HTTP_FD_H

#include "http.h"

#include <stdint.h>

/*
 * Answers req with the bytes [start, end) of fd, which it takes (closed
 * when the response ends).  end UINT64_MAX sends until end of file with
 * content_length -1 (chunked); otherwise content_length is end - start and
 * a file that ends early aborts the connection (the client sees the cut).
 * Headers must have been added; the request's context must be free (the
 * body becomes it).
 */
void http_reply_fd(struct http_req *req, int status, const char *content_type, int fd,
                   uint64_t start, uint64_t end);

/* A single byte range of a Range header (RFC 9110). */
enum http_range {
    HTTP_RANGE_NONE = 0,           /* no usable Range header: send everything */
    HTTP_RANGE_OK = 1,             /* *ret_start and *ret_len describe the part */
    HTTP_RANGE_UNSATISFIABLE = -1, /* 416 */
};
enum http_range http_range_parse(const char *header, uint64_t size, uint64_t *ret_start,
                                 uint64_t *ret_len);

/*
 * Answers req with fd (taken) of size bytes, honouring the request's Range
 * header value range (may be NULL): 200 with Accept-Ranges, 206 with
 * Content-Range for one satisfiable byte range, 416 problem+json with
 * `Content-Range: bytes * /size` otherwise.  Several ranges or junk get the
 * whole file, as RFC 9110 allows.
 */
void http_reply_fd_range(struct http_req *req, const char *content_type, int fd, uint64_t size,
                         const char *range);

#endif
