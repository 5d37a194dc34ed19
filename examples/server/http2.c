/*
 * misdirect-server: HTTP/2 with nghttp2.  Over TLS the connection's origin
 * set goes out in ORIGIN frames right after SETTINGS (misdirect-nghttp2),
 * and every stream is decided with that set in the connection facts.
 * Cleartext h2c (prior knowledge) gets no ORIGIN frame (RFC 8336 §2.2),
 * nor does any connection under --no-origin-frame.
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define H2_FIELDS_MAX 8192       /* bytes of header fields kept per stream */
#define H2_MAX_STREAMS 32

typedef struct h2_stream {
  char fields[H2_FIELDS_MAX];
  size_t fields_len;
  int overflow;                  /* the fields exceed H2_FIELDS_MAX: answer 431 */
  mdr_request r;
  mdr_str authority[SRV_MAX_HOSTS], host[SRV_MAX_HOSTS];
  size_t n_authority, n_host;
  int bad;                       /* a pseudo-header we cannot accept */
  srv_response rs;
  size_t body_off;
  struct h2_stream *prev, *next; /* every open stream of the connection */
} h2_stream;

typedef struct h2_ctx {
  srv *s;
  srv_conn *c;
  h2_stream *streams;
} h2_ctx;

/* Keep a copy of a header value inside the stream (bounded). */
static const char *keep(h2_stream *st, const uint8_t *v, size_t len) {
  if (len > sizeof st->fields - st->fields_len) {
    st->overflow = 1;
    return NULL;
  }
  char *p = st->fields + st->fields_len;
  memcpy(p, v, len);
  st->fields_len += len;
  return p;
}

static int on_begin_headers(nghttp2_session *ss, const nghttp2_frame *f, void *user) {
  h2_ctx *x = user;
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  h2_stream *st = calloc(1, sizeof *st);
  if (!st) return NGHTTP2_ERR_CALLBACK_FAILURE;
  st->next = x->streams;
  if (x->streams) x->streams->prev = st;
  x->streams = st;
  nghttp2_session_set_stream_user_data(ss, f->hd.stream_id, st);
  return 0;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  (void)flags;
  (void)user;
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  h2_stream *st = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
  if (!st) return 0;
  if (st->overflow) return 0; /* already too large: the stream gets a 431 */
  const char *v = keep(st, value, valuelen);
  if (!v) return 0;           /* too large: answered 431 once the block ends */
  mdr_str val = {v, valuelen};
#define IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, namelen) == 0)
  if (IS(":method")) {
    if (st->r.method.ptr) st->bad = 1;
    st->r.method = val;
    if (valuelen == 0) st->bad = 1;
  } else if (IS(":path")) {
    if (st->r.has_target) st->bad = 1;
    st->r.has_target = 1;
    st->r.target = val;
  } else if (IS(":scheme")) {
    if (st->r.has_scheme) st->bad = 1;
    st->r.has_scheme = 1;
    st->r.scheme = val;
  } else if (IS(":authority")) {
    if (st->n_authority < SRV_MAX_HOSTS) st->authority[st->n_authority] = val;
    st->n_authority++;
  } else if (IS("host")) {
    if (st->n_host < SRV_MAX_HOSTS) st->host[st->n_host] = val;
    st->n_host++;
  } else if (namelen > 0 && name[0] == ':') {
    st->bad = 1; /* unknown pseudo-header (:protocol is not enabled) */
  }
#undef IS
  return 0;
}

static ssize_t read_body(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len,
                         uint32_t *flags, nghttp2_data_source *src, void *user) {
  (void)ss;
  (void)id;
  (void)user;
  h2_stream *st = src->ptr;
  size_t left = st->rs.body_len - st->body_off;
  size_t n = left < len ? left : len;
  memcpy(buf, st->rs.body + st->body_off, n);
  st->body_off += n;
  if (st->body_off == st->rs.body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static int answer(h2_ctx *x, nghttp2_session *ss, int32_t id, h2_stream *st) {
  if (st->overflow) {
    /* As HTTP/1.1 does: a status, not a reset stream. */
    srv_refuse(x->s, x->c, 431, "head-too-large", "the header fields exceed 8 KiB", &st->rs);
  } else if (st->bad) {
    srv_refuse(x->s, x->c, 400, "malformed-pseudo-header",
               "a pseudo-header is repeated, empty or unknown", &st->rs);
  } else {
    st->r.version = MDR_HTTP_2;
    st->r.authority = st->authority;
    st->r.n_authority = st->n_authority < SRV_MAX_HOSTS ? st->n_authority : SRV_MAX_HOSTS;
    st->r.host = st->host;
    st->r.n_host = st->n_host < SRV_MAX_HOSTS ? st->n_host : SRV_MAX_HOSTS;
    srv_decide(x->s, x->c, &st->r, x->c->ssl ? "h2" : "h2c", &st->rs);
  }
  char status[8], clen[24];
  snprintf(status, sizeof status, "%u", st->rs.status);
  snprintf(clen, sizeof clen, "%zu", st->rs.body_len);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
  nghttp2_nv nv[5] = {NV(":status", status), NV("content-type", "text/plain; charset=utf-8"),
                      NV("content-length", clen), NV("misdirect-reason", st->rs.reason_token),
                      NV("location", st->rs.location)};
#undef NV
  size_t nnv = st->rs.location[0] ? 5 : 4;
  int head = st->r.method.len == 4 && memcmp(st->r.method.ptr, "HEAD", 4) == 0;
  nghttp2_data_provider dp;
  dp.source.ptr = st;
  dp.read_callback = read_body;
  return nghttp2_submit_response(ss, id, nv, nnv, head || st->rs.body_len == 0 ? NULL : &dp);
}

static int on_frame_recv(nghttp2_session *ss, const nghttp2_frame *f, void *user) {
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  h2_stream *st = nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
  if (!st) return 0;
  /* Decide as soon as the header block is complete; a request body is
   * read and dropped by nghttp2's flow control. */
  if (answer(user, ss, f->hd.stream_id, st) != 0)
    nghttp2_submit_rst_stream(ss, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
  return 0;
}

static void stream_free(h2_ctx *x, h2_stream *st) {
  if (st->prev) st->prev->next = st->next;
  else x->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  free(st);
}

static int on_stream_close(nghttp2_session *ss, int32_t id, uint32_t code, void *user) {
  (void)code;
  h2_stream *st = nghttp2_session_get_stream_user_data(ss, id);
  if (st) {
    nghttp2_session_set_stream_user_data(ss, id, NULL);
    stream_free(user, st);
  }
  return 0;
}

int h2_start(srv *s, srv_conn *c, int tls) {
  h2_ctx *x = calloc(1, sizeof *x);
  if (!x) return -1;
  x->s = s;
  x->c = c;
  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0) { free(x); return -1; }
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_option *opt;
  if (nghttp2_option_new(&opt) != 0) { nghttp2_session_callbacks_del(cb); free(x); return -1; }
  /* Let the core judge :authority, Host and :scheme (400s with a reason)
   * instead of nghttp2 resetting such streams itself. */
  nghttp2_option_set_no_http_messaging(opt, 1);
  int rc = nghttp2_session_server_new2(&c->h2, cb, x, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rc != 0) { free(x); c->h2 = NULL; return -1; }
  c->h2_ctx = x;

  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
                                 {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_FIELDS_MAX}};
  if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2) != 0) return -1;
  if (tls) {
    /* Right after SETTINGS: this connection's origin set, per SNI.  From
     * now on every stream is decided against what was advertised. */
    /* --no-origin-frame: none is sent (the log then says frames=0), and
     * the facts carry no origin set, as with a server unaware of RFC 8336. */
    rc = s->no_origin_frame ? 0
                            : mdr_ngh2_server_submit_origin(
                                  c->h2, &c->origins, s->table, c->facts.listener,
                                  c->facts.has_hs_vhost ? c->facts.hs_vhost : MDR_NONE, NULL,
                                  &c->origin_frames);
    if (rc != 0) {
      srv_log(s, "origin frame not sent: %s", rc < 0 && rc > -200 ? mdr_strerror(rc)
                                                                  : nghttp2_strerror(rc));
      return -1;
    }
    if (!s->no_origin_frame) mdr_ngh2_origins_to_conn(&c->origins, &c->facts);
    char list[1024];
    size_t k = 0;
    list[0] = '\0';
    for (size_t i = 0; i < c->origins.n; i++) { /* the log shows what was advertised */
      const mdr_str *o = &c->origins.origins[i];
      if (k + o->len + 5 >= sizeof list) {
        snprintf(list + k, sizeof list - k, "...");
        break;
      }
      k += (size_t)snprintf(list + k, sizeof list - k, "%s%.*s", i ? "," : "", (int)o->len, o->ptr);
    }
    srv_log(s, "origin conn=%llu listener=%.*s sni=%.*s frames=%zu origins=%zu set=%s", c->id,
            (int)c->lst->info.name.len, c->lst->info.name.ptr,
            c->facts.has_sni ? (int)c->facts.sni.len : 1, c->facts.has_sni ? c->facts.sni.ptr : "-",
            c->origin_frames, c->origins.n, k ? list : "-");
  }
  return 0;
}

int h2_recv(srv_conn *c, const uint8_t *data, size_t len) {
  ssize_t r = nghttp2_session_mem_recv(c->h2, data, len);
  return r < 0 || (size_t)r != len ? -1 : 0;
}

int h2_next_chunk(srv_conn *c) {
  const uint8_t *data = NULL;
  ssize_t n = nghttp2_session_mem_send(c->h2, &data);
  if (n < 0) return -1;
  c->wptr = data;
  c->wlen = (size_t)n;
  return 0;
}

int h2_done(const srv_conn *c) {
  return !nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2);
}

void h2_free(srv_conn *c) {
  h2_ctx *x = c->h2_ctx;
  /* nghttp2_session_del frees its streams without callbacks: free ours. */
  nghttp2_session_del(c->h2);
  while (x && x->streams) stream_free(x, x->streams);
  free(x);
  c->h2 = NULL;
  c->h2_ctx = NULL;
}
