/*
 * misdirect-server — example HTTP server: HTTP/1.1 and HTTP/2 over TLS,
 * HTTP/1.1 and HTTP/2 prior knowledge (h2c) in cleartext, on 127.0.0.1.
 *
 *   misdirect-server -c VHOSTS [--log FILE] [--port-offset N] [--ports-file FILE]
 *                    [--head-timeout SECONDS] [--no-origin-frame]
 *
 * Every listener of the vhosts file is bound on 127.0.0.1 at its port (plus
 * N: the configured port stays the one decisions use, as behind a port
 * mapping).  A listener with port 0 is bound on a port the kernel picks,
 * which then is its port for decisions; --ports-file reports every port
 * bound, so scripts never guess a free port.  cert file=/key= and policy ca-file= are relative to the vhosts
 * file.  One line per decision goes to the log (default stderr).  SIGTERM or
 * SIGINT stop it cleanly.  --no-origin-frame sends no ORIGIN frame on HTTP/2
 * and decides without an origin set, as a server unaware of RFC 8336 does:
 * the control run of the browser tests (tests/browser).
 *
 * This file: start-up, the poll() loop and transport I/O (TLS or plain).
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static long long now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec;
}

/* Read the vhosts file: at most MDR_VHOSTS_FILE_MAX bytes, the misdirect
 * tool's limit.  NULL with errno set (EFBIG when larger). */
static char *slurp(const char *path, size_t *len) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > MDR_VHOSTS_FILE_MAX) {
    errno = EFBIG; /* too large: do not even read it */
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
    if (n > MDR_VHOSTS_FILE_MAX) { free(buf); buf = NULL; errno = EFBIG; break; }
    if (n == cap) { /* up to one byte past the limit, to tell it apart */
      size_t nc = cap * 2 > MDR_VHOSTS_FILE_MAX ? MDR_VHOSTS_FILE_MAX + 1 : cap * 2;
      char *nb = realloc(buf, nc);
      if (!nb) { free(buf); buf = NULL; break; }
      buf = nb;
      cap = nc;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

static int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL, 0);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A listening socket on 127.0.0.1:port (0 = a port the kernel picks);
 * *bound receives the port it got.  -1 with errno set on failure. */
static int bind_loopback(int port, uint16_t *bound) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  socklen_t alen = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
      set_nonblock(fd) != 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

/* ------------------------------------------------------------------------ */
/* Port 0: listeners bound before the table is parsed                        */
/* ------------------------------------------------------------------------ */

/* A `listener NAME SCHEME 0` statement of the vhosts text: the socket is
 * bound first, then the port it got replaces the 0 in the text handed to
 * the parser, so decisions, redirects and ORIGIN frames use the real port. */
typedef struct zero_port {
  char name[256];                  /* statement names are at most 255 bytes */
  size_t name_len;
  size_t tok_off, tok_len;         /* the PORT token in the text */
  int fd;
  uint16_t port;
} zero_port;

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* Record a statement if it is `listener NAME SCHEME 0...`. */
static int note_listener(const char *t, const char *const *tok, const size_t *toklen, size_t ntok,
                         zero_port *zp, size_t *n, size_t cap) {
  if (ntok < 4 || toklen[0] != 8 || memcmp(tok[0], "listener", 8) != 0) return 0;
  for (size_t z = 0; z < toklen[3]; z++)
    if (tok[3][z] != '0') return 0;
  if (toklen[1] >= sizeof zp->name) return 0; /* the parser refuses such a name */
  if (*n == cap) return -1;
  zero_port *p = &zp[(*n)++];
  memcpy(p->name, tok[1], toklen[1]);
  p->name_len = toklen[1];
  p->tok_off = (size_t)(tok[3] - t);
  p->tok_len = toklen[3];
  p->fd = -1;
  p->port = 0;
  return 0;
}

/* Find the listener statements whose PORT token is all zeros, following the
 * lexical rules of docs/vhosts-file.md (LF lines, a CR before the LF
 * ignored, blank-separated tokens, '#' comments at the start of a token, a
 * trailing '\' continues the statement, an empty or comment-only line ends
 * it).  Anything else is left to the parser, which reports it.  Returns how
 * many were found, or -1 when there are more than cap. */
static int find_zero_ports(const char *t, size_t len, zero_port *zp, size_t cap) {
  const char *tok[4] = {NULL, NULL, NULL, NULL};
  size_t toklen[4] = {0, 0, 0, 0};
  size_t n = 0, ntok = 0;
  for (size_t i = 0; i < len;) {
    size_t eol = i;
    while (eol < len && t[eol] != '\n') eol++;
    size_t end = eol;
    if (end > i && eol < len && t[end - 1] == '\r') end--;
    int cont = end > i && t[end - 1] == '\\';
    size_t stop = cont ? end - 1 : end, here = 0;
    for (size_t k = i; k < stop;) {
      if (is_blank(t[k])) { k++; continue; }
      if (t[k] == '#') { cont = 0; break; } /* a comment runs to the end of the line */
      size_t s = k;
      while (k < stop && !is_blank(t[k])) k++;
      if (ntok < 4) { tok[ntok] = t + s; toklen[ntok] = k - s; }
      ntok++;
      here++;
    }
    if (here == 0) cont = 0; /* an empty or comment-only line ends a statement */
    if (!cont) {
      if (note_listener(t, tok, toklen, ntok, zp, &n, cap) != 0) return -1;
      ntok = 0;
    }
    i = eol + 1;
  }
  if (note_listener(t, tok, toklen, ntok, zp, &n, cap) != 0) return -1;
  return (int)n;
}

/* Bind every port-0 listener and return the text with each 0 replaced by
 * the port bound (line numbers unchanged), or NULL (reported on stderr). */
static char *bind_zero_ports(const char *text, size_t len, zero_port *zp, size_t nzp,
                             size_t *out_len) {
  char *out = malloc(len + nzp * 5 + 1);
  if (!out) { perror("malloc"); return NULL; }
  size_t k = 0, from = 0;
  for (size_t i = 0; i < nzp; i++) {
    zp[i].fd = bind_loopback(0, &zp[i].port);
    if (zp[i].fd < 0) {
      fprintf(stderr, "listener %.*s: 127.0.0.1:0: %s\n", (int)zp[i].name_len, zp[i].name,
              strerror(errno));
      free(out);
      return NULL;
    }
    memcpy(out + k, text + from, zp[i].tok_off - from);
    k += zp[i].tok_off - from;
    k += (size_t)snprintf(out + k, 6, "%u", (unsigned)zp[i].port);
    from = zp[i].tok_off + zp[i].tok_len;
  }
  memcpy(out + k, text + from, len - from);
  *out_len = k + len - from;
  return out;
}

/* Set up listener l: its TLS contexts, and its socket unless it was bound
 * already (fd >= 0: a port-0 listener, bound before the table was parsed). */
static int open_listener(srv *s, srv_listener *l, mdr_str base, int fd, uint16_t bound) {
  if (fd >= 0) {
    l->fd = fd;
    l->bind_port = bound;
  } else {
    int port = (int)l->info.port + s->port_offset;
    if (port < 1 || port > 65535) {
      fprintf(stderr, "listener %.*s: port %d out of range\n", (int)l->info.name.len,
              l->info.name.ptr, port);
      return -1;
    }
    l->fd = bind_loopback(port, &l->bind_port);
    if (l->fd < 0) {
      fprintf(stderr, "listener %.*s: 127.0.0.1:%d: %s\n", (int)l->info.name.len,
              l->info.name.ptr, port, strerror(errno));
      return -1;
    }
  }
  if (l->info.tls) {
    mdr_ossl_set_options o;
    memset(&o, 0, sizeof o);
    o.base_dir = base;
    o.alpn = MDR_OSSL_ALPN_STRICT;
    mdr_error err;
    memset(&err, 0, sizeof err);
    if (mdr_ossl_set_new(&l->set, s->table, l->info.name, &o, &err) != 0) {
      fprintf(stderr, "%s\n", err.message);
      return -1;
    }
    l->initial = SSL_CTX_new(TLS_server_method());
    if (!l->initial || mdr_ossl_install(l->set, l->initial, &err) != 0) {
      fprintf(stderr, "listener %.*s: %s\n", (int)l->info.name.len, l->info.name.ptr,
              err.message);
      return -1;
    }
    SSL_CTX_set_mode(l->initial, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  srv_log(s, "listening listener=%.*s scheme=%s addr=127.0.0.1:%u", (int)l->info.name.len,
          l->info.name.ptr, l->info.tls ? "https" : "http", (unsigned)l->bind_port);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

static void conn_close(srv *s, srv_conn *c) {
  (void)s;
  if (c->h2) h2_free(c);
  mdr_ngh2_origins_free(&c->origins);
  if (c->ssl) {
    if (c->state != C_HANDSHAKE && c->state != C_CLOSING)
      SSL_shutdown(c->ssl); /* best effort close_notify */
    SSL_free(c->ssl);
  }
  close(c->fd);
  memset(c, 0, sizeof *c);
  c->state = C_FREE;
  c->fd = -1;
}

/* Remember the fatal alerts of a failed handshake, sent or received, for
 * the log line. */
static void on_tls_info(const SSL *ssl, int where, int ret) {
  srv_conn *c = SSL_get_app_data(ssl);
  if (!c) return;
  if ((where & SSL_CB_LOOP) && SSL_get_state(ssl) == TLS_ST_SW_CERT_REQ) c->cert_requested = 1;
  if ((ret >> 8) != SSL3_AL_FATAL) return;
  if (!(where & SSL_CB_ALERT)) return; /* SSL_CB_{READ,WRITE}_ALERT share this bit */
  if (where & SSL_CB_WRITE) c->alert_sent = ret & 0xff;
  if (where & SSL_CB_READ) c->alert_recv = ret & 0xff;
}

static const char *listener_name(const srv_conn *c, int *len) {
  *len = (int)c->lst->info.name.len;
  return c->lst->info.name.ptr;
}

/* The connection to close when the table is full: the one that has made
 * no progress (accepted, or a request answered) for the longest time among
 * those not writing a response.  A slow-loris client that never completes
 * a request goes first; NULL if every connection is busy writing. */
static srv_conn *conn_victim(srv *s) {
  srv_conn *v = NULL;
  for (size_t i = 0; i < SRV_MAX_CONNS; i++) {
    srv_conn *c = &s->conns[i];
    if (c->state == C_FREE || c->wlen > 0) continue;
    if (!v || c->progress < v->progress || (c->progress == v->progress && c->id < v->id)) v = c;
  }
  return v;
}

static void conn_close(srv *s, srv_conn *c);

static srv_conn *conn_slot(srv *s) {
  for (size_t i = 0; i < SRV_MAX_CONNS; i++)
    if (s->conns[i].state == C_FREE) return &s->conns[i];
  srv_conn *v = conn_victim(s);
  if (!v) return NULL;
  int ln;
  const char *name = listener_name(v, &ln);
  srv_log(s, "closed conn=%llu listener=%.*s reason=evicted (%d connections open; no request "
          "answered for %llds, the longest)", v->id, ln, name, SRV_MAX_CONNS,
          now_s() - v->progress);
  conn_close(s, v);
  return v;
}

static void conn_accept(srv *s, srv_listener *l) {
  for (int k = 0; k < 16; k++) { /* bounded accepts per wake-up */
    /* Accept first: a slot is freed (a connection evicted) only for a
     * connection that is really there. */
    int fd = accept(l->fd, NULL, NULL);
    if (fd < 0) return;
    srv_conn *c = conn_slot(s);
    if (!c || set_nonblock(fd) != 0) { close(fd); continue; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(c, 0, sizeof *c);
    c->id = ++s->next_id;
    c->alert_sent = c->alert_recv = -1;
    c->fd = fd;
    c->lst = l;
    c->last_active = c->head_since = c->progress = now_s();
    c->facts.listener = l->index; /* zeroed facts: no handshake vhost known yet */
    if (l->info.tls) {
      c->ssl = SSL_new(l->initial);
      if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) { conn_close(s, c); continue; }
      SSL_set_accept_state(c->ssl);
      SSL_set_app_data(c->ssl, c); /* index 0 is the host's; the adapter never uses it */
      SSL_set_info_callback(c->ssl, on_tls_info);
      c->state = C_HANDSHAKE;
    } else {
      c->state = C_SNIFF;
    }
  }
}

/* Transport read: >0 bytes, 0 = nothing now, -1 = closed or failed. */
static long tr_read(srv_conn *c, void *buf, size_t cap) {
  if (c->ssl) {
    /* SSL_get_error() reads this thread's error queue: an error another
     * connection left there (a peer that closed without close_notify)
     * would turn this connection's WANT_READ into SSL_ERROR_SSL. */
    ERR_clear_error();
    int r = SSL_read(c->ssl, buf, (int)cap);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) return 0;
    if (e == SSL_ERROR_WANT_WRITE) { c->want_write = 1; return 0; }
    return -1;
  }
  ssize_t r = recv(c->fd, buf, cap, 0);
  if (r > 0) return (long)r;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  return -1;
}

/* Write what is pending (h1 response, or h2 chunks).  -1 = close. */
static int conn_flush(srv_conn *c) {
  c->want_write = 0;
  for (int k = 0; k < 1024; k++) {
    if (c->wlen == 0) {
      if (c->state != C_H2) return 0;
      int r = h2_next_chunk(c);
      if (r < 0) return -1;
      if (c->wlen == 0) return 0;
    }
    long n;
    if (c->ssl) {
      ERR_clear_error(); /* as in tr_read */
      int r = SSL_write(c->ssl, c->wptr, (int)c->wlen);
      if (r <= 0) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) { c->want_write = 1; return 0; }
        return -1;
      }
      n = r;
    } else {
      ssize_t r = send(c->fd, c->wptr, c->wlen, MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { c->want_write = 1; return 0; }
        return -1;
      }
      n = (long)r;
    }
    c->wptr += n;
    c->wlen -= (size_t)n;
  }
  c->want_write = c->wlen > 0;
  return 0;
}

static const uint8_t H2_PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* The handshake finished: record the facts, pick HTTP/1.1 or HTTP/2. */
static int conn_established(srv *s, srv_conn *c) {
  if (mdr_ossl_conn_facts(c->ssl, &c->facts) != 0) return -1;
  const unsigned char *alpn = NULL;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
  if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0) {
    c->state = C_H2;
    return h2_start(s, c, 1);
  }
  c->state = C_H1;
  return 0;
}

static void log_handshake_failure(srv *s, srv_conn *c) {
  const mdr_handshake_result *hs = mdr_ossl_conn_handshake(c->ssl);
  unsigned long e = ERR_peek_last_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  const char *err = e ? buf : "-";
  int lname = (int)c->lst->info.name.len;
  const char *name = c->lst->info.name.ptr;
  /* The client closed the TCP connection mid-handshake.  OpenSSL reports
   * that as a decode_error "sent" (to a closed socket): say what happened,
   * and whether the server had just asked for a client certificate. */
  int eof = (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
            (!e && c->alert_sent < 0 && c->alert_recv < 0);
  if (hs && hs->outcome == MDR_HS_ALERT)
    srv_log(s, "handshake conn=%llu listener=%.*s -> alert %s reason=%s", c->id, lname, name,
            mdr_alert_name(hs->alert), mdr_reason_token(hs->reason));
  else if (c->alert_recv >= 0)
    srv_log(s, "handshake conn=%llu listener=%.*s -> client sent alert %s (%s)", c->id, lname, name,
            mdr_alert_name((unsigned)c->alert_recv), err);
  else if (eof)
    srv_log(s, "handshake conn=%llu listener=%.*s -> client closed the connection %s", c->id, lname,
            name,            c->cert_requested ? "when asked for a client certificate" : "during the handshake");
  else if (c->alert_sent >= 0)
    /* Refused before the core ran (a malformed server_name, an adapter
     * failure) or by OpenSSL itself: name the alert OpenSSL sent. */
    srv_log(s, "handshake conn=%llu listener=%.*s -> alert %s (%s)", c->id, lname, name,
            mdr_alert_name((unsigned)c->alert_sent), err);
  else
    srv_log(s, "handshake conn=%llu listener=%.*s -> failed (%s)", c->id, lname, name, err);
  ERR_clear_error();
}

static int conn_io_run(srv *s, srv_conn *c);

/* The last response is out: shut our side down and linger (see C_CLOSING). */
static int conn_linger(srv_conn *c) {
  if (c->ssl && SSL_is_init_finished(c->ssl)) SSL_shutdown(c->ssl); /* close_notify, best effort */
  ERR_clear_error(); /* nothing of this connection may reach the next one's log line */
  if (shutdown(c->fd, SHUT_WR) != 0) return -1;
  c->state = C_CLOSING;
  c->closing_since = now_s();
  c->head_since = 0;
  return 0;
}

/* Read and drop what the client still sends; -1 (close) at its EOF, on an
 * error, or past SRV_LINGER_MAX bytes. */
static int conn_drain(srv_conn *c) {
  char buf[16384];
  for (int k = 0; k < 64; k++) {
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
    if (r <= 0) return -1;
    c->drained += (size_t)r;
    if (c->drained > SRV_LINGER_MAX) return -1;
  }
  return 0;
}

/* Drive one connection after poll() said it is ready.  -1 = close it. */
static int conn_io(srv *s, srv_conn *c, int readable) {
  c->last_active = now_s();
  if (c->state == C_CLOSING) return conn_drain(c);
  unsigned long long answered = c->answered;
  int was_handshake = c->state == C_HANDSHAKE;
  int rc = conn_io_run(s, c);
  if (rc != 0 || c->state == C_CLOSING) return rc;
  /* The head deadline: from the accept for the TLS handshake, then from the
   * first byte after the last answer until the next answer, whatever
   * arrives in between (a byte at a time, or a TLS record a byte at a
   * time).  HTTP/2 has no head to wait for; the eviction order covers it. */
  if (c->answered != answered) {
    c->progress = c->last_active;
    c->head_since = c->in_len > 0 ? c->last_active : 0; /* a pipelined head is pending */
  } else if (was_handshake && c->state != C_HANDSHAKE) {
    c->head_since = 0; /* the handshake is done: the head's own deadline starts with its bytes */
  } else if (!c->head_since && readable) {
    c->head_since = c->last_active;
  }
  if (c->state == C_H2) c->head_since = 0;
  return 0;
}

static int conn_io_run(srv *s, srv_conn *c) {
  if (c->state == C_HANDSHAKE) {
    ERR_clear_error(); /* as in tr_read */
    int r = SSL_do_handshake(c->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ) return 0;
      if (e == SSL_ERROR_WANT_WRITE) { c->want_write = 1; return 0; }
      log_handshake_failure(s, c);
      /* Linger so the client reads the alert: in TLS 1.3 it may already
       * be sending its request, and closing with that unread would reset
       * the connection before the alert is read. */
      return conn_linger(c);
    }
    if (conn_established(s, c) != 0) return -1;
  }
  if (conn_flush(c) != 0) return -1;
  if (c->wlen > 0) return 0; /* still writing: read later */
  if (c->close_after_write) return conn_linger(c);

  if (c->state == C_H1 && c->h1_again) { /* a pipelined request already buffered */
    c->h1_again = 0;
    if (h1_process(s, c) != 0) return -1;
    if (conn_flush(c) != 0) return -1;
    if (c->wlen > 0) return 0;
    if (c->close_after_write) return conn_linger(c);
  }
  for (int k = 0; k < 64; k++) { /* bounded reads per wake-up */
    long n;
    if (c->state == C_H2) {
      uint8_t buf[16384];
      n = tr_read(c, buf, sizeof buf);
      if (n < 0) return -1;
      if (n == 0) break;
      if (h2_recv(c, buf, (size_t)n) != 0) return -1;
      continue;
    }
    /* HTTP/1.1 or not yet known: fill the head buffer, skipping body bytes. */
    size_t room = sizeof c->in - c->in_len;
    if (room == 0) {
      if (h1_process(s, c) != 0) return -1;
      break;
    }
    n = tr_read(c, c->in + c->in_len, room);
    if (n < 0) return -1;
    if (n == 0) break;
    c->in_len += (size_t)n;
    if (c->state == C_SNIFF) {
      size_t m = c->in_len < sizeof H2_PREFACE - 1 ? c->in_len : sizeof H2_PREFACE - 1;
      if (memcmp(c->in, H2_PREFACE, m) == 0) {
        if (m < sizeof H2_PREFACE - 1) continue; /* wait for the whole preface */
        c->state = C_H2;
        if (h2_start(s, c, 0) != 0) return -1;
        if (h2_recv(c, (const uint8_t *)c->in, c->in_len) != 0) return -1;
        c->in_len = 0;
        continue;
      }
      c->state = C_H1;
    }
    if (h1_process(s, c) != 0) return -1;
    if (c->wlen > 0) break;
  }
  if (conn_flush(c) != 0) return -1;
  if (c->state == C_H2 && h2_done(c) && c->wlen == 0) return -1;
  if (c->close_after_write && c->wlen == 0) return conn_linger(c);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f, const char *argv0) {
  fprintf(f,
          "usage: %s -c VHOSTS [--log FILE] [--port-offset N] [--ports-file FILE]\n"
          "       [--head-timeout SECONDS] [--no-origin-frame]\n"
          "  -c, --config VHOSTS  the vhosts file (docs/vhosts-file.md); every listener is\n"
          "                       bound on 127.0.0.1 at its PORT\n"
          "  --log FILE           append the log (one line per decision) to FILE\n"
          "                       (default: stderr)\n"
          "  --port-offset N      bind each listener at PORT+N; decisions still use PORT,\n"
          "                       as behind a port mapping\n"
          "  --ports-file FILE    once every listener is bound, write FILE (atomically:\n"
          "                       a temporary file renamed) with one line per listener,\n"
          "                       'NAME SCHEME PORT', the port actually bound\n"
          "  --head-timeout S     close a connection whose TLS handshake, or whose next\n"
          "                       request head (from its first byte), is not complete\n"
          "                       within S seconds (1-3600; default %d), however\n"
          "                       steadily its bytes trickle in\n"
          "At most %d connections are open; when a new one arrives, the connection that\n"
          "has gone longest without an answered request is closed for it.\n"
          "A listener whose PORT is 0 ('listener web https 0') is bound on a free port\n"
          "the kernel picks, and that port is the listener's port for decisions,\n"
          "redirects and ORIGIN frames (--port-offset does not apply to it).  Scripts\n"
          "use port 0 with --ports-file instead of guessing a free port.\n"
          "  --no-origin-frame    send no ORIGIN frame and decide without an origin set\n"
          "                       (the control run of the browser tests)\n"
          "See misdirect-server(1), docs/origin.md (\"Example server and what it looks\n"
          "like on the wire\"), docs/vhosts-file.md and docs/decision-rules.md.\n",
          argv0, SRV_HEAD_SECONDS, SRV_MAX_CONNS);
}

/* Write path atomically: "NAME SCHEME PORT" per listener. */
static int write_ports_file(const srv *s, const char *path) {
  char tmp[4096];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp) { fprintf(stderr, "%s: path too long\n", path); return -1; }
  FILE *f = fopen(tmp, "w");
  if (!f) { perror(tmp); return -1; }
  for (size_t i = 0; i < s->n_lst; i++)
    fprintf(f, "%.*s %s %u\n", (int)s->lst[i].info.name.len, s->lst[i].info.name.ptr,
            s->lst[i].info.tls ? "https" : "http", (unsigned)s->lst[i].bind_port);
  if (fflush(f) != 0 || ferror(f)) { perror(tmp); fclose(f); remove(tmp); return -1; }
  fclose(f);
  if (rename(tmp, path) != 0) { perror(path); remove(tmp); return -1; }
  return 0;
}

int main(int argc, char **argv) {
  const char *vhosts = NULL, *logpath = NULL, *portspath = NULL;
  static srv s; /* large: connection buffers */
  s.head_timeout = SRV_HEAD_SECONDS;
  for (int i = 1; i < argc; i++) {
    if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
      vhosts = argv[++i];
    } else if (!strcmp(argv[i], "--log") && i + 1 < argc) {
      logpath = argv[++i];
    } else if (!strcmp(argv[i], "--head-timeout") && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > 3600) { usage(stderr, argv[0]); return 2; }
      s.head_timeout = v;
    } else if (!strcmp(argv[i], "--ports-file") && i + 1 < argc) {
      portspath = argv[++i];
    } else if (!strcmp(argv[i], "--port-offset") && i + 1 < argc) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < -65535 || v > 65535) { usage(stderr, argv[0]); return 2; }
      s.port_offset = (int)v;
    } else if (!strcmp(argv[i], "--no-origin-frame")) {
      s.no_origin_frame = 1;
    } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout, argv[0]);
      return 0;
    } else {
      usage(stderr, argv[0]);
      return 2;
    }
  }
  if (!vhosts) { usage(stderr, argv[0]); return 2; }
  s.log = stderr;
  if (logpath && !(s.log = fopen(logpath, "a"))) { perror(logpath); return 1; }

  /* The table: cert file= and policy ca-file= are relative to its folder. */
  size_t len = 0;
  char *text = slurp(vhosts, &len);
  if (!text && errno == EFBIG) {
    fprintf(stderr, "%s: too large: a vhosts file may hold at most %zu bytes (256 MiB, "
            "MDR_VHOSTS_FILE_MAX)\n", vhosts, MDR_VHOSTS_FILE_MAX);
    return 1;
  }
  if (!text) { perror(vhosts); return 1; }
  /* Port-0 listeners: bind them now, parse the text with their real ports. */
  zero_port zp[SRV_MAX_LISTENERS];
  int nzp = find_zero_ports(text, len, zp, SRV_MAX_LISTENERS);
  if (nzp < 0) {
    fprintf(stderr, "too many listeners (max %d)\n", SRV_MAX_LISTENERS);
    free(text);
    return 1;
  }
  if (nzp > 0) {
    size_t nlen = 0;
    char *ntext = bind_zero_ports(text, len, zp, (size_t)nzp, &nlen);
    free(text);
    if (!ntext) {
      for (int i = 0; i < nzp; i++)
        if (zp[i].fd >= 0) close(zp[i].fd);
      return 1;
    }
    text = ntext;
    len = nlen;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", vhosts);
  char *slash = strrchr(dir, '/');
  mdr_str base = {".", 1};
  if (slash) {
    slash[slash == dir ? 1 : 0] = '\0';
    base.ptr = dir;
    base.len = strlen(dir);
  }
  mdr_str source = {vhosts, strlen(vhosts)};
  mdr_error err;
  memset(&err, 0, sizeof err);
  int rc = mdr_ossl_table_parse(text, len, source, base, NULL, &s.table, &err);
  free(text);
  if (rc != 0) {
    fprintf(stderr, "%s%s\n", err.message[0] ? err.message : mdr_strerror(rc),
            rc == MDR_ERR_CONFIG ? " (see docs/vhosts-file.md, misdirect-vhosts(5))" : "");
    for (int i = 0; i < nzp; i++) close(zp[i].fd);
    return 1;
  }

  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  size_t nl = mdr_table_listener_count(s.table);
  if (nl > SRV_MAX_LISTENERS) {
    fprintf(stderr, "too many listeners (max %d)\n", SRV_MAX_LISTENERS);
    for (int k = 0; k < nzp; k++) close(zp[k].fd);
    mdr_table_unref(s.table);
    return 1;
  }
  for (size_t i = 0; i < SRV_MAX_CONNS; i++) s.conns[i].fd = -1;
  int status = 0;
  for (size_t i = 0; i < nl; i++) {
    srv_listener *l = &s.lst[s.n_lst++];
    l->fd = -1;
    l->index = (mdr_index)i;
    mdr_table_listener_info(s.table, l->index, &l->info);
    int fd = -1;
    uint16_t bound = 0;
    for (int k = 0; k < nzp; k++)
      if (zp[k].fd >= 0 && zp[k].name_len == l->info.name.len &&
          memcmp(zp[k].name, l->info.name.ptr, zp[k].name_len) == 0) {
        fd = zp[k].fd; /* the listener owns it now */
        bound = zp[k].port;
        zp[k].fd = -1;
      }
    if (open_listener(&s, l, base, fd, bound) != 0) { status = 1; break; }
  }
  for (int k = 0; k < nzp; k++) /* not a listener after all (cannot happen once parsed) */
    if (zp[k].fd >= 0) close(zp[k].fd);
  if (status == 0 && portspath && write_ports_file(&s, portspath) != 0) status = 1;
  if (status == 0) srv_log(&s, "ready pid=%ld listeners=%zu", (long)getpid(), s.n_lst);

  struct pollfd pfd[SRV_MAX_LISTENERS + SRV_MAX_CONNS];
  srv_conn *who[SRV_MAX_LISTENERS + SRV_MAX_CONNS];
  while (status == 0 && !g_stop) {
    size_t n = 0, active = 0;
    for (size_t i = 0; i < SRV_MAX_CONNS; i++) active += s.conns[i].state != C_FREE;
    /* Full: listen only if a connection can be evicted for a new one. */
    int can_accept = active < SRV_MAX_CONNS || conn_victim(&s) != NULL;
    for (size_t i = 0; i < s.n_lst && can_accept; i++) {
      pfd[n].fd = s.lst[i].fd;
      pfd[n].events = POLLIN;
      who[n++] = NULL;
    }
    size_t first_conn = n;
    long long t = now_s();
    for (size_t i = 0; i < SRV_MAX_CONNS; i++) {
      srv_conn *c = &s.conns[i];
      if (c->state == C_FREE) continue;
      int ln;
      const char *name = listener_name(c, &ln);
      if (c->state == C_CLOSING && t - c->closing_since >= SRV_LINGER_SECONDS) {
        conn_close(&s, c);
        continue;
      }
      if (c->head_since && t - c->head_since >= s.head_timeout) {
        srv_log(&s, "closed conn=%llu listener=%.*s reason=head-timeout (%s not complete "
                "within %llds)", c->id, ln, name,
                c->state == C_HANDSHAKE ? "TLS handshake" : "request head",
                s.head_timeout);
        conn_close(&s, c);
        continue;
      }
      if (t - c->last_active > SRV_IDLE_SECONDS) {
        srv_log(&s, "closed conn=%llu listener=%.*s reason=idle (nothing for %ds)", c->id, ln,
                name, SRV_IDLE_SECONDS);
        conn_close(&s, c);
        continue;
      }
      pfd[n].fd = c->fd;
      pfd[n].events = (short)(POLLIN | (c->want_write || c->wlen ? POLLOUT : 0));
      who[n++] = c;
    }
    /* Work that poll() cannot see: bytes OpenSSL already decrypted, or a
     * pipelined HTTP/1.1 request waiting in our buffer. */
    int timeout = 1000;
    for (size_t i = first_conn; i < n; i++) {
      srv_conn *c = who[i];
      if (c->wlen == 0 && ((c->ssl && c->state != C_HANDSHAKE && c->state != C_CLOSING &&
                            SSL_pending(c->ssl) > 0) ||
                           (c->state == C_H1 && c->h1_again)))
        timeout = 0;
    }
    int r = poll(pfd, (nfds_t)n, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      status = 1;
      break;
    }
    for (size_t i = 0; i < first_conn; i++)
      if (pfd[i].revents & POLLIN)
        for (size_t k = 0; k < s.n_lst; k++)
          if (s.lst[k].fd == pfd[i].fd) conn_accept(&s, &s.lst[k]);
    for (size_t i = first_conn; i < n; i++) {
      srv_conn *c = who[i];
      int runnable = c->wlen == 0 && ((c->ssl && c->state != C_HANDSHAKE && c->state != C_FREE &&
                                       c->state != C_CLOSING && SSL_pending(c->ssl) > 0) ||
                                      (c->state == C_H1 && c->h1_again));
      if (!pfd[i].revents && !runnable) continue;
      if (c->state == C_FREE || c->fd != pfd[i].fd) continue;
      if (conn_io(&s, c, runnable || (pfd[i].revents & ~POLLOUT)) != 0) conn_close(&s, c);
    }
  }

  for (size_t i = 0; i < SRV_MAX_CONNS; i++)
    if (s.conns[i].state != C_FREE) conn_close(&s, &s.conns[i]);
  for (size_t i = 0; i < s.n_lst; i++) {
    if (s.lst[i].fd >= 0) close(s.lst[i].fd);
    SSL_CTX_free(s.lst[i].initial);
    mdr_ossl_set_unref(s.lst[i].set);
  }
  mdr_table_unref(s.table);
  if (status == 0) srv_log(&s, "stopped");
  if (s.log != stderr) fclose(s.log);
  return status;
}
