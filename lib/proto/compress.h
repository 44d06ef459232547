/*
 * compress.h: the record-batch compression codecs (gzip, snappy, lz4, zstd)
 * in both directions, with a hard cap on decompressed output.
 *
 * What is written, chosen for the widest interoperability:
 *   gzip    one gzip member (zlib, windowBits 16+15);
 *   snappy  the xerial framing the Java client writes (header, then blocks
 *           of at most 32 KiB, each a big-endian length and raw snappy
 *           data), which every Java consumer since 0.8 and librdkafka read;
 *   lz4     one LZ4 frame, independent 64 KiB blocks, no content size and
 *           no checksums beyond the header's (what Kafka's own LZ4 reader
 *           accepts);
 *   zstd    one zstd frame with the content size in its header.
 * What is read: gzip with concatenated members; snappy both raw and
 * xerial-framed; lz4 frames and zstd frames (several in a row, content size
 * present or not), all decoded as streams so a missing size is no problem.
 *
 * A decompression never writes more than the caller's max_out_bytes, and
 * never allocates more than that for output: data that would expand past it
 * is an error, not a growing allocation. The zstd decoder's window is
 * limited the same way (see compress_decode).
 */
#ifndef SAMSA_PROTO_COMPRESS_H
#define SAMSA_PROTO_COMPRESS_H

#include <stddef.h>

#include "base/buf.h"
#include "samsa.h"

/* The codecs, numbered as in the record batch attributes' low three bits. */
typedef enum compress_codec {
    COMPRESS_NONE = 0,
    COMPRESS_GZIP = 1,
    COMPRESS_SNAPPY = 2,
    COMPRESS_LZ4 = 3,
    COMPRESS_ZSTD = 4,
} compress_codec_t;

/* Pass as level for each codec's own default (gzip 6, lz4 fast, zstd 3). */
#define COMPRESS_LEVEL_DEFAULT (-1000)

/* The codec's name as Kafka's compression.type spells it ("none", "gzip",
 * "snappy", "lz4", "zstd"), or "unknown". Static string; any thread. */
const char *compress_codec_name(int codec);

/* The codec for a compression.type value (case-sensitive, as Kafka's), or
 * -1 when the name is not one of the five. Any thread. */
int compress_codec_from_name(const char *name);

/* Compresses in_len bytes at in with codec and appends the result to out.
 * level is codec-specific (gzip 0..9; lz4 below 3 is the fast mode, negative
 * values faster still, 3..12 high compression; zstd ZSTD_minCLevel()..22;
 * snappy has none) or COMPRESS_LEVEL_DEFAULT. COMPRESS_NONE
 * appends in as it is.
 * Returns SAMSA_ERR_NONE; SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE for an
 * unknown codec; SAMSA_ERR__NOMEM; SAMSA_ERR__MSG_TOO_LARGE when out's own
 * max_bytes leaves no room; SAMSA_ERR__COMPRESSION when the library fails.
 * On error out->len is what it was before the call (out may be marked
 * failed when its growth failed). Any thread (no shared state). */
samsa_err_t compress_encode(int codec, int level, const void *in, size_t in_len, buf_t *out);

/* Decompresses in_len bytes at in, compressed with codec, and appends the
 * result to out, writing at most max_out_bytes bytes.
 * Returns SAMSA_ERR_NONE; SAMSA_ERR__MSG_TOO_LARGE when the data expands
 * past max_out_bytes (or past out's own max_bytes), or when a zstd frame
 * asks for a window larger than max(max_out_bytes, 16 MiB); SAMSA_ERR__COMPRESSION
 * for corrupt, truncated or trailing data; SAMSA_ERR__NOMEM;
 * SAMSA_ERR_UNSUPPORTED_COMPRESSION_TYPE for an unknown codec.
 * On error out->len is what it was before the call. Any thread. */
samsa_err_t compress_decode(int codec, const void *in, size_t in_len, buf_t *out,
                            size_t max_out_bytes);

#endif /* SAMSA_PROTO_COMPRESS_H */
