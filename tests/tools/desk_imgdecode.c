/*
 * desk_imgdecode: decodes a PNG, JPEG or WebP image read from stdin into a
 * binary PPM (P6, RGB) on stdout, so the desktop tests can check real
 * pixels of what agentd sent.  The format is sniffed from the magic bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>

static unsigned char *slurp(size_t *ret_len)
{
    size_t cap = 1 << 20, n = 0, k;
    unsigned char *b = malloc(cap);

    while (b && (k = fread(b + n, 1, cap - n, stdin)) > 0) {
        n += k;
        if (n == cap) {
            unsigned char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
        }
    }
    *ret_len = n;
    return b;
}

static int emit(const unsigned char *rgb, unsigned w, unsigned h)
{
    printf("P6\n%u %u\n255\n", w, h);
    return fwrite(rgb, 3, (size_t)w * h, stdout) == (size_t)w * h ? 0 : 1;
}

/* Emits and frees a malloc'd picture. */
static int emit_free(unsigned char *rgb, unsigned w, unsigned h)
{
    int r = emit(rgb, w, h);

    free(rgb);
    return r;
}

static int png(const unsigned char *b, size_t n)
{
    png_image pi;
    unsigned char *rgb;

    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, b, n))
        return fprintf(stderr, "png: %s\n", pi.message), 1;
    pi.format = PNG_FORMAT_RGB;
    rgb = malloc(PNG_IMAGE_SIZE(pi));
    if (!rgb || !png_image_finish_read(&pi, NULL, rgb, 0, NULL))
        return fprintf(stderr, "png: %s\n", pi.message), 1;
    return emit_free(rgb, pi.width, pi.height);
}

static int jpeg(const unsigned char *b, size_t n)
{
    struct jpeg_decompress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *rgb;

    c.err = jpeg_std_error(&e);
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, b, (unsigned long)n);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    jpeg_start_decompress(&c);
    rgb = malloc((size_t)c.output_width * c.output_height * 3);
    while (c.output_scanline < c.output_height) {
        JSAMPROW row = rgb + (size_t)c.output_scanline * c.output_width * 3;
        jpeg_read_scanlines(&c, &row, 1);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    return emit_free(rgb, c.output_width, c.output_height);
}

static int webp(const unsigned char *b, size_t n)
{
    int w, h, r;
    unsigned char *rgb = WebPDecodeRGB(b, n, &w, &h);

    if (!rgb)
        return fprintf(stderr, "webp: cannot decode\n"), 1;
    r = emit(rgb, (unsigned)w, (unsigned)h);
    WebPFree(rgb);
    return r;
}

int main(void)
{
    size_t n = 0;
    unsigned char *b = slurp(&n);
    int r;

    if (!b || n < 12) {
        free(b);
        return fprintf(stderr, "no image on stdin\n"), 1;
    }
    if (memcmp(b, "\x89PNG", 4) == 0)
        r = png(b, n);
    else if (b[0] == 0xff && b[1] == 0xd8)
        r = jpeg(b, n);
    else if (memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        r = webp(b, n);
    else
        r = fprintf(stderr, "unknown image format\n") > 0;
    free(b);
    return r;
}
