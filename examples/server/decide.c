/*
 * misdirect-server: one decision per request (mdr_decide), turned into a
 * response, and one log line per decision.
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

void srv_log(srv *s, const char *fmt, ...) {
  char stamp[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fprintf(s->log, "%s ", stamp);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(s->log, fmt, ap);
  va_end(ap);
  fputc('\n', s->log);
  fflush(s->log);
}

const char *srv_status_text(unsigned status) {
  switch (status) {
  case 200: return "OK";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 421: return "Misdirected Request";
  case 425: return "Too Early";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* Copy a value for the log: at most 80 bytes, non-printable bytes as '?'. */
static const char *logval(char *buf, size_t cap, const char *p, size_t n) {
  size_t k = 0;
  while (n && (*p == ' ' || *p == '\t')) { p++; n--; }
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  if (n == 0) return "-";
  for (size_t i = 0; i < n && k + 4 < cap && i < 80; i++) {
    unsigned char ch = (unsigned char)p[i];
    buf[k++] = (ch > 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  if (n > 80 && k + 3 < cap) { buf[k++] = '.'; buf[k++] = '.'; }
  buf[k] = '\0';
  return buf;
}

void srv_decide(srv *s, srv_conn *c, const mdr_request *r, const char *proto, srv_response *out) {
  memset(out, 0, sizeof *out);
  c->answered++;
  mdr_conn facts = c->facts;
  /* Per request: early data ends with the handshake, so refresh the facts. */
  if (c->ssl) mdr_ossl_conn_facts(c->ssl, &facts);
  mdr_decision d;
  int rc = mdr_decide(s->table, &facts, r, &d, out->location, sizeof out->location);
  if (rc != 0) {
    srv_refuse(s, c, 500, "internal-error", mdr_strerror(rc), out);
    return;
  }
  out->status = d.status;
  out->reason_token = mdr_reason_token(d.reason);
  mdr_str v = mdr_vhost_name(s->table, d.vhost);
  mdr_str rv = mdr_vhost_name(s->table, d.request_vhost);
  if (d.kind == MDR_SERVE) {
    int n = snprintf(out->body, sizeof out->body, "served by vhost %.*s (%s)\n", (int)v.len, v.ptr,
                     out->reason_token);
    out->body_len = n > 0 ? (size_t)n : 0;
  } else if (d.kind == MDR_REDIRECT) {
    int n = snprintf(out->body, sizeof out->body, "redirect to %s\n", out->location);
    out->body_len = n > 0 ? (size_t)n : 0;
  } else {
    /* A refusal tells the client the status and the reason token (with the
     * token's generic text); vhost, policy and file names go to the log
     * only (the "explain" line below). */
    int n = snprintf(out->body, sizeof out->body, "%u %s (%s): %s\n", d.status,
                     srv_status_text(d.status), out->reason_token, mdr_reason_text(d.reason));
    out->body_len = n < 0 ? 0 : (size_t)n < sizeof out->body ? (size_t)n : sizeof out->body - 1;
    out->close = 1; /* HTTP/1.x: 421, 400, 425 and 501 end the connection */
  }

  /* One line per decision. */
  char b1[96], b2[96], b3[96], b4[96];
  const mdr_str *host = r->n_authority ? r->authority : r->host;
  size_t nhost = r->n_authority ? r->n_authority : r->n_host;
  srv_log(s,
          "decision conn=%llu listener=%.*s proto=%s sni=%s method=%s target=%s host=%s%s -> %u vhost=%.*s "
          "request-vhost=%.*s reason=%s%s%s",
          c->id, (int)c->lst->info.name.len, c->lst->info.name.ptr, proto,
          facts.has_sni ? logval(b1, sizeof b1, facts.sni.ptr, facts.sni.len) : "-",
          r->method.len ? logval(b2, sizeof b2, r->method.ptr, r->method.len) : "GET",
          r->has_target ? logval(b3, sizeof b3, r->target.ptr, r->target.len) : "-",
          nhost ? logval(b4, sizeof b4, host[0].ptr, host[0].len) : "-", nhost > 1 ? "(+more)" : "",
          d.status, v.len ? (int)v.len : 1, v.len ? v.ptr : "-", rv.len ? (int)rv.len : 1,
          rv.len ? rv.ptr : "-", out->reason_token, d.kind == MDR_REDIRECT ? " location=" : "",
          d.kind == MDR_REDIRECT ? out->location : "");
  if (d.kind != MDR_SERVE && d.kind != MDR_REDIRECT) {
    /* The whole explanation, for the operator: names the vhosts, their
     * certificates and TLS policies (the client's SNI comes escaped). */
    char why[1024];
    mdr_decision_explain(s->table, &facts, &d, why, sizeof why);
    srv_log(s, "explain conn=%llu %s", c->id, why);
  }
}

void srv_refuse(srv *s, srv_conn *c, unsigned status, const char *token, const char *why,
                srv_response *out) {
  memset(out, 0, sizeof *out);
  c->answered++;
  out->status = status;
  out->reason_token = token;
  int n = snprintf(out->body, sizeof out->body, "%s\n", why);
  out->body_len = n > 0 ? (size_t)n : 0;
  out->close = 1;
  srv_log(s, "refused conn=%llu listener=%.*s -> %u reason=%s (%s)", c->id,
          (int)c->lst->info.name.len, c->lst->info.name.ptr, status, token, why);
}
