/*
 * misdirect-server: an example HTTP server built on misdirect, its OpenSSL
 * adapter and its nghttp2 glue.  Small and readable, not a product: one
 * thread, one poll() loop, bounded connections and buffers, loopback only.
 */
#ifndef MISDIRECT_EXAMPLE_SERVER_H
#define MISDIRECT_EXAMPLE_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <misdirect/misdirect.h>
#include <misdirect/nghttp2.h>
#include <misdirect/openssl.h>

#define SRV_MAX_CONNS 64           /* open client connections */
#define SRV_MAX_LISTENERS 16
#define SRV_HEAD_MAX 16384         /* HTTP/1.1 request line + headers */
#define SRV_OUT_MAX 8192           /* one HTTP/1.1 response */
#define SRV_MAX_HOSTS 8            /* Host values kept (more are still counted as "many") */
#define SRV_IDLE_SECONDS 30        /* between requests */
#define SRV_HEAD_SECONDS 10        /* default --head-timeout: handshake + whole request head */
#define SRV_LINGER_SECONDS 2       /* reading what a client still sends after our last response */
#define SRV_LINGER_MAX (1 << 20)   /* bytes read and dropped while lingering */
#define SRV_BODY_MAX 2048          /* response body */

typedef struct srv_listener {
  int fd;
  mdr_index index;
  mdr_listener_info info;
  uint16_t bind_port;
  mdr_ossl_set *set;               /* TLS listeners */
  SSL_CTX *initial;                /* TLS listeners */
} srv_listener;

/* C_CLOSING: the last response is out and our side is shut down; what the
 * client still sends is read and dropped (a "lingering close"), so closing
 * with unread data does not reset the connection before the client has
 * read that response (a 431 to a 100 KB request head). */
typedef enum conn_state { C_FREE = 0, C_HANDSHAKE, C_SNIFF, C_H1, C_H2, C_CLOSING } conn_state;

typedef struct srv_conn {
  conn_state state;
  unsigned long long id;           /* conn= in the log: 1, 2, ... per server run */
  int fd;
  srv_listener *lst;
  SSL *ssl;                        /* NULL on cleartext */
  mdr_conn facts;                  /* connection facts (origin set included on h2) */
  long long last_active;           /* last byte read or written (idle timeout) */
  long long head_since;            /* a handshake or request head is pending since (0 = none) */
  long long progress;              /* accepted, or last request answered (eviction order) */
  long long closing_since;         /* C_CLOSING since */
  unsigned long long answered;     /* responses decided or refused */
  size_t drained;                  /* bytes dropped while lingering */
  int want_write;                  /* the transport needs POLLOUT */
  int close_after_write;
  int alert_sent;                  /* TLS alert we sent (-1 = none) */
  int alert_recv;                  /* TLS alert the client sent (-1 = none) */
  int cert_requested;              /* the handshake sent a CertificateRequest */
  /* input (HTTP/1.1 head, or the first bytes on cleartext) */
  char in[SRV_HEAD_MAX];
  size_t in_len;
  unsigned long long discard;      /* request body bytes still to skip */
  int h1_again;                    /* c->in may hold another (pipelined) request */
  /* output: the current chunk being written */
  char out[SRV_OUT_MAX];
  const uint8_t *wptr;
  size_t wlen;
  /* HTTP/2 */
  nghttp2_session *h2;
  void *h2_ctx;                    /* http2.c's per-connection state */
  mdr_ngh2_origins origins;
  size_t origin_frames;
} srv_conn;

typedef struct srv {
  mdr_table *table;
  srv_listener lst[SRV_MAX_LISTENERS];
  size_t n_lst;
  srv_conn conns[SRV_MAX_CONNS];
  FILE *log;
  int port_offset;
  int no_origin_frame;             /* --no-origin-frame: a control for browser tests */
  unsigned long long next_id;      /* the last connection id given out */
  long long head_timeout;          /* --head-timeout seconds */
} srv;

/* The response a decision turns into (shared by HTTP/1.1 and HTTP/2). */
typedef struct srv_response {
  unsigned status;
  const char *reason_token;        /* misdirect-reason header value */
  char location[1024];             /* empty unless a redirect */
  char body[SRV_BODY_MAX];
  size_t body_len;
  int close;                       /* HTTP/1.x: Connection: close */
} srv_response;

/* decide.c: run mdr_decide on a request and build the response; logs one line. */
void srv_decide(srv *s, srv_conn *c, const mdr_request *r, const char *proto, srv_response *out);
/* A response for a request the example itself refused before deciding. */
void srv_refuse(srv *s, srv_conn *c, unsigned status, const char *token, const char *why,
                srv_response *out);
void srv_log(srv *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
const char *srv_status_text(unsigned status);

/* http1.c: parse and answer what is in c->in; returns 0, or -1 to close now. */
int h1_process(srv *s, srv_conn *c);

/* http2.c */
int h2_start(srv *s, srv_conn *c, int tls);
/* Feed received bytes; -1 = close the connection. */
int h2_recv(srv_conn *c, const uint8_t *data, size_t len);
/* Next chunk to write into c->wptr/wlen (0 = nothing); -1 = error. */
int h2_next_chunk(srv_conn *c);
int h2_done(const srv_conn *c);
void h2_free(srv_conn *c);

#endif
