/*
 * misdirect-server: a minimal, strict HTTP/1.1 request reader.  It parses
 * the request line and the header fields of one request at a time out of
 * c->in, keeps every Host value and the raw request-target for mdr_decide,
 * skips a Content-Length body, and refuses what it does not handle
 * (oversize heads, obs-fold, Transfer-Encoding, malformed lines).
 */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <string.h>

static int is_tchar(unsigned char ch) {
  if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) return 1;
  return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int ieq(const char *p, size_t n, const char *lit) {
  size_t l = strlen(lit);
  if (n != l) return 0;
  for (size_t i = 0; i < n; i++) {
    char a = p[i], b = lit[i];
    if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
    if (a != b) return 0;
  }
  return 1;
}

static void trim(const char **p, size_t *n) {
  while (*n && (**p == ' ' || **p == '\t')) { (*p)++; (*n)--; }
  while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t')) (*n)--;
}

/* Write the response into c->out and point the writer at it. */
static void respond(srv_conn *c, const srv_response *rs, int head_only, int keep_alive) {
  int close = rs->close || !keep_alive;
  int n = snprintf(c->out, sizeof c->out,
                   "HTTP/1.1 %u %s\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: %zu\r\n"
                   "misdirect-reason: %s\r\n"
                   "%s%s%s"
                   "%s"
                   "\r\n",
                   rs->status, srv_status_text(rs->status), rs->body_len, rs->reason_token,
                   rs->location[0] ? "Location: " : "", rs->location,
                   rs->location[0] ? "\r\n" : "", close ? "Connection: close\r\n" : "");
  if (n < 0 || (size_t)n >= sizeof c->out) n = 0;
  size_t len = (size_t)n;
  if (!head_only && len + rs->body_len <= sizeof c->out) {
    memcpy(c->out + len, rs->body, rs->body_len);
    len += rs->body_len;
  }
  c->wptr = (const uint8_t *)c->out;
  c->wlen = len;
  if (close) c->close_after_write = 1;
}

static void refuse(srv *s, srv_conn *c, unsigned status, const char *token, const char *why) {
  srv_response rs;
  srv_refuse(s, c, status, token, why, &rs);
  respond(c, &rs, 0, 0);
  c->in_len = 0;
}

/* Drop n bytes from the front of c->in. */
static void consume(srv_conn *c, size_t n) {
  memmove(c->in, c->in + n, c->in_len - n);
  c->in_len -= n;
}

static void skip_body(srv_conn *c) {
  size_t n = c->discard < c->in_len ? (size_t)c->discard : c->in_len;
  consume(c, n);
  c->discard -= n;
}

int h1_process(srv *s, srv_conn *c) {
  if (c->wlen > 0 || c->close_after_write) return 0;
  skip_body(c);
  if (c->discard > 0) return 0;

  /* The head ends at the first empty line. */
  const char *in = c->in, *end = NULL;
  for (size_t i = 0; i < c->in_len; i++) {
    if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) {
      refuse(s, c, 400, "bare-lf", "a line of the request head ends with LF instead of CRLF");
      return 0;
    }
    if (i + 3 < c->in_len && in[i] == '\r' && in[i + 1] == '\n' && in[i + 2] == '\r' &&
        in[i + 3] == '\n') {
      end = in + i;
      break;
    }
  }
  if (!end) {
    if (c->in_len == sizeof c->in)
      refuse(s, c, 431, "head-too-large", "the request line and headers exceed 16 KiB");
    return 0;
  }
  size_t head_len = (size_t)(end - in) + 4;

  /* Request line: method SP request-target SP HTTP-version */
  const char *eol = memchr(in, '\r', (size_t)(end - in) + 2);
  const char *sp1 = memchr(in, ' ', (size_t)(eol - in));
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (!sp1 || !sp2 || sp1 == in || sp2 == sp1 + 1 || eol[1] != '\n') {
    refuse(s, c, 400, "malformed-request-line", "the request line is not METHOD SP TARGET SP VERSION");
    return 0;
  }
  for (const char *p = in; p < sp1; p++)
    if (!is_tchar((unsigned char)*p)) {
      refuse(s, c, 400, "malformed-request-line", "the method is not a token");
      return 0;
    }
  const char *ver = sp2 + 1;
  size_t ver_len = (size_t)(eol - ver);
  mdr_request r;
  memset(&r, 0, sizeof r);
  if (ver_len == 8 && memcmp(ver, "HTTP/1.1", 8) == 0) {
    r.version = MDR_HTTP_1_1;
  } else if (ver_len == 8 && memcmp(ver, "HTTP/1.0", 8) == 0) {
    r.version = MDR_HTTP_1_0;
  } else if (ver_len == 8 && memcmp(ver, "HTTP/", 5) == 0 && ver[6] == '.') {
    refuse(s, c, 505, "version-not-supported", "only HTTP/1.0 and HTTP/1.1 are spoken in text");
    return 0;
  } else {
    refuse(s, c, 400, "malformed-request-line", "the HTTP version is malformed");
    return 0;
  }
  r.method.ptr = in;
  r.method.len = (size_t)(sp1 - in);
  r.has_target = 1;
  r.target.ptr = sp1 + 1;
  r.target.len = (size_t)(sp2 - sp1 - 1);

  /* Header fields. */
  mdr_str hosts[SRV_MAX_HOSTS];
  size_t n_hosts = 0;
  int has_cl = 0, conn_close = 0, keep_alive = 0;
  unsigned long long cl = 0;
  for (const char *line = eol + 2; line < end + 2;) {
    const char *le = line;
    while (le < end + 2 && *le != '\r' && *le != '\n') le++;
    if (le >= end + 2 || le[0] != '\r' || le[1] != '\n') {
      refuse(s, c, 400, "malformed-header", "a header line does not end with CRLF");
      return 0;
    }
    if (le == line) break; /* the empty line */
    if (*line == ' ' || *line == '\t') {
      refuse(s, c, 400, "obs-fold", "obsolete line folding is not accepted");
      return 0;
    }
    const char *colon = line;
    while (colon < le && is_tchar((unsigned char)*colon)) colon++;
    if (colon == line || colon == le || *colon != ':') {
      refuse(s, c, 400, "malformed-header", "a header name is not a token followed by ':'");
      return 0;
    }
    const char *val = colon + 1;
    size_t name_len = (size_t)(colon - line), val_len = (size_t)(le - val);
    if (ieq(line, name_len, "host")) {
      if (n_hosts < SRV_MAX_HOSTS) {
        hosts[n_hosts].ptr = val; /* raw: the core trims OWS itself */
        hosts[n_hosts].len = val_len;
      }
      n_hosts++;
    } else if (ieq(line, name_len, "content-length")) {
      const char *v = val;
      size_t vl = val_len;
      trim(&v, &vl);
      unsigned long long x = 0;
      if (vl == 0 || vl > 12) goto bad_cl;
      for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9') goto bad_cl;
        x = x * 10 + (unsigned)(v[i] - '0');
      }
      if (has_cl && x != cl) goto bad_cl;
      has_cl = 1;
      cl = x;
    } else if (ieq(line, name_len, "transfer-encoding")) {
      refuse(s, c, 501, "transfer-encoding", "this example server reads no chunked request bodies");
      return 0;
    } else if (ieq(line, name_len, "connection")) {
      const char *v = val;
      size_t vl = val_len;
      trim(&v, &vl);
      if (ieq(v, vl, "close")) conn_close = 1;
      if (ieq(v, vl, "keep-alive")) keep_alive = 1;
    }
    line = le + 2;
  }
  r.host = hosts;
  r.n_host = n_hosts < SRV_MAX_HOSTS ? n_hosts : SRV_MAX_HOSTS;

  srv_response rs;
  srv_decide(s, c, &r, r.version == MDR_HTTP_1_0 ? "http/1.0" : "http/1.1", &rs);
  int keep = r.version == MDR_HTTP_1_1 ? !conn_close : (keep_alive && !conn_close);
  respond(c, &rs, ieq(r.method.ptr, r.method.len, "head"), keep);

  consume(c, head_len);
  c->discard = cl;
  skip_body(c);
  c->h1_again = c->in_len > 0 && c->discard == 0 && !c->close_after_write;
  return 0;

bad_cl:
  refuse(s, c, 400, "bad-content-length", "Content-Length is not a single decimal number");
  return 0;
}
