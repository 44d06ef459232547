/*
 * web.c: the website of the page view demo, recording every page view
 * into Kafka topic "pageviews".
 *
 *   web BOOTSTRAP [PORT]
 *
 * Serves HTTP/1.1 on 127.0.0.1:PORT (default 0: a free port) and prints
 * "http://127.0.0.1:PORT/" on stdout once it listens. Pages: /, /products
 * and /about. A visitor is named by the query parameter user= or the cookie
 * user=; one without either gets a new name in a cookie. Names are 1 to 32
 * letters, digits and "-_./".
 *
 * A view starts when a page is served and ends when the same visitor asks
 * for another page or for /leave?page=PAGE (GET or POST; each page sends
 * it from the browser with navigator.sendBeacon when it is left). Then one
 * record goes to "pageviews", keyed by the visitor:
 *
 *   {"user":"alice","page":"/products","visit_ms":T0,"left_ms":T1,"spent_ms":T1-T0}
 *
 * (times in ms since the epoch). Views still open when the server stops,
 * or pushed out of its table of MAX_OPEN views, are recorded with left_ms
 * and spent_ms null. SIGINT or SIGTERM stops the server: it records the
 * open views, waits until every record is acknowledged and exits 0 (1 when
 * some record was not).
 *
 * One request per connection, served one at a time: a demo, not a server
 * for the open internet.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <samsa.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_OPEN 1024
#define USER_MAX 32

static const char *const pages[][2] = {
    {"/", "Welcome"},
    {"/products", "Products"},
    {"/about", "About us"},
};
#define N_PAGES (sizeof(pages) / sizeof(pages[0]))

typedef struct view {
    char user[USER_MAX + 1]; /* "" : a free slot */
    int page;                /* index in pages */
    int64_t visit_ms;
} view_t;

static view_t open_views[MAX_OPEN];
static samsa_producer_t *producer;
static volatile sig_atomic_t stop;
static int failed;

static void on_signal(int sig) { stop = 1; }

static void on_delivery(samsa_producer_t *p, const samsa_delivery_report_t *r, void *opaque)
{
    if (r->err) {
        fprintf(stderr, "%% page view not recorded: %s\n", r->errstr);
        failed = 1;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records view v as left at left_ms (-1: unknown) and frees its slot. */
static void record_view(view_t *v, int64_t left_ms)
{
    char json[256], left[64] = "null,\"spent_ms\":null";
    if (left_ms >= 0)
        snprintf(left, sizeof(left), "%lld,\"spent_ms\":%lld", (long long)left_ms,
                 (long long)(left_ms - v->visit_ms));
    int len = snprintf(json, sizeof(json),
                       "{\"user\":\"%s\",\"page\":\"%s\",\"visit_ms\":%lld,\"left_ms\":%s}",
                       v->user, pages[v->page][0], (long long)v->visit_ms, left);
    samsa_err_t e;
    while ((e = samsa_producer_send(producer, "pageviews", -1, v->user, strlen(v->user), json,
                                    (size_t)len, NULL, 0, 0, 0, NULL)) == SAMSA_ERR__QUEUE_FULL)
        samsa_producer_poll(producer, 100);
    if (e) {
        fprintf(stderr, "%% page view not recorded: %s\n", samsa_err_str(e));
        failed = 1;
    }
    v->user[0] = '\0';
}

static view_t *find_view(const char *user)
{
    for (int i = 0; i < MAX_OPEN; i++)
        if (strcmp(open_views[i].user, user) == 0)
            return &open_views[i];
    return NULL;
}

/* Ends the user's open view (if any) and starts one on page. */
static void visit(const char *user, int page)
{
    int64_t t = now_ms();
    view_t *v = find_view(user);
    if (v) {
        record_view(v, t);
    } else if (!(v = find_view(""))) { /* the table is full: push the oldest view out */
        v = &open_views[0];
        for (int i = 1; i < MAX_OPEN; i++)
            if (open_views[i].visit_ms < v->visit_ms)
                v = &open_views[i];
        record_view(v, -1);
    }
    snprintf(v->user, sizeof(v->user), "%s", user);
    v->page = page;
    v->visit_ms = t;
}

/* Copies the value of name in a "a=1&b=2" or "a=1; b=2" list into out
 * when it is a valid user name or page (letters, digits, "-_/."); "" if not. */
static void param(const char *list, size_t list_len, const char *name, const char *seps,
                  char *out, size_t out_size)
{
    size_t name_len = strlen(name);
    out[0] = '\0';
    for (const char *p = list, *end = list + list_len; p < end;) {
        while (p < end && *p == ' ')
            p++;
        size_t len = strcspn(p, seps);
        if (p + len > end)
            len = (size_t)(end - p);
        if (len > name_len && p[name_len] == '=' && strncmp(p, name, name_len) == 0) {
            size_t vlen = len - name_len - 1;
            const char *value = p + name_len + 1;
            if (vlen == 0 || vlen >= out_size ||
                strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/.") <
                    vlen)
                return;
            memcpy(out, value, vlen);
            out[vlen] = '\0';
        }
        p += len + 1;
    }
}

static int page_index(const char *path)
{
    for (size_t i = 0; i < N_PAGES; i++)
        if (strcmp(pages[i][0], path) == 0)
            return (int)i;
    return -1;
}

/* Sends a response; body NULL: none (204). */
static void respond(int fd, const char *status, const char *user_cookie, const char *body)
{
    char head[512];
    int len = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nConnection: close\r\n", status);
    if (body)
        len += snprintf(head + len, sizeof(head) - (size_t)len,
                        "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n",
                        strlen(body));
    if (user_cookie[0])
        len += snprintf(head + len, sizeof(head) - (size_t)len,
                        "Set-Cookie: user=%s; Path=/; SameSite=Lax\r\n", user_cookie);
    len += snprintf(head + len, sizeof(head) - (size_t)len, "\r\n");
    if (write(fd, head, (size_t)len) != len || (body && write(fd, body, strlen(body)) < 0))
        fprintf(stderr, "%% writing a response failed\n");
}

/* Reads one request from fd, answers it and records what it means. */
static void serve(int fd)
{
    char req[8192], path[256], user[USER_MAX + 1], left_page[64], body[1024];
    size_t got = 0;
    char *head_end = NULL;
    while (!head_end && got < sizeof(req) - 1) {
        ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        req[got] = '\0';
        head_end = strstr(req, "\r\n\r\n");
    }
    char method[8];
    if (!head_end || sscanf(req, "%7s %255s HTTP/1.", method, path) != 2) {
        respond(fd, "400 Bad Request", "", "bad request\n");
        return;
    }
    size_t path_len = strcspn(path, "?");
    const char *query = path + path_len + (path[path_len] == '?');
    path[path_len] = '\0';
    param(query, strlen(query), "user", "&", user, sizeof(user));
    const char *new_cookie = user; /* a name given in the query becomes the cookie */
    for (char *h = strstr(req, "\r\n"); !user[0] && h && h < head_end; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Cookie:", 7) == 0) {
            param(h + 9, strcspn(h + 9, "\r"), "user", ";", user, sizeof(user));
            new_cookie = "";
        }
    }
    if (!user[0]) {
        static unsigned serial;
        snprintf(user, sizeof(user), "u%lld-%u", (long long)now_ms(), ++serial);
        new_cookie = user;
    }

    int page = page_index(path);
    if (strcmp(path, "/leave") == 0) {
        param(query, strlen(query), "page", "&", left_page, sizeof(left_page));
        view_t *v = find_view(user);
        if (v && strcmp(pages[v->page][0], left_page) == 0)
            record_view(v, now_ms());
        respond(fd, "204 No Content", "", NULL);
    } else if (page < 0) {
        respond(fd, "404 Not Found", "", "no such page\n");
    } else if (strcmp(method, "GET") != 0) {
        respond(fd, "405 Method Not Allowed", "", "GET only\n");
    } else {
        visit(user, page);
        snprintf(body, sizeof(body),
                 "<!DOCTYPE html>\n<html><head><title>%s</title></head><body>\n"
                 "<h1>%s</h1>\n<p>Hello %s. <a href=\"/\">Home</a> <a href=\"/products\">"
                 "Products</a> <a href=\"/about\">About</a></p>\n<script>addEventListener("
                 "\"pagehide\", () => navigator.sendBeacon(\"/leave?page=%s\"));</script>\n"
                 "</body></html>\n",
                 pages[page][1], pages[page][1], user, pages[page][0]);
        respond(fd, "200 OK", new_cookie, body);
    }
}

int main(int argc, char **argv)
{
    char *end = "";
    long port = argc == 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc < 2 || argc > 3 || *end || port < 0 || port > 65535) {
        fprintf(stderr, "usage: %s BOOTSTRAP [PORT]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                               .sin_port = htons((uint16_t)port)};
    socklen_t addr_len = sizeof(addr);
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 64) ||
        getsockname(lfd, (struct sockaddr *)&addr, &addr_len)) {
        perror("% listen");
        return 1;
    }
    const char *key = "bootstrap.servers";
    char err[512];
    samsa_producer_callbacks_t callbacks = {.delivery_report = on_delivery};
    producer = samsa_producer_new_kv(&key, (const char *const *)&argv[1], 1, &callbacks, err,
                                     sizeof(err));
    if (!producer) {
        fprintf(stderr, "%% %s\n", err);
        return 1;
    }
    /* no SA_RESTART: a signal ends the wait in poll() */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("http://127.0.0.1:%d/\n", ntohs(addr.sin_port));
    fflush(stdout);

    struct timeval recv_timeout = {.tv_sec = 5};
    while (!stop) {
        struct pollfd pfd = {.fd = lfd, .events = POLLIN};
        if (poll(&pfd, 1, 100) == 1) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0) {
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &recv_timeout, sizeof(recv_timeout));
                serve(fd);
                /* let the client read the answer before the close: no reset
                 * for unread request bytes */
                shutdown(fd, SHUT_WR);
                char drain[512];
                while (read(fd, drain, sizeof(drain)) > 0)
                    ;
                close(fd);
            }
        }
        samsa_producer_poll(producer, 0);
    }
    close(lfd);
    for (int i = 0; i < MAX_OPEN; i++)
        if (open_views[i].user[0])
            record_view(&open_views[i], -1);
    if (samsa_producer_flush(producer, 30000) != SAMSA_ERR_NONE) {
        fprintf(stderr, "%% some page views were not recorded within 30 s\n");
        failed = 1;
    }
    samsa_producer_free(producer);
    return failed;
}
