/*
 * desktop_encode: a captured BGRX frame to PNG, JPEG or WebP in memory, on
 * the worker pool.  PNG goes through libpng's simplified write-to-memory
 * API with its fast flag (no filtering, zlib level 3: desktop content is
 * mostly flat, so this is both quick and small); JPEG through libjpeg-turbo,
 * which reads BGRX rows directly; WebP through libwebp's BGRX import.
 */
#include "desktop_internal.h"

#include "../stream/xmalloc.h"

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/encode.h>

#define DESK_JPEG_DEFAULT_QUALITY 85
#define DESK_WEBP_DEFAULT_QUALITY 80
/* libwebp effort 0 (fastest) .. 6: 1 is within a few percent of the size of 4 here. */
#define DESK_WEBP_METHOD 1

static int encode_png(const struct desk_image *im, uint8_t **ret, size_t *ret_len,
                      struct problem *err)
{
    png_image pi;
    uint8_t *bgr, *mem;
    png_alloc_size_t size;
    size_t row = (size_t)im->width * 3;

    /* The fourth byte of an X pixel is padding, not alpha: drop it. */
    bgr = xmalloc(row * (size_t)im->height);
    for (int y = 0; y < im->height; y++) {
        const uint8_t *s = im->px + im->stride * (size_t)y;
        uint8_t *d = bgr + row * (size_t)y;
        for (int x = 0; x < im->width; x++, s += 4, d += 3) {
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)im->width;
    pi.height = (png_uint_32)im->height;
    pi.format = PNG_FORMAT_BGR;
    pi.flags = PNG_IMAGE_FLAG_FAST;
    size = PNG_IMAGE_PNG_SIZE_MAX(pi);
    mem = xmalloc(size);
    if (!png_image_write_to_memory(&pi, mem, &size, 0, bgr, (png_int_32)row, NULL)) {
        problem_set(err, 502, PROBLEM_DESKTOP_SCREENSHOT_FAILED, "PNG encoding failed: %s",
                    pi.message);
        png_image_free(&pi);
        free(mem);
        free(bgr);
        return -1;
    }
    free(bgr);
    *ret = mem;
    *ret_len = size;
    return 0;
}

struct jpeg_err {
    struct jpeg_error_mgr mgr; /* first member */
    jmp_buf jump;
    unsigned char *mem; /* the output, malloc'd by jpeg_mem_dest (in memory across longjmp) */
    unsigned long size;
};

static void jpeg_fail(j_common_ptr c)
{
    longjmp(((struct jpeg_err *)c->err)->jump, 1);
}

static int encode_jpeg(const struct desk_image *im, int quality, uint8_t **ret, size_t *ret_len,
                       struct problem *err)
{
    struct jpeg_compress_struct c;
    struct jpeg_err je;

    je.mem = NULL;
    je.size = 0;
    c.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = jpeg_fail;
    if (setjmp(je.jump)) {
        jpeg_destroy_compress(&c);
        free(je.mem);
        return problem_set(err, 502, PROBLEM_DESKTOP_SCREENSHOT_FAILED, "JPEG encoding failed");
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &je.mem, &je.size);
    c.image_width = (JDIMENSION)im->width;
    c.image_height = (JDIMENSION)im->height;
    c.input_components = 4;
    c.in_color_space = JCS_EXT_BGRX;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality ? quality : DESK_JPEG_DEFAULT_QUALITY, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(im->px + im->stride * c.next_scanline);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *ret = je.mem;
    *ret_len = je.size;
    return 0;
}

static int encode_webp(const struct desk_image *im, int quality, uint8_t **ret, size_t *ret_len,
                       struct problem *err)
{
    WebPConfig cfg;
    WebPPicture pic;
    WebPMemoryWriter wr;
    int ok;

    if (!WebPConfigInit(&cfg) || !WebPPictureInit(&pic))
        return problem_set(err, 502, PROBLEM_DESKTOP_SCREENSHOT_FAILED, "libwebp version mismatch");
    cfg.quality = (float)(quality ? quality : DESK_WEBP_DEFAULT_QUALITY);
    cfg.method = DESK_WEBP_METHOD;
    pic.width = im->width;
    pic.height = im->height;
    WebPMemoryWriterInit(&wr);
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &wr;
    ok = WebPPictureImportBGRX(&pic, im->px, (int)im->stride) && WebPEncode(&cfg, &pic);
    WebPPictureFree(&pic);
    if (!ok) {
        WebPMemoryWriterClear(&wr);
        return problem_set(err, 502, PROBLEM_DESKTOP_SCREENSHOT_FAILED,
                           "WebP encoding failed (error %d)", (int)pic.error_code);
    }
    /* libwebp owns its buffer: hand the caller a plain malloc'd copy. */
    *ret = xmalloc(wr.size ? wr.size : 1);
    memcpy(*ret, wr.mem, wr.size);
    *ret_len = wr.size;
    WebPMemoryWriterClear(&wr);
    return 0;
}

int desk__encode(const struct desk_image *im, enum desk_format fmt, int quality, uint8_t **ret,
                 size_t *ret_len, struct problem *err)
{
    switch (fmt) {
    case DESK_FMT_JPEG:
        return encode_jpeg(im, quality, ret, ret_len, err);
    case DESK_FMT_WEBP:
        return encode_webp(im, quality, ret, ret_len, err);
    default:
        return encode_png(im, ret, ret_len, err);
    }
}

uint64_t desk__image_hash(const struct desk_image *im)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)im->width << 32 | (uint64_t)im->height);
    size_t row = (size_t)im->width * 4;

    for (int y = 0; y < im->height; y++) {
        const uint8_t *p = im->px + im->stride * (size_t)y;
        size_t i = 0;
        for (; i + 8 <= row; i += 8) {
            uint64_t v;
            memcpy(&v, p + i, 8);
            /* Ignore the padding bytes: they are not part of the picture. */
            v &= 0x00ffffff00ffffffull;
            h = (h ^ v) * 0x100000001b3ull;
            h ^= h >> 29;
        }
        for (; i < row; i++)
            if ((i & 3) != 3)
                h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h;
}
