/*
 * producer_ids.c: the broker's producer id allocator (persisted in blocks)
 * and the InitProducerId handler built on it. See producer_state.h.
 */
#include "broker/producer_state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/slog.h"
#include "proto/messages.h"

#define IDS_MODULE "producer_ids"
#define IDS_MAGIC "SPID"
#define IDS_VERSION 1
#define IDS_FILE_BYTES 20
#define IDS_GRANTS 4096
/* Kafka's TransactionMetadata.isEpochExhausted: an epoch this high is not
 * bumped; the producer gets a new id instead. */
#define IDS_EPOCH_EXHAUSTED (INT16_MAX - 1)

/* An id handed out since open and the epoch it is at. */
typedef struct producer_grant {
    int64_t producer_id;
    int16_t epoch;
} producer_grant_t;

struct producer_ids {
    char *path;
    char *name;          /* the file's name in its directory */
    int dir_fd;          /* the directory holding it, fsync'd after a rename */
    int64_t next_id;
    int64_t block_end;   /* on disk: no id below it is handed out after a restart */
    producer_grant_t grants[IDS_GRANTS]; /* a ring, most recent at grant_next - 1 */
    size_t grant_count;
    size_t grant_next;
};

/* Writes block_end to the file durably (temp, fsync, rename, fsync dir). */
static samsa_err_t ids_persist(producer_ids_t *ids, int64_t block_end)
{
    uint8_t data[IDS_FILE_BYTES];
    memcpy(data, IDS_MAGIC, 4);
    be16_store(data + 4, IDS_VERSION);
    be16_store(data + 6, 0);
    be64_store(data + 8, (uint64_t)block_end);
    be32_store(data + 16, crc32c(0, data, 16));
    samsa_err_t err = producer_file_write(ids->dir_fd, ids->name, data, sizeof(data));
    if (err)
        slog_error(IDS_MODULE, "cannot write %s: %s", ids->path, samsa_err_str(err));
    return err;
}

/* Reads the block end from the file; ENOENT leaves *block_end at 0. */
static int ids_load(producer_ids_t *ids, int64_t *block_end, char *errbuf, size_t errlen)
{
    *block_end = 0;
    int fd = open(ids->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(errbuf, errlen, "cannot open %s: %s", ids->path, strerror(errno));
        return -1;
    }
    uint8_t data[IDS_FILE_BYTES + 1];
    ssize_t n = read(fd, data, sizeof(data));
    int e = errno;
    close(fd);
    if (n < 0) {
        snprintf(errbuf, errlen, "cannot read %s: %s", ids->path, strerror(e));
        return -1;
    }
    reader_t r = reader_make(data, (size_t)n);
    const uint8_t *magic = reader_take(&r, 4);
    uint16_t version = reader_u16(&r);
    reader_u16(&r);
    int64_t end = reader_i64(&r);
    uint32_t crc = reader_u32(&r);
    if (!reader_ok(&r) || reader_left(&r) || memcmp(magic, IDS_MAGIC, 4) != 0 ||
        version != IDS_VERSION || crc != crc32c(0, data, 16) || end < 0) {
        snprintf(errbuf, errlen,
                 "%s is corrupt: refusing to start over and hand out producer ids again "
                 "(restore it, or write a larger block end)", ids->path);
        return -1;
    }
    *block_end = end;
    return 0;
}

producer_ids_t *producer_ids_open(const char *path, char *errbuf, size_t errlen)
{
    char scratch[1];
    if (!errbuf) {
        errbuf = scratch;
        errlen = sizeof(scratch);
    }
    producer_ids_t *ids = calloc(1, sizeof(*ids));
    char *dir_copy = strdup(path), *name_copy = strdup(path);
    if (ids)
        ids->dir_fd = -1;
    if (!ids || !dir_copy || !name_copy || !(ids->path = strdup(path)) ||
        !(ids->name = strdup(basename(name_copy)))) {
        snprintf(errbuf, errlen, "out of memory");
        goto fail;
    }
    ids->dir_fd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ids->dir_fd < 0) {
        snprintf(errbuf, errlen, "cannot open the directory of %s: %s", path, strerror(errno));
        goto fail;
    }
    if (ids_load(ids, &ids->block_end, errbuf, errlen) != 0)
        goto fail;
    /* ids of the block in use before the restart may have been handed out */
    ids->next_id = ids->block_end;
    free(dir_copy);
    free(name_copy);
    return ids;
fail:
    free(dir_copy);
    free(name_copy);
    producer_ids_close(ids);
    return NULL;
}

void producer_ids_close(producer_ids_t *ids)
{
    if (!ids)
        return;
    if (ids->dir_fd >= 0)
        close(ids->dir_fd);
    free(ids->path);
    free(ids->name);
    free(ids);
}

int64_t producer_ids_next(producer_ids_t *ids, samsa_err_t *err)
{
    if (ids->next_id >= ids->block_end) {
        int64_t end = ids->next_id + PRODUCER_IDS_BLOCK;
        samsa_err_t e = ids_persist(ids, end);
        if (e) {
            if (err)
                *err = e;
            return -1;
        }
        ids->block_end = end;
    }
    if (err)
        *err = SAMSA_ERR_NONE;
    return ids->next_id++;
}

static producer_grant_t *grant_find(producer_ids_t *ids, int64_t producer_id)
{
    for (size_t i = 0; i < ids->grant_count; i++) {
        size_t at = (ids->grant_next + IDS_GRANTS - 1 - i) % IDS_GRANTS;
        if (ids->grants[at].producer_id == producer_id)
            return &ids->grants[at];
    }
    return NULL;
}

samsa_err_t producer_ids_init(producer_ids_t *ids, int64_t expected_id, int16_t expected_epoch,
                              int64_t *id_out, int16_t *epoch_out)
{
    producer_grant_t *g = expected_id >= 0 ? grant_find(ids, expected_id) : NULL;
    if (g && g->epoch < IDS_EPOCH_EXHAUSTED && expected_epoch == g->epoch) {
        g->epoch++;
        *id_out = g->producer_id;
        *epoch_out = g->epoch;
        return SAMSA_ERR_NONE;
    }
    if (g && expected_epoch >= 0 && expected_epoch + 1 == g->epoch) {
        *id_out = g->producer_id; /* a retry of the bump we answered */
        *epoch_out = g->epoch;
        return SAMSA_ERR_NONE;
    }
    samsa_err_t err;
    int64_t id = producer_ids_next(ids, &err);
    if (id < 0)
        return err;
    g = &ids->grants[ids->grant_next];
    g->producer_id = id;
    g->epoch = 0;
    ids->grant_next = (ids->grant_next + 1) % IDS_GRANTS;
    if (ids->grant_count < IDS_GRANTS)
        ids->grant_count++;
    *id_out = id;
    *epoch_out = 0;
    return SAMSA_ERR_NONE;
}

void producer_ids_handle_init(producer_ids_t *ids, broker_request_t *req)
{
    const init_producer_id_request_t *body = req->body;
    init_producer_id_response_t fallback;
    init_producer_id_response_t *resp = broker_response_new(req);
    if (!resp) {
        /* the respond function encodes before it releases the arena, so a
         * response on the stack is as good */
        memset(&fallback, 0, sizeof(fallback));
        fallback.error_code = SAMSA_ERR_UNKNOWN_SERVER_ERROR;
        fallback.producer_id = -1;
        fallback.producer_epoch = -1;
        broker_request_respond(req, &fallback);
        return;
    }
    resp->throttle_time_ms = 0;
    resp->producer_id = -1;
    resp->producer_epoch = -1;
    if (body->transactional_id.len == 0) {
        resp->error_code = SAMSA_ERR_INVALID_REQUEST;
    } else if (body->transactional_id.len > 0) {
        slog_warn(IDS_MODULE,
                  "%s: InitProducerId for transactional id \"%.*s\" refused: samsa does not "
                  "support transactions", req->client_addr ? req->client_addr : "client",
                  (int)(body->transactional_id.len > 200 ? 200 : body->transactional_id.len),
                  body->transactional_id.ptr);
        resp->error_code = SAMSA_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    } else {
        bool has_expected = req->api_version >= 3 && body->producer_id >= 0;
        int64_t id;
        int16_t epoch;
        samsa_err_t err = producer_ids_init(ids, has_expected ? body->producer_id : -1,
                                            has_expected ? body->producer_epoch : -1, &id, &epoch);
        if (err) {
            resp->error_code = SAMSA_ERR_KAFKA_STORAGE_ERROR;
        } else {
            resp->error_code = SAMSA_ERR_NONE;
            resp->producer_id = id;
            resp->producer_epoch = epoch;
        }
    }
    broker_request_respond(req, resp);
}
