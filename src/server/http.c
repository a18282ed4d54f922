/*
 * http.c - libmicrohttpd glue (docs/SERVER.md). One thread per connection (MHD's
 * thread-per-connection mode): a request that waits for the batcher blocks its own
 * thread only, so concurrent requests can meet in one batch; connections are capped
 * (--max-connections) and idle ones time out. Per request: the route and method, the
 * API key (constant-time, not on /health and /metrics), the payload limit (413 from
 * Content-Length before the body is read, or once the body passes it), the body
 * parsed by util's JSON reader (bounded depth and size), the route, then the reply
 * with TEI's timing headers. Errors are TEI's {"error", "error_type"}, or OpenAI's
 * {"error": {"message", "type", "param", "code"}} on the /v1/ endpoints.
 * Shutdown: stop listening, let the requests in flight finish, then stop.
 */
#include <microhttpd.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

typedef struct {
    srv_endpoint ep;
    double t0;
    sbuf body;
    int too_big, replied;
} req_ctx;

static srv_endpoint route_of(const char *url) {
    static const struct {
        const char *path;
        srv_endpoint ep;
    } map[] = {{"/embed", EP_EMBED},       {"/rerank", EP_RERANK},         {"/predict", EP_PREDICT},
               {"/tokenize", EP_TOKENIZE}, {"/health", EP_HEALTH},         {"/info", EP_INFO},
               {"/v1/embeddings", EP_V1_EMBEDDINGS}, {"/embeddings", EP_V1_EMBEDDINGS},
               {"/v1/rerank", EP_V1_RERANK}, {"/v2/rerank", EP_V1_RERANK},  {"/search", EP_SEARCH},
               {"/metrics", EP_METRICS}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(url, map[i].path)) return map[i].ep;
    return EP_OTHER;
}

static int is_get(srv_endpoint ep) { return ep == EP_HEALTH || ep == EP_INFO || ep == EP_METRICS; }

/* "Bearer KEY" against the key, in time that does not depend on where they differ */
static int auth_ok(const wn_server *s, struct MHD_Connection *c) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    const char *got = h + 7, *want = s->api_key;
    size_t ng = strlen(got), nw = strlen(want);
    unsigned diff = ng != nw;
    for (size_t i = 0; i < nw; i++) diff |= (unsigned char)want[i] ^ (unsigned char)(i < ng ? got[i] : 0);
    return diff == 0;
}

static const char *openai_type(int status) {
    return status == 401 ? "authentication_error" : status == 429 ? "rate_limit_error"
         : status >= 500 ? "server_error" : "invalid_request_error";
}

static void error_body(srv_endpoint ep, srv_reply *r) {
    sb_free(&r->body);
    r->body.oom = 0;
    size_t n = strlen(r->err_msg);
    if (ep == EP_V1_EMBEDDINGS || ep == EP_V1_RERANK) {
        sb_puts(&r->body, "{\"error\":{\"message\":");
        sb_json_str(&r->body, r->err_msg, n);
        sb_printf(&r->body, ",\"type\":\"%s\",\"param\":null,\"code\":", openai_type(r->status));
        sb_json_str(&r->body, r->err_type, strlen(r->err_type));
        sb_puts(&r->body, "}}");
    } else {
        sb_puts(&r->body, "{\"error\":");
        sb_json_str(&r->body, r->err_msg, n);
        sb_puts(&r->body, ",\"error_type\":");
        sb_json_str(&r->body, r->err_type, strlen(r->err_type));
        sb_puts(&r->body, "}");
    }
}

static enum MHD_Result send_reply(wn_server *s, struct MHD_Connection *c, req_ctx *q, srv_reply *r) {
    if (r->err_type) error_body(q->ep, r);
    static const char oom_body[] = "{\"error\":\"out of memory\",\"error_type\":\"backend\"}";
    if (r->body.oom || !r->body.p) { /* nothing could be written */
        sb_free(&r->body);
        r->body.oom = 0;
        r->status = 503;
    }
    /* the body goes to MHD, which frees it with wn_free after sending */
    struct MHD_Response *resp =
        !r->body.p ? MHD_create_response_from_buffer(sizeof oom_body - 1, (void *)oom_body, MHD_RESPMEM_PERSISTENT)
                   : MHD_create_response_from_buffer_with_free_callback(r->body.n, r->body.p, wn_free);
    if (!resp) {
        sb_free(&r->body);
        return MHD_NO;
    }
    r->body.p = NULL; /* MHD owns it */
    char v[32];
    double total = wn_now() - q->t0;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->ctype ? r->ctype : "application/json");
    snprintf(v, sizeof v, "%lld", (long long)(total * 1e3));
    MHD_add_response_header(resp, "x-total-time", v);
    snprintf(v, sizeof v, "%lld", (long long)(r->queue_s * 1e3));
    MHD_add_response_header(resp, "x-queue-time", v);
    snprintf(v, sizeof v, "%lld", (long long)(r->infer_s * 1e3));
    MHD_add_response_header(resp, "x-inference-time", v);
    snprintf(v, sizeof v, "%lld", (long long)(r->tok_s * 1e3));
    MHD_add_response_header(resp, "x-tokenization-time", v);
    if (r->status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (s->draining) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    metrics_request(&s->metrics, q->ep, r->status, total);
    q->replied = 1;
    return ret;
}

/* the checks made once the headers are in, before any body byte is read */
static void early_checks(wn_server *s, struct MHD_Connection *c, const char *method, req_ctx *q, srv_reply *r) {
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    if (q->ep == EP_OTHER) return reply_error(r, 404, "validation", "no such endpoint");
    if (is_get(q->ep) ? !get : !post)
        return reply_error(r, 405, "validation", "%s wants %s", metrics_endpoint_path(q->ep), is_get(q->ep) ? "GET" : "POST");
    if (s->api_key && q->ep != EP_HEALTH && q->ep != EP_METRICS && !auth_ok(s, c))
        return reply_error(r, 401, "unauthorized", "missing or wrong API key (Authorization: Bearer KEY)");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->p.payload_limit)
        return reply_error(r, 413, "validation", "the body has %s bytes, the limit is %zu (--payload-limit)", cl,
                           s->p.payload_limit);
}

static void dispatch(wn_server *s, req_ctx *q, srv_reply *r) {
    if (q->ep == EP_HEALTH) return route_health(s, r);
    if (q->ep == EP_INFO) return route_info(s, r);
    if (q->ep == EP_METRICS) {
        r->ctype = "text/plain; version=0.0.4";
        return metrics_render(&s->metrics, &r->body);
    }
    if (q->too_big)
        return reply_error(r, 413, "validation", "the body is larger than %zu bytes (--payload-limit)", s->p.payload_limit);
    if (q->body.oom) return reply_error(r, 503, "backend", "out of memory for the request body");
    wn_json *doc = NULL;
    wn_status st = wn_json_parse(q->body.p ? q->body.p : "", q->body.n, 0, "request body", &doc);
    if (st != WN_OK) return reply_status(r, st, "malformed JSON");
    switch (q->ep) {
    case EP_EMBED: route_embed(s, doc, r); break;
    case EP_RERANK: route_rerank(s, doc, r); break;
    case EP_PREDICT: route_predict(s, doc, r); break;
    case EP_TOKENIZE: route_tokenize(s, doc, r); break;
    case EP_V1_EMBEDDINGS: route_v1_embeddings(s, doc, r); break;
    case EP_V1_RERANK: route_v1_rerank(s, doc, r); break;
    case EP_SEARCH: route_search(s, doc, r); break;
    default: reply_error(r, 404, "validation", "no such endpoint");
    }
    wn_json_free(doc);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    wn_server *s = cls;
    req_ctx *q = *con_cls;
    srv_reply r;
    memset(&r, 0, sizeof r);
    r.status = 200;
    if (!q) {
        q = wn_calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        *con_cls = q;
        s->active++;
        q->t0 = wn_now();
        q->ep = route_of(url);
        early_checks(s, c, method, q, &r);
        return r.err_type ? send_reply(s, c, q, &r) : MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_big && !q->replied) {
            if (q->body.n + *upload_size > s->p.payload_limit) {
                q->too_big = 1;
                sb_free(&q->body);
            } else {
                sb_put(&q->body, upload, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->replied) return MHD_YES;
    dispatch(s, q, &r);
    return send_reply(s, c, q, &r);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)c;
    (void)why;
    wn_server *s = cls;
    req_ctx *q = *con_cls;
    if (!q) return;
    sb_free(&q->body);
    wn_free(q);
    *con_cls = NULL;
    s->active--;
}

wn_status http_start(wn_server *s) {
    char port[16];
    snprintf(port, sizeof port, "%d", s->p.port);
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(s->host, port, &hints, &ai);
    if (rc) return wn_seterr(WN_ERR_ARG, "server: cannot resolve host '%s': %s", s->host, gai_strerror(rc));
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s->p.port, NULL, NULL, on_access, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->p.timeout_s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) return wn_seterr(WN_ERR_IO, "server: cannot listen on %s:%d (in use, or not an address of this host?)", s->host, s->p.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : s->p.port;
    s->daemon = d;
    return WN_OK;
}

void http_stop(wn_server *s, double grace_s) {
    struct MHD_Daemon *d = s->daemon;
    if (!d) return;
    s->draining = 1;
    MHD_socket fd = MHD_quiesce_daemon(d); /* no new connections from here */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double end = wn_now() + grace_s;
    while (s->active > 0 && wn_now() < end) usleep(10000);
    s->abandon = 1; /* what is still queued after the grace fails with 503, not run */
    MHD_stop_daemon(d); /* closes idle connections, joins their threads */
    s->daemon = NULL;
}
