/*
 * compress.c: gzip, snappy (raw and xerial-framed), lz4 frames and zstd
 * frames for record batches, with capped decompression.
 *
 * The three streaming decoders (gzip, lz4, zstd) share one driver: it hands
 * a decoder step the free room of the output buffer, never more than what
 * is left under the cap, and when the cap is reached before the stream ends
 * it offers a one-byte probe: a byte there means the data is too large.
 * Snappy states its decompressed size up front, so it is checked against
 * the cap before anything is allocated.
 */
#include "proto/compress.h"

#include <lz4frame.h>
#include <lz4hc.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "proto/snappy.h"

/* First output chunk of a streaming decode, and the largest one asked for
 * at once (the buffer itself still grows by doubling). */
#define DECODE_CHUNK_MIN 4096
#define DECODE_CHUNK_MAX (4u << 20)

/* xerial snappy framing, as written by the Java client. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_BYTES 16 /* magic, version, compatible version */
#define XERIAL_VERSION 1
#define XERIAL_COMPAT_VERSION 1
#define XERIAL_BLOCK_BYTES (32 * 1024)

/* zstd frames may not ask for a window larger than max(cap, this). */
#define ZSTD_WINDOW_LOG_FLOOR 24
/* ... and never more than zstd's own default limit (128 MiB). */
#define ZSTD_WINDOW_LOG_CEILING 27

static const char *const codec_names[] = {"none", "gzip", "snappy", "lz4", "zstd"};

const char *compress_codec_name(int codec)
{
    if (codec < 0 || codec > COMPRESS_ZSTD)
        return "unknown";
    return codec_names[codec];
}

int compress_codec_from_name(const char *name)
{
    for (int i = 0; i <= COMPRESS_ZSTD; i++)
        if (name && !strcmp(name, codec_names[i]))
            return i;
    return -1;
}

/* Makes room for n more bytes in out. Returns the error for a failure:
 * out's own cap (too large) or memory. */
static samsa_err_t out_reserve(buf_t *out, size_t n)
{
    if (out->failed)
        return SAMSA_ERR__NOMEM;
    bool over_cap = n > out->max_bytes - out->len;
    if (!buf_grow(out, n))
        return over_cap ? SAMSA_ERR__MSG_TOO_LARGE : SAMSA_ERR__NOMEM;
    return SAMSA_ERR_NONE;
}

/* ---- compression ------------------------------------------------------ */

static samsa_err_t gzip_encode(int level, const uint8_t *in, size_t in_len, buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (level == COMPRESS_LEVEL_DEFAULT)
        level = Z_DEFAULT_COMPRESSION;
    if (level != Z_DEFAULT_COMPRESSION && (level < 0 || level > 9))
        return SAMSA_ERR__INVALID_ARG;
    int zr = deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    if (zr != Z_OK)
        return zr == Z_MEM_ERROR ? SAMSA_ERR__NOMEM : SAMSA_ERR__COMPRESSION;
    samsa_err_t err = SAMSA_ERR_NONE;
    /* deflateBound works on uLong; feed huge inputs in pieces. */
    size_t left = in_len;
    zs.next_in = (Bytef *)(uintptr_t)in;
    do {
        uInt piece = left > (1u << 30) ? (1u << 30) : (uInt)left;
        zs.avail_in = piece;
        left -= piece;
        int flush = left ? Z_NO_FLUSH : Z_FINISH;
        size_t room = deflateBound(&zs, piece) + 64;
        do {
            if ((err = out_reserve(out, room)))
                goto done;
            zs.next_out = out->data + out->len;
            zs.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
            uInt before = zs.avail_out;
            zr = deflate(&zs, flush);
            out->len += before - zs.avail_out;
            if (zr == Z_STREAM_ERROR) {
                err = SAMSA_ERR__COMPRESSION;
                goto done;
            }
        } while (zs.avail_in || (flush == Z_FINISH && zr != Z_STREAM_END));
    } while (left);
done:
    deflateEnd(&zs);
    return err;
}

static samsa_err_t snappy_encode(const uint8_t *in, size_t in_len, buf_t *out)
{
    size_t blocks = (in_len + XERIAL_BLOCK_BYTES - 1) / XERIAL_BLOCK_BYTES;
    size_t bound = XERIAL_HEADER_BYTES + blocks * (4 + snappy_block_bound(XERIAL_BLOCK_BYTES));
    samsa_err_t err = out_reserve(out, bound);
    if (err)
        return err;
    buf_put(out, xerial_magic, sizeof(xerial_magic));
    buf_put_i32(out, XERIAL_VERSION);
    buf_put_i32(out, XERIAL_COMPAT_VERSION);
    for (size_t off = 0; off < in_len; off += XERIAL_BLOCK_BYTES) {
        size_t n = in_len - off < XERIAL_BLOCK_BYTES ? in_len - off : XERIAL_BLOCK_BYTES;
        uint8_t *len_at = out->data + out->len;
        out->len += 4;
        size_t clen = snappy_block_compress(in + off, n, out->data + out->len);
        be32_store(len_at, (uint32_t)clen);
        out->len += clen;
    }
    return SAMSA_ERR_NONE;
}

static samsa_err_t lz4_encode(int level, const uint8_t *in, size_t in_len, buf_t *out)
{
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.compressionLevel = level == COMPRESS_LEVEL_DEFAULT ? 0 : level;
    if (prefs.compressionLevel > LZ4HC_CLEVEL_MAX)
        return SAMSA_ERR__INVALID_ARG;
    size_t bound = LZ4F_compressFrameBound(in_len, &prefs);
    samsa_err_t err = out_reserve(out, bound);
    if (err)
        return err;
    size_t n = LZ4F_compressFrame(out->data + out->len, bound, in, in_len, &prefs);
    if (LZ4F_isError(n))
        return SAMSA_ERR__COMPRESSION;
    out->len += n;
    return SAMSA_ERR_NONE;
}

static samsa_err_t zstd_encode(int level, const uint8_t *in, size_t in_len, buf_t *out)
{
    if (level == COMPRESS_LEVEL_DEFAULT)
        level = ZSTD_CLEVEL_DEFAULT;
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return SAMSA_ERR__INVALID_ARG;
    size_t bound = ZSTD_compressBound(in_len);
    samsa_err_t err = out_reserve(out, bound);
    if (err)
        return err;
    size_t n = ZSTD_compress(out->data + out->len, bound, in, in_len, level);
    if (ZSTD_isError(n))
        return ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation ? SAMSA_ERR__NOMEM
                                                                     : SAMSA_ERR__COMPRESSION;
    out->len += n;
    return SAMSA_ERR_NONE;
}

static samsa_err_t none_encode(int level, const uint8_t *in, size_t in_len, buf_t *out)
{
    samsa_err_t err = in_len ? out_reserve(out, in_len) : SAMSA_ERR_NONE;
    if (!err && in_len)
        buf_put(out, in, in_len);
    return err;
}

static samsa_err_t snappy_encode_any_level(int level, const uint8_t *in, size_t in_len,
                                           buf_t *out)
{
    return snappy_encode(in, in_len, out);
}

/* ---- streaming decompression ------------------------------------------ */

/* One decoder step: decode into dst (room > 0 bytes) and set *produced;
 * set *done once every input byte is consumed and the last stream or frame
 * has ended. Returns SAMSA_ERR__COMPRESSION for corrupt or truncated data. */
typedef samsa_err_t (*decode_step_fn)(void *ctx, uint8_t *dst, size_t room, size_t *produced,
                                      bool *done);

static samsa_err_t decode_drive(decode_step_fn step, void *ctx, size_t in_len, buf_t *out,
                                size_t max_out_bytes)
{
    size_t start = out->len;
    size_t chunk = in_len > DECODE_CHUNK_MAX / 4   ? DECODE_CHUNK_MAX
                   : in_len < DECODE_CHUNK_MIN / 4 ? DECODE_CHUNK_MIN
                                                   : in_len * 4;
    bool done = false;
    samsa_err_t err = SAMSA_ERR_NONE;
    while (!done) {
        size_t written = out->len - start;
        size_t produced = 0;
        if (written == max_out_bytes) {
            uint8_t probe;
            if ((err = step(ctx, &probe, 1, &produced, &done)))
                break;
            if (produced) {
                err = SAMSA_ERR__MSG_TOO_LARGE;
                break;
            }
            continue;
        }
        if (chunk > DECODE_CHUNK_MAX)
            chunk = DECODE_CHUNK_MAX;
        size_t room = chunk < max_out_bytes - written ? chunk : max_out_bytes - written;
        if ((err = out_reserve(out, room)))
            break;
        room = out->cap - out->len < max_out_bytes - written ? out->cap - out->len
                                                              : max_out_bytes - written;
        if ((err = step(ctx, out->data + out->len, room, &produced, &done)))
            break;
        out->len += produced;
        chunk *= 2;
    }
    if (err)
        out->len = start;
    return err;
}

typedef struct gzip_ctx {
    z_stream zs;
    size_t in_left; /* input not yet handed to zlib (it takes uInt at a time) */
} gzip_ctx_t;

static samsa_err_t gzip_step(void *ctx, uint8_t *dst, size_t room, size_t *produced, bool *done)
{
    gzip_ctx_t *g = ctx;
    z_stream *zs = &g->zs;
    if (zs->avail_in == 0 && g->in_left) {
        zs->avail_in = g->in_left > (1u << 30) ? (1u << 30) : (uInt)g->in_left;
        g->in_left -= zs->avail_in;
    }
    zs->next_out = dst;
    zs->avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
    uInt before = zs->avail_out;
    int zr = inflate(zs, Z_NO_FLUSH);
    *produced = before - zs->avail_out;
    if (zr == Z_STREAM_END) {
        if (zs->avail_in == 0 && g->in_left == 0) {
            *done = true;
            return SAMSA_ERR_NONE;
        }
        /* Another member follows; anything else is trailing garbage. */
        if (zs->avail_in < 2 || zs->next_in[0] != 0x1f || zs->next_in[1] != 0x8b)
            return SAMSA_ERR__COMPRESSION;
        return inflateReset(zs) == Z_OK ? SAMSA_ERR_NONE : SAMSA_ERR__COMPRESSION;
    }
    if (zr == Z_OK)
        return SAMSA_ERR_NONE;
    /* Z_BUF_ERROR with room to write means the input ended mid-stream. */
    if (zr == Z_MEM_ERROR)
        return SAMSA_ERR__NOMEM;
    return SAMSA_ERR__COMPRESSION;
}

static samsa_err_t gzip_decode(const uint8_t *in, size_t in_len, buf_t *out, size_t max_out)
{
    gzip_ctx_t g;
    memset(&g, 0, sizeof(g));
    if (inflateInit2(&g.zs, 16 + MAX_WBITS) != Z_OK)
        return SAMSA_ERR__NOMEM;
    g.zs.next_in = (Bytef *)(uintptr_t)in;
    g.in_left = in_len;
    samsa_err_t err = decode_drive(gzip_step, &g, in_len, out, max_out);
    inflateEnd(&g.zs);
    return err;
}

typedef struct lz4_ctx {
    LZ4F_dctx *dctx;
    const uint8_t *in;
    size_t in_left;
} lz4_ctx_t;

static samsa_err_t lz4_step(void *ctx, uint8_t *dst, size_t room, size_t *produced, bool *done)
{
    lz4_ctx_t *l = ctx;
    size_t dst_len = room, src_len = l->in_left;
    size_t r = LZ4F_decompress(l->dctx, dst, &dst_len, l->in, &src_len, NULL);
    if (LZ4F_isError(r))
        return SAMSA_ERR__COMPRESSION;
    l->in += src_len;
    l->in_left -= src_len;
    *produced = dst_len;
    if (src_len == 0 && dst_len == 0)
        return SAMSA_ERR__COMPRESSION; /* no progress possible */
    if (l->in_left == 0) {
        if (r == 0) {
            *done = true;
            return SAMSA_ERR_NONE;
        }
        /* Input gone, frame unfinished, and the output was not the limit. */
        if (dst_len < room)
            return SAMSA_ERR__COMPRESSION;
    }
    return SAMSA_ERR_NONE;
}

static samsa_err_t lz4_decode(const uint8_t *in, size_t in_len, buf_t *out, size_t max_out)
{
    lz4_ctx_t l = {NULL, in, in_len};
    if (LZ4F_isError(LZ4F_createDecompressionContext(&l.dctx, LZ4F_VERSION)))
        return SAMSA_ERR__NOMEM;
    samsa_err_t err = in_len ? decode_drive(lz4_step, &l, in_len, out, max_out)
                             : SAMSA_ERR__COMPRESSION;
    LZ4F_freeDecompressionContext(l.dctx);
    return err;
}

typedef struct zstd_ctx {
    ZSTD_DCtx *dctx;
    ZSTD_inBuffer in;
} zstd_ctx_t;

static samsa_err_t zstd_step(void *ctx, uint8_t *dst, size_t room, size_t *produced, bool *done)
{
    zstd_ctx_t *z = ctx;
    ZSTD_outBuffer o = {dst, room, 0};
    size_t in_before = z->in.pos;
    size_t r = ZSTD_decompressStream(z->dctx, &o, &z->in);
    *produced = o.pos;
    if (ZSTD_isError(r)) {
        switch (ZSTD_getErrorCode(r)) {
        case ZSTD_error_memory_allocation:
            return SAMSA_ERR__NOMEM;
        case ZSTD_error_frameParameter_windowTooLarge:
            return SAMSA_ERR__MSG_TOO_LARGE;
        default:
            return SAMSA_ERR__COMPRESSION;
        }
    }
    if (z->in.pos == z->in.size) {
        if (r == 0) {
            *done = true;
            return SAMSA_ERR_NONE;
        }
        /* All input read and the output not filled: the decoder has given
         * all it can, yet the frame is unfinished. */
        if (o.pos < room)
            return SAMSA_ERR__COMPRESSION;
    }
    if (o.pos == 0 && z->in.pos == in_before)
        return SAMSA_ERR__COMPRESSION; /* no progress possible */
    return SAMSA_ERR_NONE;
}

/* log2 of the largest window a frame may ask for under a cap of max_out. */
static int zstd_window_log_max(size_t max_out)
{
    int log = ZSTD_WINDOW_LOG_FLOOR;
    while (log < ZSTD_WINDOW_LOG_CEILING && ((size_t)1 << log) < max_out)
        log++;
    return log;
}

static samsa_err_t zstd_decode(const uint8_t *in, size_t in_len, buf_t *out, size_t max_out)
{
    zstd_ctx_t z = {ZSTD_createDCtx(), {in, in_len, 0}};
    if (!z.dctx)
        return SAMSA_ERR__NOMEM;
    samsa_err_t err = SAMSA_ERR__COMPRESSION;
    size_t r = ZSTD_DCtx_setParameter(z.dctx, ZSTD_d_windowLogMax, zstd_window_log_max(max_out));
    if (!ZSTD_isError(r) && in_len)
        err = decode_drive(zstd_step, &z, in_len, out, max_out);
    ZSTD_freeDCtx(z.dctx);
    return err;
}

/* ---- snappy ----------------------------------------------------------- */

/* One raw snappy block, checked against the cap before allocating. */
static samsa_err_t snappy_raw_decode(const uint8_t *in, size_t in_len, buf_t *out,
                                     size_t max_out)
{
    size_t n;
    if (!snappy_block_length(in, in_len, &n))
        return SAMSA_ERR__COMPRESSION;
    if (n > max_out) /* corrupt data is reported as such, not as too large */
        return snappy_block_decompress(in, in_len, NULL, n) ? SAMSA_ERR__MSG_TOO_LARGE
                                                             : SAMSA_ERR__COMPRESSION;
    samsa_err_t err = n ? out_reserve(out, n) : SAMSA_ERR_NONE;
    if (err)
        return err;
    if (!snappy_block_decompress(in, in_len, n ? out->data + out->len : NULL, n))
        return SAMSA_ERR__COMPRESSION;
    out->len += n;
    return SAMSA_ERR_NONE;
}

static samsa_err_t snappy_decode(const uint8_t *in, size_t in_len, buf_t *out, size_t max_out)
{
    if (in_len < sizeof(xerial_magic) || memcmp(in, xerial_magic, sizeof(xerial_magic)))
        return snappy_raw_decode(in, in_len, out, max_out);
    reader_t r = reader_make(in + sizeof(xerial_magic), in_len - sizeof(xerial_magic));
    reader_i32(&r); /* version: any */
    reader_i32(&r); /* compatible version: any */
    if (!reader_ok(&r))
        return SAMSA_ERR__COMPRESSION;
    size_t start = out->len;
    samsa_err_t err = SAMSA_ERR_NONE;
    while (reader_left(&r)) {
        int32_t n = reader_i32(&r);
        const uint8_t *block = n > 0 ? reader_take(&r, (size_t)n) : NULL;
        if (!block) {
            err = SAMSA_ERR__COMPRESSION;
            break;
        }
        if ((err = snappy_raw_decode(block, (size_t)n, out, max_out - (out->len - start))))
            break;
    }
    if (err)
        out->len = start;
    return err;
}

static samsa_err_t none_decode(const uint8_t *in, size_t in_len, buf_t *out, size_t max_out)
{
    return in_len > max_out ? SAMSA_ERR__MSG_TOO_LARGE : none_encode(0, in, in_len, out);
}

/* The codecs by attribute number. */
static const struct codec_ops {
    samsa_err_t (*encode)(int level, const uint8_t *in, size_t in_len, buf_t *out);
    samsa_err_t (*decode)(const uint8_t *in, size_t in_len, buf_t *out, size_t max_out);
} codec_ops[] = {
    [COMPRESS_NONE] = {none_encode, none_decode},
    [COMPRESS_GZIP] = {gzip_encode, gzip_decode},
    [COMPRESS_SNAPPY] = {snappy_encode_any_level, snappy_decode},
    [COMPRESS_LZ4] = {lz4_encode, lz4_decode},
    [COMPRESS_ZSTD] = {zstd_encode, zstd_decode},
};

samsa_err_t compress_encode(int codec, int level, const void *in, size_t in_len, buf_t *out)
{
    if (codec < COMPRESS_NONE || codec > COMPRESS_ZSTD)
        return SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    size_t start = out->len;
    samsa_err_t err = codec_ops[codec].encode(level, in, in_len, out);
    if (err)
        out->len = start;
    return err;
}

samsa_err_t compress_decode(int codec, const void *in, size_t in_len, buf_t *out,
                            size_t max_out_bytes)
{
    if (codec < COMPRESS_NONE || codec > COMPRESS_ZSTD)
        return SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    size_t start = out->len;
    samsa_err_t err = codec_ops[codec].decode(in, in_len, out, max_out_bytes);
    if (err)
        out->len = start;
    return err;
}
