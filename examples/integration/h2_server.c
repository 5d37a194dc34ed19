/*
 * h2_server — a small, complete HTTP/2 server (nghttp2 over OpenSSL) using
 * misdirect: the OpenSSL adapter picks the vhost in the ClientHello, the
 * nghttp2 glue advertises the connection's origin set in ORIGIN frames, and
 * every stream's :method, :scheme, :authority, :path and Host go through
 * mdr_decide with that set.  See docs/integration.md.
 *
 *   h2_server VHOSTS LISTENER [PORT]
 *
 * LISTENER must be a TLS listener; ALPN must negotiate h2.  Binds
 * 127.0.0.1:PORT (default: the listener's port; 0 = any free port) and
 * prints "listening 127.0.0.1:PORT" on stdout.  One connection at a time,
 * one log line per handshake, ORIGIN set and decision on stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <misdirect/nghttp2.h>

#define MAX_STREAMS 16           /* SETTINGS_MAX_CONCURRENT_STREAMS */
#define FIELDS_MAX 4096          /* bytes of kept header values per stream */
#define MAX_VALUES 8             /* :authority / Host values kept per stream */
#define IO_ROUNDS_MAX 100000     /* reads per connection */

/* One stream: a fixed slot, so requests cost no allocation of ours. */
typedef struct stream {
  int32_t id;                    /* 0 = free */
  char fields[FIELDS_MAX];       /* copies of the values below */
  size_t fields_len;
  mdr_request r;
  mdr_str authority[MAX_VALUES], host[MAX_VALUES];
  int has_method, bad;           /* bad: a pseudo-header we cannot accept */
  char status[4], length[24];
  const char *token;             /* reason token, for the misdirect-reason field */
  char location[FIELDS_MAX + 512];
  char body[768];
  size_t body_len, body_off;
} stream;

/* One HTTP/2 connection. */
typedef struct h2conn {
  server *s;
  SSL *ssl;
  mdr_conn facts;                /* with the advertised origin set */
  mdr_ngh2_origins origins;      /* what the ORIGIN frames carried */
  nghttp2_session *session;
  stream streams[MAX_STREAMS];
} h2conn;

static stream *stream_of(nghttp2_session *ss, const nghttp2_frame *f) {
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return NULL;
  return nghttp2_session_get_stream_user_data(ss, f->hd.stream_id);
}

static int on_begin_headers(nghttp2_session *ss, const nghttp2_frame *f, void *user) {
  h2conn *h = user;
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  for (size_t i = 0; i < MAX_STREAMS; i++) {
    stream *st = &h->streams[i];
    if (st->id == 0) {
      memset(st, 0, sizeof *st);
      st->id = f->hd.stream_id;
      return nghttp2_session_set_stream_user_data(ss, st->id, st);
    }
  }
  /* More streams than SETTINGS allowed: refuse this one. */
  nghttp2_submit_rst_stream(ss, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
  return 0;
}

static int on_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user) {
  (void)flags;
  (void)user;
  stream *st = stream_of(ss, f);
  if (!st) return 0;
  if (valuelen > sizeof st->fields - st->fields_len) /* too large: reset the stream */
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  mdr_str v = {st->fields + st->fields_len, valuelen};
  memcpy(st->fields + st->fields_len, value, valuelen);
  st->fields_len += valuelen;
#define IS(lit) (namelen == sizeof(lit) - 1 && memcmp(name, lit, namelen) == 0)
  if (IS(":method")) {
    st->bad |= st->has_method || valuelen == 0;
    st->has_method = 1;
    st->r.method = v;
  } else if (IS(":path")) {
    st->bad |= st->r.has_target;
    st->r.has_target = 1;
    st->r.target = v;
  } else if (IS(":scheme")) {
    st->bad |= st->r.has_scheme;
    st->r.has_scheme = 1;
    st->r.scheme = v;
  } else if (IS(":authority")) { /* every value: two of them is the core's 400 */
    if (st->r.n_authority < MAX_VALUES) st->authority[st->r.n_authority++] = v;
  } else if (IS("host")) {
    if (st->r.n_host < MAX_VALUES) st->host[st->r.n_host++] = v;
  } else if (namelen > 0 && name[0] == ':') {
    st->bad = 1; /* :protocol (extended CONNECT) is not enabled here */
  }
#undef IS
  return 0;
}

static ssize_t read_body(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t len,
                               uint32_t *data_flags, nghttp2_data_source *src, void *user) {
  (void)ss;
  (void)id;
  (void)user;
  stream *st = src->ptr;
  size_t n = st->body_len - st->body_off;
  if (n > len) n = len;
  memcpy(buf, st->body + st->body_off, n);
  st->body_off += n;
  if (st->body_off == st->body_len) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

/* The header block is complete: decide, then answer on this stream only. */
static int answer(h2conn *h, nghttp2_session *ss, stream *st) {
  mdr_decision d;
  memset(&d, 0, sizeof d);
  int decided = 0;
  if (st->bad || !st->has_method) {
    d.status = 400; /* refused by this example before deciding */
    st->token = "malformed-pseudo-header";
    fprintf(stderr, "stream %d: 400 malformed-pseudo-header\n", (int)st->id);
  } else {
    st->r.version = MDR_HTTP_2;
    st->r.authority = st->authority;
    st->r.host = st->host;
    mdr_ossl_conn_facts(h->ssl, &h->facts); /* refreshes early_data; keeps the origin set */
    int rc = mdr_decide(h->s->table, &h->facts, &st->r, &d, st->location, sizeof st->location);
    if (rc == 0) {
      decided = 1;
      st->token = mdr_reason_token(d.reason);
      log_decision(h->s, "h2", &h->facts, &st->r, &d, st->location);
    } else {
      fprintf(stderr, "mdr_decide: %s\n", mdr_strerror(rc));
      d.status = 500;
      st->token = "internal-error";
    }
  }
  int n;
  if (decided && d.kind == MDR_SERVE) {
    /* A real server hands the stream to vhost d.vhost here. */
    mdr_str v = mdr_vhost_name(h->s->table, d.vhost);
    n = snprintf(st->body, sizeof st->body, "served by vhost %.*s\n", (int)v.len, v.ptr);
  } else if (decided && d.kind == MDR_REDIRECT) {
    n = 0;
  } else {
    /* 421 and the others: status, token, generic text.  A 421 refuses this
     * stream only: the connection stays usable for its other origins. */
    n = snprintf(st->body, sizeof st->body, "%u %s (%s): %s\n", d.status, status_text(d.status),
                 st->token, decided ? mdr_reason_text(d.reason) : "the request was not decided");
  }
  st->body_len = n > 0 ? ((size_t)n < sizeof st->body ? (size_t)n : sizeof st->body - 1) : 0;
  snprintf(st->status, sizeof st->status, "%u", d.status);
  snprintf(st->length, sizeof st->length, "%zu", st->body_len);

#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
  nghttp2_nv nv[6] = {NV(":status", st->status), NV("content-type", "text/plain; charset=utf-8"),
                      NV("content-length", st->length), NV("misdirect-reason", st->token),
                      NV("cache-control", "no-store"), NV("location", st->location)};
#undef NV
  size_t nnv = 4;
  if (d.status == 421) nv[nnv++] = nv[4]; /* never cached; and no Alt-Svc on a 421 */
  if (decided && d.kind == MDR_REDIRECT) nv[nnv++] = nv[5];
  int head_only = st->r.method.len == 4 && memcmp(st->r.method.ptr, "HEAD", 4) == 0;
  nghttp2_data_provider dp;
  dp.source.ptr = st;
  dp.read_callback = read_body;
  return nghttp2_submit_response(ss, st->id, nv, nnv, head_only || st->body_len == 0 ? NULL : &dp);
}

static int on_frame_recv(nghttp2_session *ss, const nghttp2_frame *f, void *user) {
  stream *st = stream_of(ss, f);
  if (st && answer(user, ss, st) != 0)
    nghttp2_submit_rst_stream(ss, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_INTERNAL_ERROR);
  return 0;
}

static int on_stream_close(nghttp2_session *ss, int32_t id, uint32_t code, void *user) {
  (void)code;
  (void)user;
  stream *st = nghttp2_session_get_stream_user_data(ss, id);
  if (st) st->id = 0; /* the slot is free again */
  return 0;
}

/* Start the session: SETTINGS, then this connection's ORIGIN frames. */
static int h2_start(h2conn *h) {
  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0) return -1;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_option *opt;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    return -1;
  }
  /* Let the core judge :scheme, :authority and Host (a 400 with a reason
   * token) instead of nghttp2 resetting such streams without one. */
  nghttp2_option_set_no_http_messaging(opt, 1);
  int rc = nghttp2_session_server_new2(&h->session, cb, h, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rc != 0) return -1;

  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS}};
  if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, 1) != 0) return -1;
  /* Right after SETTINGS: the origins this connection may serve, per SNI
   * (never one that would get a 421 here).  From now on every stream is
   * decided against exactly what was advertised. */
  size_t frames = 0;
  rc = mdr_ngh2_server_submit_origin(h->session, &h->origins, h->s->table, h->facts.listener,
                                     h->facts.has_hs_vhost ? h->facts.hs_vhost : MDR_NONE, NULL,
                                     &frames);
  if (rc != 0) {
    fprintf(stderr, "ORIGIN not sent: %s\n",
            rc <= -100 && rc >= -199 ? mdr_strerror(rc) : nghttp2_strerror(rc));
    return -1;
  }
  mdr_ngh2_origins_to_conn(&h->origins, &h->facts);
  fprintf(stderr, "origin frames=%zu origins=%zu:", frames, h->origins.n);
  for (size_t i = 0; i < h->origins.n; i++)
    fprintf(stderr, " %.*s", (int)h->origins.origins[i].len, h->origins.origins[i].ptr);
  fprintf(stderr, "\n");
  return 0;
}

static int send_pending(h2conn *h) {
  for (int k = 0; k < 4096; k++) { /* bounded; nghttp2 hands out at most a few KB each time */
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(h->session, &data);
    if (n < 0) return -1;
    if (n == 0) return 0;
    for (size_t off = 0; off < (size_t)n;) {
      int w = SSL_write(h->ssl, data + off, (int)((size_t)n - off));
      if (w <= 0) return -1;
      off += (size_t)w;
    }
  }
  return 0;
}

static void serve_connection(server *s, int fd) {
  tls_note note;
  mdr_conn facts;
  SSL *ssl = tls_accept(s, fd, &note, &facts);
  if (!ssl) return;
  h2conn *h = NULL;
  if (!facts.has_alpn || facts.alpn.len != 2 || memcmp(facts.alpn.ptr, "h2", 2) != 0) {
    fprintf(stderr, "no h2 negotiated: this example speaks HTTP/2 only\n");
    goto done;
  }
  h = calloc(1, sizeof *h); /* once per connection, never per request */
  if (!h) goto done;
  h->s = s;
  h->ssl = ssl;
  h->facts = facts;
  if (h2_start(h) != 0) goto done;
  for (int k = 0; k < IO_ROUNDS_MAX && !g_stop; k++) {
    if (send_pending(h) != 0) break;
    if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session)) break;
    uint8_t buf[16384];
    int n = SSL_read(ssl, buf, (int)sizeof buf);
    if (n <= 0) break; /* closed, timed out or failed */
    if (nghttp2_session_mem_recv(h->session, buf, (size_t)n) < 0) break;
  }
done:
  if (h) {
    nghttp2_session_del(h->session);
    mdr_ngh2_origins_free(&h->origins);
    free(h);
  }
  SSL_shutdown(ssl);
  SSL_free(ssl);
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s VHOSTS LISTENER [PORT]\n", argv[0]);
    return 2;
  }
  install_signals();
  server s;
  if (server_init(&s, argv[1], argv[2], MDR_PROTO_H2) != 0) {
    server_free(&s);
    return 1;
  }
  if (!s.info.tls) {
    fprintf(stderr, "%s: listener '%s' is not a TLS listener\n", argv[1], argv[2]);
    server_free(&s);
    return 1;
  }
  unsigned port = argc == 4 ? (unsigned)strtoul(argv[3], NULL, 10) : s.info.port, bound = 0;
  int lfd = listen_loopback(port, &bound);
  if (lfd < 0) {
    perror("listen");
    server_free(&s);
    return 1;
  }
  printf("listening 127.0.0.1:%u\n", bound);
  fflush(stdout);

  while (!g_stop) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) continue; /* EINTR from SIGTERM: the loop condition ends it */
    set_timeouts(fd);
    serve_connection(&s, fd);
    close(fd);
  }
  close(lfd);
  server_free(&s);
  return 0;
}
