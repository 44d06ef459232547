/*
 * store.c: keeps every page view record in a SQLite database.
 *
 *   store BOOTSTRAP DATABASE [GROUP]
 *
 * A member of consumer group GROUP (default "pageviews-store") on topic
 * "pageviews" that writes each record it reads into table `records` of
 * DATABASE (created when missing), with view `pageviews` giving the JSON
 * fields of the page views as columns.
 *
 * Exactly one row per record, whatever happens: records are inserted in
 * batches of one SQLite transaction each, and the group's offsets are
 * committed only after that transaction has committed. A crash between the
 * two makes the next run read the batch again; the UNIQUE key on (topic,
 * partition, offset) with INSERT OR IGNORE turns the repeated inserts into
 * nothing. The same holds for a new GROUP, which reads the topic from the
 * beginning into the same database.
 *
 * After each batch it prints "stored RECORDS records, NEW new" on stdout
 * (NEW is below RECORDS when records were stored before). SIGINT or SIGTERM
 * stops it after the batch in hand, exit 0.
 */
#include <samsa.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>

#define BATCH_MAX 500

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS records ("
    " topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " timestamp_ms INTEGER NOT NULL, key TEXT, value TEXT,"
    " UNIQUE (topic, partition, offset));"
    "CREATE VIEW IF NOT EXISTS pageviews AS SELECT"
    " key AS user, value ->> '$.page' AS page, value ->> '$.visit_ms' AS visit_ms,"
    " value ->> '$.left_ms' AS left_ms, value ->> '$.spent_ms' AS spent_ms"
    " FROM records WHERE topic = 'pageviews' AND json_valid(value);";

static volatile sig_atomic_t stop;

static void on_signal(int sig) { stop = 1; }

/* Inserts message m (or nothing for an error) with the prepared insert. */
static int insert(sqlite3_stmt *ins, const samsa_message_t *m)
{
    if (m->err) { /* the consumer carries on by itself */
        fprintf(stderr, "%% %s\n", m->errstr);
        return SQLITE_OK;
    }
    sqlite3_bind_text(ins, 1, m->topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 2, m->partition);
    sqlite3_bind_int64(ins, 3, m->offset);
    sqlite3_bind_int64(ins, 4, m->timestamp_ms);
    if (m->key)
        sqlite3_bind_text(ins, 5, m->key, (int)m->key_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(ins, 5);
    if (m->value)
        sqlite3_bind_text(ins, 6, m->value, (int)m->value_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(ins, 6);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Stores one batch: first and the messages poll has ready after it, in one
 * transaction; *records counts them. Returns SQLITE_OK once it committed. */
static int store_batch(sqlite3 *db, sqlite3_stmt *ins, samsa_consumer_t *c,
                       samsa_message_t *first, int *records)
{
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    samsa_message_t *m = first;
    for (*records = 0; rc == SQLITE_OK && m && *records < BATCH_MAX; ++*records) {
        rc = insert(ins, m);
        samsa_message_free(m);
        m = *records + 1 < BATCH_MAX ? samsa_consumer_poll(c, 0) : NULL;
    }
    samsa_message_free(m); /* only when an insert failed: it was not stored */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "%% sqlite: %s\n", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s BOOTSTRAP DATABASE [GROUP]\n", argv[0]);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_open(argv[2], &db) != SQLITE_OK || sqlite3_busy_timeout(db, 10000) ||
        sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?)", -1, &ins,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "%% %s: %s\n", argv[2], db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 1;
    }
    /* A member that crashed keeps its partitions until its session times
     * out; a short session lets a restarted store take over quickly. */
    const char *keys[] = {"bootstrap.servers", "group.id", "auto.offset.reset",
                          "enable.auto.commit", "session.timeout.ms", "heartbeat.interval.ms"};
    const char *values[] = {argv[1], argc == 4 ? argv[3] : "pageviews-store", "earliest",
                            "false", "6000", "1000"};
    const char *topic = "pageviews";
    char err[512];
    int status = 1;
    samsa_err_t e = SAMSA_ERR_NONE;
    samsa_consumer_t *c = samsa_consumer_new_kv(keys, values, 6, NULL, err, sizeof(err));
    if (!c || (e = samsa_consumer_subscribe(c, &topic, 1))) {
        fprintf(stderr, "%% %s\n", e ? samsa_err_str(e) : err);
        goto done;
    }
    while (!stop) {
        samsa_message_t *m = samsa_consumer_poll(c, 100);
        if (!m)
            continue;
        int records, before = sqlite3_total_changes(db);
        if (store_batch(db, ins, c, m, &records) != SQLITE_OK)
            goto done;
        printf("stored %d records, %d new\n", records, sqlite3_total_changes(db) - before);
        fflush(stdout);
        /* the positions: just past every message the batch stored */
        e = samsa_consumer_commit(c, NULL, 0);
        if (e && e != SAMSA_ERR__STATE) /* the batch will be read again: harmless */
            fprintf(stderr, "%% commit: %s\n", samsa_err_str(e));
    }
    status = 0;
done:
    samsa_consumer_free(c);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return status;
}
