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

#endif
