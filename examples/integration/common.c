/*
 * Shared start-up and logging for the integration examples.  See common.h
 * and docs/integration.md.
 */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>

volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a signal interrupts accept() */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* Read a whole (small) file into memory. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
    if (n == cap) {
      char *nb = cap < (1u << 24) ? realloc(buf, cap *= 2) : NULL; /* 16 MiB at most */
      if (!nb) {
        free(buf);
        buf = NULL;
      }
      buf = nb;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

/* ------------------------------------------------------------------------ */
/* Start-up                                                                  */
/* ------------------------------------------------------------------------ */

/* One lint finding, in the format of `misdirect lint`. */
static int print_finding(void *user, const mdr_lint_finding *f) {
  fprintf(stderr, "%s:%u: warning: %s [%s]\n", (const char *)user, f->line, f->message,
          mdr_lint_token(f->id));
  return 0;
}

int server_init(server *s, const char *vhosts_path, const char *listener, unsigned protocols) {
  memset(s, 0, sizeof *s);
  /* cert file=, key= and ca-file= are relative to the vhosts file. */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", vhosts_path);
  char *slash = strrchr(dir, '/');
  mdr_str base = {".", 1};
  if (slash) {
    *slash = '\0';
    base.ptr = dir[0] ? dir : "/";
    base.len = strlen(base.ptr);
  }

  size_t len = 0;
  char *text = slurp(vhosts_path, &len);
  if (!text) {
    perror(vhosts_path);
    return -1;
  }
  mdr_error err;
  memset(&err, 0, sizeof err);
  mdr_str source = {vhosts_path, strlen(vhosts_path)};
  /* cert statements with file= learn their names from the certificates. */
  int rc = mdr_ossl_table_parse(text, len, source, base, NULL, &s->table, &err);
  free(text);
  if (rc != 0) {
    fprintf(stderr, "%s\n", err.message);
    return -1;
  }

  /* Configurations that lead to 421s later (since 0.2.0): report, go on. */
  if ((rc = mdr_table_lint(s->table, print_finding, (void *)vhosts_path)) < 0)
    fprintf(stderr, "lint: %s\n", mdr_strerror(rc));

  mdr_str name = {listener, strlen(listener)};
  if (mdr_table_find_listener(s->table, name, &s->listener) != 0 ||
      mdr_table_listener_info(s->table, s->listener, &s->info) != 0) {
    fprintf(stderr, "%s: no listener '%s'\n", vhosts_path, listener);
    return -1;
  }
  if (!s->info.tls) return 0;

  /* One SSL_CTX per vhost, loaded from the table (certificate, key,
   * client-auth, CA set, protocol floor). */
  mdr_ossl_set_options opts;
  memset(&opts, 0, sizeof opts);
  opts.base_dir = base;
  opts.alpn = MDR_OSSL_ALPN_STRICT;
  opts.protocols = protocols;
  if ((rc = mdr_ossl_set_new(&s->set, s->table, name, &opts, &err)) != 0) {
    fprintf(stderr, "%s\n", err.message[0] ? err.message : mdr_strerror(rc));
    return -1;
  }
  /* The initial context needs no certificate: the adapter's ClientHello
   * callback switches every connection to its vhost's context. */
  s->initial = SSL_CTX_new(TLS_server_method());
  if (!s->initial) return -1;
  if ((rc = mdr_ossl_install(s->set, s->initial, &err)) != 0) {
    fprintf(stderr, "install: %s\n", err.message[0] ? err.message : mdr_strerror(rc));
    return -1;
  }
  return 0;
}

void server_free(server *s) {
  SSL_CTX_free(s->initial);
  mdr_ossl_set_unref(s->set);
  mdr_table_unref(s->table);
  memset(s, 0, sizeof *s);
}

int listen_loopback(unsigned port, unsigned *bound) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (port > 65535 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
    close(fd);
    return -1;
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

void set_timeouts(int fd) {
  struct timeval tv = {IO_TIMEOUT_SECONDS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

const char *log_value(char *buf, size_t cap, const char *p, size_t len) {
  size_t k = 0;
  while (len > 0 && (*p == ' ' || *p == '\t')) { /* a Host value keeps its OWS */
    p++;
    len--;
  }
  while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
  if (len == 0 || cap < 8) return "-";
  for (size_t i = 0; i < len && i < 80 && k + 4 < cap; i++) {
    unsigned char ch = (unsigned char)p[i];
    buf[k++] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  if (len > 80) {
    buf[k++] = '.';
    buf[k++] = '.';
  }
  buf[k] = '\0';
  return buf;
}

/* Append to a log line; never overflows, truncates quietly. */
static void append(char *line, size_t cap, size_t *k, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void append(char *line, size_t cap, size_t *k, const char *fmt, ...) {
  if (*k >= cap - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line + *k, cap - *k, fmt, ap);
  va_end(ap);
  if (n > 0) *k = (size_t)n < cap - *k ? *k + (size_t)n : cap - 1;
}

/* ------------------------------------------------------------------------ */
/* The TLS handshake                                                         */
/* ------------------------------------------------------------------------ */

/* Remember the fatal alert we sent (a refused handshake). */
static void on_tls_info(const SSL *ssl, int where, int ret) {
  if (!(where & SSL_CB_WRITE_ALERT) || (ret >> 8) != SSL3_AL_FATAL) return;
  tls_note *n = SSL_get_app_data(ssl);
  if (n) n->alert_sent = ret & 0xff;
}

/* The core refused the ClientHello (unknown or invalid SNI, or none): log
 * its reason and the most likely cause. */
static void log_refused_handshake(const server *s, const mdr_handshake_result *hs) {
  char b1[96];
  /* The raw SNI went with the ClientHello; hs keeps the normalised name
   * when it was a valid one.  Only sni-missing means there was none. */
  int has_sni = hs->reason != MDR_REASON_SNI_MISSING;
  const char *sni = hs->sni_valid ? hs->sni : "";
  size_t sni_len = hs->sni_valid ? hs->sni_len : 0;
  mdr_explanation x;
  int ok = mdr_explain_handshake(s->table, s->listener, has_sni, sni, sni_len, hs, &x) == 0 &&
           x.n_causes > 0;
  fprintf(stderr, "handshake refused: alert %s reason=%s sni=%s cause=%s: %s\n",
          mdr_alert_name(hs->alert), mdr_reason_token(hs->reason),
          has_sni ? log_value(b1, sizeof b1, sni, sni_len) : "-",
          ok ? mdr_cause_token(x.causes[0]) : "-", mdr_reason_text(hs->reason));
}

SSL *tls_accept(server *s, int fd, tls_note *note, mdr_conn *facts) {
  char b1[96];
  memset(note, 0, sizeof *note);
  SSL *ssl = SSL_new(s->initial);
  if (!ssl) return NULL;
  SSL_set_fd(ssl, fd);
  SSL_set_app_data(ssl, note); /* index 0 is ours; the adapter never uses it */
  SSL_set_info_callback(ssl, on_tls_info);
  if (SSL_accept(ssl) != 1) {
    unsigned long e = ERR_peek_last_error();
    char why[256];
    ERR_error_string_n(e, why, sizeof why);
    /* Since 0.2.0 the adapter keeps the core's result of a refused
     * ClientHello too. */
    const mdr_handshake_result *hs = mdr_ossl_conn_handshake(ssl);
    if (hs && hs->outcome == MDR_HS_ALERT) {
      log_refused_handshake(s, hs);
    } else if (note->alert_sent) {
      /* Refused by TLS itself: no client certificate, no common ALPN, ... */
      const char *a = mdr_alert_name((unsigned)note->alert_sent);
      if (strcmp(a, "unknown_alert") == 0) a = SSL_alert_desc_string_long(note->alert_sent);
      fprintf(stderr, "handshake refused: alert %s (%s)\n", a, e ? why : "-");
    } else {
      fprintf(stderr, "handshake failed (%s)\n", e ? why : "connection closed");
    }
    ERR_clear_error();
    SSL_free(ssl);
    return NULL;
  }
  memset(facts, 0, sizeof *facts);
  if (mdr_ossl_conn_facts(ssl, facts) != 0) { /* not a connection the adapter accepted */
    SSL_free(ssl);
    return NULL;
  }
  mdr_str hv = mdr_vhost_name(s->table, facts->has_hs_vhost ? facts->hs_vhost : MDR_NONE);
  const mdr_handshake_result *hs = mdr_ossl_conn_handshake(ssl);
  fprintf(stderr, "handshake sni=%s -> vhost %.*s (%s) alpn=%.*s%s\n",
          facts->has_sni ? log_value(b1, sizeof b1, facts->sni.ptr, facts->sni.len) : "-",
          (int)hv.len, hv.ptr, hs ? mdr_reason_token(hs->reason) : "-",
          facts->has_alpn ? (int)facts->alpn.len : 1, facts->has_alpn ? facts->alpn.ptr : "-",
          facts->resumed ? " resumed" : "");
  return ssl;
}

/* ------------------------------------------------------------------------ */
/* Per request                                                               */
/* ------------------------------------------------------------------------ */

const char *status_text(unsigned status) {
  switch (status) {
  case 200: return "OK";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 421: return "Misdirected Request";
  case 425: return "Too Early";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  default: return "Unknown";
  }
}

void log_decision(const server *s, const char *proto, const mdr_conn *c, const mdr_request *r,
                  const mdr_decision *d, const char *location) {
  char line[2048], why[768], b1[96], b2[96], b3[96];
  size_t k = 0;
  int rc;
  /* The specific explanation names the SNI, the host and both vhosts with
   * their policies: for the operator's log, not for the client. */
  mdr_decision_explain(s->table, c, d, why, sizeof why);
  const mdr_str *host = r->n_authority ? r->authority : r->host;
  size_t n_host = r->n_authority ? r->n_authority : r->n_host;
  mdr_str v = mdr_vhost_name(s->table, d->vhost);
  mdr_str rv = mdr_vhost_name(s->table, d->request_vhost);
  append(line, sizeof line, &k,
         "decision %s sni=%s host=%s target=%s -> %u %s rule=%u vhost=%.*s request-vhost=%.*s", proto,
         c->has_sni ? log_value(b1, sizeof b1, c->sni.ptr, c->sni.len) : "-",
         n_host ? log_value(b2, sizeof b2, host[0].ptr, host[0].len) : "-",
         r->has_target ? log_value(b3, sizeof b3, r->target.ptr, r->target.len) : "-", d->status,
         mdr_reason_token(d->reason), d->rule, v.len ? (int)v.len : 1, v.len ? v.ptr : "-",
         rv.len ? (int)rv.len : 1, rv.len ? rv.ptr : "-");
  /* For a refusal, structured fields (since 0.2.0): the likely causes and
   * what differs between the request vhost and the handshake vhost. */
  mdr_explanation x;
  if (d->kind == MDR_SERVE || d->kind == MDR_REDIRECT) {
    /* served or redirected as configured: nothing to explain */
  } else if ((rc = mdr_explain_decision(s->table, c, r, d, &x)) != 0) {
    append(line, sizeof line, &k, " explain-error=%s", mdr_strerror(rc));
  } else {
    static const struct { unsigned bit; const char *name; } diff[] = {
        {MDR_DIFF_CLIENT_AUTH, "client-auth"}, {MDR_DIFF_CA, "ca"}, {MDR_DIFF_MIN_TLS, "min-tls"},
        {MDR_DIFF_CERT, "cert"}, {MDR_DIFF_VHOST, "vhost"}};
    append(line, sizeof line, &k, " causes=%s", x.n_causes ? "" : "-");
    for (size_t i = 0; i < x.n_causes && i < MDR_EXPLAIN_MAX_CAUSES; i++)
      append(line, sizeof line, &k, "%s%s", i ? "," : "", mdr_cause_token(x.causes[i]));
    append(line, sizeof line, &k, " differs=%s", x.differs ? "" : "-");
    for (size_t i = 0, first = 1; i < sizeof diff / sizeof diff[0]; i++)
      if (x.differs & diff[i].bit) {
        append(line, sizeof line, &k, "%s%s", first ? "" : ",", diff[i].name);
        first = 0;
      }
  }
  if (d->kind == MDR_REDIRECT) append(line, sizeof line, &k, " location=%s", location);
  append(line, sizeof line, &k, ": %s", why);
  fprintf(stderr, "%s\n", line);
}
