/*
 * h1_server — a small, complete HTTP/1.1 server using misdirect: the OpenSSL
 * adapter picks the vhost in the ClientHello, and every request goes through
 * mdr_decide before anything else looks at it.  See docs/integration.md.
 *
 *   h1_server VHOSTS LISTENER [PORT]
 *
 * Serves LISTENER of the vhosts file (TLS or cleartext) on 127.0.0.1:PORT
 * (default: the listener's port; 0 = any free port) and prints
 * "listening 127.0.0.1:PORT" on stdout.  One connection at a time, one log
 * line per handshake and per decision on stderr.  SIGTERM or SIGINT stop it.
 */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192            /* request line + header fields */
#define MAX_HOSTS 8              /* Host fields kept (two already mean 400) */
#define MAX_REQUESTS 100         /* per connection */

/* One connection.  Requests are parsed in place in `in`. */
typedef struct conn {
  int fd;
  SSL *ssl;                      /* NULL on a cleartext listener */
  mdr_conn facts;                /* connection facts for mdr_decide */
  char in[HEAD_MAX];
  size_t in_len;
} conn;

/* One request; every mdr_str points into conn.in. */
typedef struct request {
  mdr_request r;
  mdr_str hosts[MAX_HOSTS];
  int has_body;                  /* Content-Length > 0 or Transfer-Encoding */
  int keep_alive;
} request;

static long conn_read(conn *c, char *buf, size_t cap) {
  if (c->ssl) {
    int n = SSL_read(c->ssl, buf, cap > 65536 ? 65536 : (int)cap);
    return n > 0 ? n : -1;
  }
  ssize_t n = recv(c->fd, buf, cap, 0);
  return n > 0 ? (long)n : -1;
}

static int conn_write(conn *c, const char *p, size_t len) {
  while (len > 0) { /* bounded: every pass writes at least one byte or fails */
    long n;
    if (c->ssl) {
      n = SSL_write(c->ssl, p, len > 65536 ? 65536 : (int)len);
    } else {
      n = (long)send(c->fd, p, len, 0);
      if (n < 0 && errno == EINTR) continue;
    }
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Length of the request head (through the blank line) in c->in, 0 if the
 * peer closed, timed out, or sent a head that does not fit (a production
 * server would answer 431 there). */
static size_t read_head(conn *c) {
  for (;;) { /* bounded: every pass adds a byte to a fixed buffer, or returns */
    for (size_t i = 3; i < c->in_len; i++)
      if (memcmp(c->in + i - 3, "\r\n\r\n", 4) == 0) return i + 1;
    if (c->in_len == sizeof c->in) return 0;
    long n = conn_read(c, c->in + c->in_len, sizeof c->in - c->in_len);
    if (n <= 0) return 0;
    c->in_len += (size_t)n;
  }
}

/* Split the head into what mdr_decide needs.  No allocation, no copies:
 * the values keep their optional whitespace, which the core trims from
 * Host.  Returns -1 for a head this little parser cannot read. */
static int parse_head(char *p, size_t len, request *q) {
  memset(q, 0, sizeof *q);
  char *end = p + len - 2; /* the final CRLF */
  char *eol = memchr(p, '\r', (size_t)(end - p));
  char *sp1 = eol ? memchr(p, ' ', (size_t)(eol - p)) : NULL;
  char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (!sp2 || sp1 == p || eol - sp2 != 9) return -1;
  if (memcmp(sp2 + 1, "HTTP/1.1", 8) == 0) {
    q->r.version = MDR_HTTP_1_1;
    q->keep_alive = 1;
  } else if (memcmp(sp2 + 1, "HTTP/1.0", 8) == 0) {
    q->r.version = MDR_HTTP_1_0;
  } else {
    return -1;
  }
  q->r.method = (mdr_str){p, (size_t)(sp1 - p)};
  q->r.has_target = 1; /* the core judges the target's bytes and form */
  q->r.target = (mdr_str){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
  for (char *line = eol + 2; line < end;) { /* bounded by the head's length */
    char *le = memchr(line, '\r', (size_t)(end + 2 - line));
    char *colon = le ? memchr(line, ':', (size_t)(le - line)) : NULL;
    if (!colon || le[1] != '\n' || colon == line || *line == ' ' || *line == '\t') return -1;
    size_t nlen = (size_t)(colon - line);
    mdr_str value = {colon + 1, (size_t)(le - colon - 1)};
    if (nlen == 4 && strncasecmp(line, "host", 4) == 0) {
      if (q->r.n_host < MAX_HOSTS) q->hosts[q->r.n_host++] = value;
    } else if (nlen == 14 && strncasecmp(line, "content-length", 14) == 0) {
      for (size_t i = 0; i < value.len; i++)
        if (value.ptr[i] >= '1' && value.ptr[i] <= '9') q->has_body = 1;
    } else if (nlen == 17 && strncasecmp(line, "transfer-encoding", 17) == 0) {
      q->has_body = 1;
    } else if (nlen == 10 && strncasecmp(line, "connection", 10) == 0) {
      for (size_t i = 0; i + 5 <= value.len; i++)
        if (strncasecmp(value.ptr + i, "close", 5) == 0) q->keep_alive = 0;
    }
    line = le + 2;
  }
  q->r.host = q->hosts;
  return 0;
}

/* Decide one request and answer it.  Returns 1 to keep the connection. */
static int answer(server *s, conn *c, request *q) {
  char loc[HEAD_MAX + 512];      /* a Location is at most the target + scheme://host:port */
  char out[HEAD_MAX + 1024];
  mdr_decision d;
  /* Per request: the facts can change during a connection (early data
   * ends with the handshake), so ask the adapter again. */
  if (c->ssl) mdr_ossl_conn_facts(c->ssl, &c->facts);
  int rc = mdr_decide(s->table, &c->facts, &q->r, &d, loc, sizeof loc);
  if (rc != 0) { /* MDR_ERR_*: a bug or an impossible Location, never a client error */
    fprintf(stderr, "mdr_decide: %s\n", mdr_strerror(rc));
    static const char e500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    conn_write(c, e500, sizeof e500 - 1);
    return 0;
  }
  log_decision(s, q->r.version == MDR_HTTP_1_0 ? "http/1.0" : "http/1.1", &c->facts, &q->r, &d,
               loc);

  const char *token = mdr_reason_token(d.reason);
  int keep = q->keep_alive && !q->has_body && (d.kind == MDR_SERVE || d.kind == MDR_REDIRECT);
  int head_only = q->r.method.len == 4 && memcmp(q->r.method.ptr, "HEAD", 4) == 0;
  char body[768];
  int blen;
  if (d.kind == MDR_SERVE) {
    /* A real server hands the request to vhost d.vhost here. */
    mdr_str v = mdr_vhost_name(s->table, d.vhost);
    blen = snprintf(body, sizeof body, "served by vhost %.*s\n", (int)v.len, v.ptr);
  } else if (d.kind == MDR_REDIRECT) {
    blen = 0;
  } else {
    /* 421, 400, 425, 501: the status, the stable token and the generic
     * one-line text.  The specific explanation (names of vhosts and
     * policies) went to the log above. */
    blen = snprintf(body, sizeof body, "%u %s (%s): %s\n", d.status, status_text(d.status), token,
                    mdr_reason_text(d.reason));
  }
  if (blen < 0) blen = 0;
  if ((size_t)blen >= sizeof body) blen = (int)sizeof body - 1;

  int n = snprintf(out, sizeof out,
                   "HTTP/1.1 %u %s\r\n"
                   "%s%.*s%s"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %d\r\n"
                   "Misdirect-Reason: %s\r\n"
                   "%s"
                   "%s\r\n",
                   d.status, status_text(d.status), d.kind == MDR_REDIRECT ? "Location: " : "",
                   d.kind == MDR_REDIRECT ? (int)d.location_len : 0, loc,
                   d.kind == MDR_REDIRECT ? "\r\n" : "", blen, token,
                   d.kind == MDR_MISDIRECTED ? "Cache-Control: no-store\r\n" : "",
                   keep ? "" : "Connection: close\r\n");
  if (n < 0 || (size_t)n >= sizeof out) return 0;
  if (conn_write(c, out, (size_t)n) != 0) return 0;
  if (!head_only && blen > 0 && conn_write(c, body, (size_t)blen) != 0) return 0;
  return keep;
}

static void serve_connection(server *s, int fd) {
  static conn c; /* one connection at a time: no allocation, no large stack frame */
  memset(&c, 0, sizeof c);
  c.fd = fd;
  c.facts.listener = s->listener; /* cleartext: the listener is the only fact */
  tls_note note;
  if (s->initial && !(c.ssl = tls_accept(s, fd, &note, &c.facts))) return;

  for (int k = 0; k < MAX_REQUESTS && !g_stop; k++) {
    size_t head = read_head(&c);
    if (head == 0) break;
    request q;
    if (parse_head(c.in, head, &q) != 0) {
      static const char e400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
      fprintf(stderr, "malformed request head: 400\n");
      conn_write(&c, e400, sizeof e400 - 1);
      break;
    }
    int keep = answer(s, &c, &q);
    /* Keep what the client pipelined after this head. */
    memmove(c.in, c.in + head, c.in_len - head);
    c.in_len -= head;
    if (!keep) break;
  }
  if (c.ssl) {
    SSL_shutdown(c.ssl);
    SSL_free(c.ssl);
  }
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s VHOSTS LISTENER [PORT]\n", argv[0]);
    return 2;
  }
  install_signals();
  server s;
  if (server_init(&s, argv[1], argv[2], MDR_PROTO_H1) != 0) {
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
