/*
 * Shared start-up and logging for the two integration examples
 * (h1_server.c, h2_server.c).  See docs/integration.md.
 *
 * One TLS or cleartext listener of a vhosts file, bound on 127.0.0.1, one
 * connection at a time.  Everything misdirect needs is built once at start-up
 * and only read afterwards; nothing here allocates per request.
 */
#ifndef EXAMPLE_COMMON_H
#define EXAMPLE_COMMON_H

#include <signal.h>
#include <stddef.h>

#include <misdirect/misdirect.h>
#include <misdirect/openssl.h>

#define IO_TIMEOUT_SECONDS 10    /* a silent client is dropped after this */

/* Built once by server_init, read-only afterwards. */
typedef struct server {
  mdr_table *table;              /* the frozen vhost table */
  mdr_index listener;            /* the listener this process serves */
  mdr_listener_info info;
  mdr_ossl_set *set;             /* TLS listener: one SSL_CTX per vhost */
  SSL_CTX *initial;              /* TLS listener: connections start here */
} server;

/* What the TLS info callback saw on one connection (for the log of a
 * refusal that did not come from the core). */
typedef struct tls_note {
  int alert_sent;                /* fatal TLS alert we sent, 0 if none */
} tls_note;

extern volatile sig_atomic_t g_stop; /* set by SIGTERM / SIGINT */

/* Load VHOSTS, pick LISTENER, and for a TLS listener build the context set
 * for the HTTP versions in `protocols` (MDR_PROTO_*).  Prints the error and
 * returns -1 on failure. */
int server_init(server *s, const char *vhosts_path, const char *listener, unsigned protocols);
void server_free(server *s);

/* SIGTERM/SIGINT set g_stop and interrupt accept(); SIGPIPE is ignored. */
void install_signals(void);

/* A listening socket on 127.0.0.1:port (0 = any free port); *bound gets the
 * port.  Returns the descriptor or -1. */
int listen_loopback(unsigned port, unsigned *bound);

/* Receive and send timeouts, so a silent peer cannot block the loop. */
void set_timeouts(int fd);

/* TLS handshake on fd.  Logs the outcome (for a refusal by the core: the
 * reason token and the first likely cause); on success returns the SSL and
 * fills *facts (mdr_ossl_conn_facts), else returns NULL. */
SSL *tls_accept(server *s, int fd, tls_note *note, mdr_conn *facts);

/* One log line per decision: the request, the outcome, the reason token,
 * for a refusal the likely causes and what differs between the vhosts, and
 * the one-line explanation (stderr). */
void log_decision(const server *s, const char *proto, const mdr_conn *c, const mdr_request *r,
                  const mdr_decision *d, const char *location);

/* "Misdirected Request" for 421, ... */
const char *status_text(unsigned status);

/* Printable copy of a client-supplied value for a log line (at most 80
 * bytes; other bytes become '?'; "-" when empty). */
const char *log_value(char *buf, size_t cap, const char *p, size_t len);

#endif
