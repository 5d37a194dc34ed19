/*
 * Decision-case line parser (see cases.h).  No heap, no global state: every
 * function is a pure function of its arguments, so it can be fuzzed.
 */
#include "cases.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }
static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

static int str_eq(mdr_str s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

/* Write a formatted one-line message into err (always NUL-terminated). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(char *err, size_t cap, const char *fmt, ...) {
  if (err && cap) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/*
 * Printable, bounded copy of some bytes for an error message: non-printable
 * bytes become '?', long values are cut with "...".
 */
static const char *shown(mdr_str s, char *buf, size_t cap) {
  size_t o = 0, i;
  size_t lim = cap > 4 ? cap - 4 : 0;
  for (i = 0; i < s.len && o < lim; i++) {
    unsigned char ch = (unsigned char)s.ptr[i];
    buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  if (i < s.len && cap >= 4) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  if (cap) buf[o < cap ? o : cap - 1] = '\0';
  return buf;
}

/* ------------------------------------------------------------------------ */
/* Canonical https origins                                                   */
/* ------------------------------------------------------------------------ */




int mdrc_origin_is_canonical(const char *s, size_t len) {
  static const char prefix[] = "https://";
  const size_t pl = sizeof prefix - 1;
  if (!s || len <= pl || memcmp(s, prefix, pl) != 0) return 0;
  const char *h = s + pl;
  size_t n = len - pl;
  size_t host_end = 0;
  if (h[0] == '[') {
    const char *close = memchr(h, ']', n);
    if (!close) return 0;
    host_end = (size_t)(close - h) + 1;
  } else {
    while (host_end < n && h[host_end] != ':') host_end++;
  }
  /* Canonical = what the core's normaliser makes of it, byte for byte
   * (lower case, no trailing dot, RFC 5952 IPv6 with the core's mixed
   * notation), so the tool accepts exactly the origins the core advertises. */
  mdr_authority a;
  int valid = 0;
  if (mdr_authority_parse(h, host_end, 0, &a, &valid, NULL) != 0 || !valid) return 0;
  if (a.port != 0 || a.host_len != host_end || memcmp(a.host, h, host_end) != 0) return 0;
  if (host_end == n) return 1;
  if (h[host_end] != ':') return 0;
  const char *pp = h + host_end + 1;
  size_t pn = n - host_end - 1;
  if (pn == 0 || pn > 5 || pp[0] == '0') return 0;
  unsigned long v = 0;
  for (size_t i = 0; i < pn; i++) {
    if (!is_digit(pp[i])) return 0;
    v = v * 10 + (unsigned long)(pp[i] - '0');
  }
  return v >= 1 && v <= 65535 && v != 443;
}

/* ------------------------------------------------------------------------ */
/* Case lines                                                                */
/* ------------------------------------------------------------------------ */

enum {
  KEY_LISTENER, KEY_SNI, KEY_ALPN, KEY_RESUMED, KEY_EARLY_DATA, KEY_ECH, KEY_ORIGIN_SET,
  KEY_VERSION, KEY_METHOD, KEY_TARGET, KEY_SCHEME, KEY_AUTHORITY, KEY_HOST, KEY_COUNT_
};

static const struct {
  const char *name;
  unsigned bit;
} keys[KEY_COUNT_] = {
  { "listener", MDRC_K_LISTENER },   { "sni", MDRC_K_SNI },
  { "alpn", MDRC_K_ALPN },           { "resumed", MDRC_K_RESUMED },
  { "early-data", MDRC_K_EARLY_DATA }, { "ech", MDRC_K_ECH },
  { "origin-set", MDRC_K_ORIGIN_SET }, { "version", MDRC_K_VERSION },
  { "method", MDRC_K_METHOD },       { "target", MDRC_K_TARGET },
  { "scheme", MDRC_K_SCHEME },       { "authority", MDRC_K_AUTHORITY },
  { "host", MDRC_K_HOST },
};

static int find_key(mdr_str k) {
  for (int i = 0; i < KEY_COUNT_; i++)
    if (str_eq(k, keys[i].name)) return i;
  return -1;
}

static const char *key_name(unsigned bit) {
  for (int i = 0; i < KEY_COUNT_; i++)
    if (keys[i].bit == bit) return keys[i].name;
  return "?";
}

/* Decode escapes of `raw` into the arena.  Returns 0 or -1 (message set). */
static int decode(mdrc_case *c, mdr_str raw, const char *what, mdr_str *out, char *err,
                  size_t cap) {
  char *dst = c->arena + c->arena_len;
  size_t room = sizeof c->arena - c->arena_len;
  size_t o = 0;
  for (size_t i = 0; i < raw.len; i++) {
    char ch = raw.ptr[i];
    if (ch == '\\') {
      if (i + 1 >= raw.len) return fail(err, cap, "%s: '\\' at the end of the value", what);
      char e = raw.ptr[i + 1];
      if (e == 's') {
        ch = ' ';
        i++;
      } else if (e == '\\') {
        ch = '\\';
        i++;
      } else if (e == 'x') {
        int hi = i + 2 < raw.len ? hexval(raw.ptr[i + 2]) : -1;
        int lo = i + 3 < raw.len ? hexval(raw.ptr[i + 3]) : -1;
        if (hi < 0 || lo < 0)
          return fail(err, cap, "%s: '\\x' must be followed by two hex digits", what);
        ch = (char)(hi * 16 + lo);
        i += 3;
      } else {
        return fail(err, cap, "%s: unknown escape '\\%c' (use \\xHH, \\s or \\\\)", what,
                    (e >= 0x20 && e < 0x7f) ? e : '?');
      }
    }
    if (o >= room) return fail(err, cap, "line too long");
    dst[o++] = ch;
  }
  out->ptr = dst;
  out->len = o;
  c->arena_len += o;
  return 0;
}

/* Next blank-separated token from *pos; returns 0 at the end of the line. */
static int next_token(const char *p, size_t len, size_t *pos, mdr_str *tok) {
  size_t i = *pos;
  while (i < len && is_blank(p[i])) i++;
  if (i >= len) {
    *pos = i;
    return 0;
  }
  size_t s = i;
  while (i < len && !is_blank(p[i])) i++;
  tok->ptr = p + s;
  tok->len = i - s;
  *pos = i;
  return 1;
}

static int parse_expect(mdrc_case *c, const char *p, size_t len, size_t pos, char *err,
                        size_t cap) {
  mdr_str tok, arg = { NULL, 0 };
  char b[80];
  mdrc_expect *x = &c->expect;
  if (!next_token(p, len, &pos, &tok)) return fail(err, cap, "nothing after '=>'");
  if (str_eq(tok, "serve") || str_eq(tok, "alert")) {
    int serve = tok.ptr[0] == 's';
    if (!next_token(p, len, &pos, &arg) || (arg.len >= 7 && memcmp(arg.ptr, "reason=", 7) == 0))
      return fail(err, cap, "'%s' needs a %s", serve ? "serve" : "alert",
                  serve ? "vhost name" : "TLS alert name");
    x->kind = serve ? MDRC_EXPECT_SERVE : MDRC_EXPECT_ALERT;
    x->status = serve ? 200 : 0;
    if (decode(c, arg, "expectation", &x->arg, err, cap)) return -1;
  } else if (tok.len == 3 && is_digit(tok.ptr[0]) && is_digit(tok.ptr[1]) && is_digit(tok.ptr[2])) {
    unsigned st = (unsigned)((tok.ptr[0] - '0') * 100 + (tok.ptr[1] - '0') * 10 + (tok.ptr[2] - '0'));
    if (st == 400 || st == 421 || st == 425 || st == 501) {
      x->kind = MDRC_EXPECT_STATUS;
      x->status = st;
    } else if (st == 301 || st == 302 || st == 307 || st == 308) {
      if (!next_token(p, len, &pos, &arg) ||
          (arg.len >= 7 && memcmp(arg.ptr, "reason=", 7) == 0))
        return fail(err, cap, "'%u' needs a Location", st);
      x->kind = MDRC_EXPECT_REDIRECT;
      x->status = st;
      if (decode(c, arg, "expectation", &x->arg, err, cap)) return -1;
    } else {
      return fail(err, cap, "unknown expectation status '%u' (serve, 400, 421, 425, 501, "
                  "301/302/307/308 LOCATION or alert NAME)", st);
    }
  } else {
    return fail(err, cap, "unknown expectation '%s' (serve VHOST, 400, 421, 425, 501, "
                "3xx LOCATION or alert NAME)", shown(tok, b, sizeof b));
  }
  if (next_token(p, len, &pos, &tok)) {
    if (tok.len < 7 || memcmp(tok.ptr, "reason=", 7) != 0)
      return fail(err, cap, "unexpected '%s' after the expectation", shown(tok, b, sizeof b));
    mdr_str raw = { tok.ptr + 7, tok.len - 7 };
    if (raw.len == 0) return fail(err, cap, "empty reason=");
    x->has_reason = 1;
    if (decode(c, raw, "reason=", &x->reason, err, cap)) return -1;
    if (next_token(p, len, &pos, &tok))
      return fail(err, cap, "unexpected '%s' after the reason", shown(tok, b, sizeof b));
  }
  return 0;
}

/* origin-set=: comma-separated canonical origins; empty value = empty set. */
static int parse_origins(mdrc_case *c, mdr_str v, char *err, size_t cap) {
  char b[96];
  c->conn.has_origin_set = 1;
  c->conn.origin_set = c->origins;
  c->conn.n_origin_set = 0;
  if (v.len == 0) return 0;
  size_t start = 0;
  for (size_t i = 0; i <= v.len; i++) {
    if (i < v.len && v.ptr[i] != ',') continue;
    mdr_str e = { v.ptr + start, i - start };
    if (e.len == 0) return fail(err, cap, "empty entry in origin-set=");
    if (!mdrc_origin_is_canonical(e.ptr, e.len))
      return fail(err, cap, "origin-set= entry '%s' is not a canonical https origin "
                  "(https://lower-case-host[:port], no :443, no path)", shown(e, b, sizeof b));
    if (c->conn.n_origin_set == MDRC_MAX_ORIGINS)
      return fail(err, cap, "more than %d origin-set= entries", MDRC_MAX_ORIGINS);
    c->origins[c->conn.n_origin_set++] = e;
    start = i + 1;
  }
  return 0;
}

static const char *version_text(mdr_http_version v) {
  switch (v) {
  case MDR_HTTP_1_0: return "1.0";
  case MDR_HTTP_1_1: return "1.1";
  case MDR_HTTP_2: return "2";
  case MDR_HTTP_3: return "3";
  }
  return "?";
}

int mdrc_is_skippable(const char *p, size_t len) {
  size_t i = 0;
  while (i < len && (is_blank(p[i]) || p[i] == '\r')) i++;
  return i == len || p[i] == '#';
}

int mdrc_parse(const char *p, size_t len, mdrc_case *c, char *err, size_t cap) {
  size_t pos = 0;
  mdr_str tok;
  char b[80];

  if (!c) return fail(err, cap, "internal: no case");
  memset(c, 0, offsetof(mdrc_case, arena));
  c->conn.listener = MDR_NONE;
  if (!p && len) return fail(err, cap, "internal: no line");
  if (len > MDRC_LINE_MAX) return fail(err, cap, "line too long (more than %d bytes)", MDRC_LINE_MAX);
  if (!next_token(p, len, &pos, &tok) || !str_eq(tok, "case"))
    return fail(err, cap, "a case line must start with 'case'");

  while (next_token(p, len, &pos, &tok)) {
    if (str_eq(tok, "=>")) {
      if (parse_expect(c, p, len, pos, err, cap)) return -1;
      break;
    }
    const char *eq = memchr(tok.ptr, '=', tok.len);
    if (!eq) return fail(err, cap, "'%s' is not key=value", shown(tok, b, sizeof b));
    mdr_str key = { tok.ptr, (size_t)(eq - tok.ptr) };
    mdr_str raw = { eq + 1, tok.len - key.len - 1 };
    int k = find_key(key);
    if (k < 0) return fail(err, cap, "unknown key '%s'", shown(key, b, sizeof b));
    if ((c->seen & keys[k].bit) && k != KEY_HOST && k != KEY_AUTHORITY)
      return fail(err, cap, "repeated key '%s=' (only host= and authority= may repeat)",
                  keys[k].name);
    c->seen |= keys[k].bit;
    char what[24];
    snprintf(what, sizeof what, "%s=", keys[k].name);
    mdr_str v;
    if (decode(c, raw, what, &v, err, cap)) return -1;

    switch (k) {
    case KEY_LISTENER:
      if (v.len == 0) return fail(err, cap, "empty listener=");
      c->listener = v;
      break;
    case KEY_SNI:
      c->has_sni = 1;
      c->sni = v;
      break;
    case KEY_ALPN:
      if (v.len == 0) return fail(err, cap, "empty alpn=");
      c->conn.has_alpn = 1;
      c->conn.alpn = v;
      break;
    case KEY_RESUMED:
      if (v.len == 0) return fail(err, cap, "empty resumed=");
      c->resumed = v;
      c->conn.resumed = 1;
      break;
    case KEY_EARLY_DATA:
      if (!str_eq(v, "1")) return fail(err, cap, "early-data= must be 1, not '%s'", shown(v, b, sizeof b));
      c->conn.early_data = 1;
      break;
    case KEY_ECH:
      if (str_eq(v, "accepted")) c->conn.ech = MDR_ECH_ACCEPTED;
      else if (str_eq(v, "rejected")) c->conn.ech = MDR_ECH_REJECTED;
      else return fail(err, cap, "ech= must be accepted or rejected, not '%s'", shown(v, b, sizeof b));
      break;
    case KEY_ORIGIN_SET:
      if (parse_origins(c, v, err, cap)) return -1;
      break;
    case KEY_VERSION:
      if (str_eq(v, "1.0")) c->req.version = MDR_HTTP_1_0;
      else if (str_eq(v, "1.1")) c->req.version = MDR_HTTP_1_1;
      else if (str_eq(v, "2")) c->req.version = MDR_HTTP_2;
      else if (str_eq(v, "3")) c->req.version = MDR_HTTP_3;
      else return fail(err, cap, "version= must be 1.0, 1.1, 2 or 3, not '%s'", shown(v, b, sizeof b));
      break;
    case KEY_METHOD:
      if (v.len == 0) return fail(err, cap, "empty method=");
      c->req.method = v;
      break;
    case KEY_TARGET:
      if (raw.len == 1 && raw.ptr[0] == '-') {
        c->req.has_target = 0;
      } else {
        c->req.has_target = 1;
        c->req.target = v;
      }
      break;
    case KEY_SCHEME:
      if (raw.len == 1 && raw.ptr[0] == '-') {
        c->scheme_absent = 1;
      } else {
        c->req.has_scheme = 1;
        c->req.scheme = v;
      }
      break;
    case KEY_AUTHORITY:
      if (c->req.n_authority == MDRC_MAX_AUTHORITIES)
        return fail(err, cap, "more than %d authority= values", MDRC_MAX_AUTHORITIES);
      c->authorities[c->req.n_authority++] = v;
      break;
    case KEY_HOST:
      if (c->req.n_host == MDRC_MAX_HOSTS)
        return fail(err, cap, "more than %d host= values", MDRC_MAX_HOSTS);
      c->hosts[c->req.n_host++] = v;
      break;
    }
  }

  if (!(c->seen & MDRC_K_LISTENER)) return fail(err, cap, "missing listener=");

  /* Version default and its consistency with ALPN. */
  int alpn_h2 = c->conn.has_alpn && str_eq(c->conn.alpn, "h2");
  int alpn_h3 = c->conn.has_alpn && str_eq(c->conn.alpn, "h3");
  if (!(c->seen & MDRC_K_VERSION)) {
    c->req.version = alpn_h2 ? MDR_HTTP_2 : alpn_h3 ? MDR_HTTP_3 : MDR_HTTP_1_1;
  } else if (alpn_h2 && c->req.version != MDR_HTTP_2) {
    return fail(err, cap, "alpn=h2 with version=%s", version_text(c->req.version));
  } else if (alpn_h3 && c->req.version != MDR_HTTP_3) {
    return fail(err, cap, "alpn=h3 with version=%s", version_text(c->req.version));
  }

  int h1 = c->req.version == MDR_HTTP_1_0 || c->req.version == MDR_HTTP_1_1;
  if (h1) {
    if (c->seen & MDRC_K_SCHEME) return fail(err, cap, "scheme= in an HTTP/1.x case");
    if (c->seen & MDRC_K_AUTHORITY) return fail(err, cap, "authority= in an HTTP/1.x case");
    if (c->seen & MDRC_K_ORIGIN_SET) return fail(err, cap, "origin-set= in an HTTP/1.x case");
    if ((c->seen & MDRC_K_TARGET) && !c->req.has_target)
      return fail(err, cap, "target=- in an HTTP/1.x case");
  }

  /* Remaining defaults that do not depend on the listener. */
  if (!(c->seen & MDRC_K_METHOD)) {
    c->req.method.ptr = "GET";
    c->req.method.len = 3;
  }
  if (!(c->seen & MDRC_K_TARGET)) {
    c->req.has_target = 1;
    c->req.target.ptr = "/";
    c->req.target.len = 1;
  }
  c->req.host = c->hosts;
  c->req.authority = c->authorities;
  return 0;
}

int mdrc_bind(const mdr_table *t, mdrc_case *c, char *err, size_t cap) {
  char b[80];
  mdr_index l, v;
  mdr_listener_info li;
  if (!t || !c) return fail(err, cap, "internal: no table");
  if (mdr_table_find_listener(t, c->listener, &l) != 0)
    return fail(err, cap, "unknown listener '%s'", shown(c->listener, b, sizeof b));
  if (mdr_table_listener_info(t, l, &li) != 0)
    return fail(err, cap, "internal: listener info");
  c->conn.listener = l;
  c->conn.has_hs_vhost = 0;
  c->conn.hs_match = 0;
  if (!li.tls) {
    if (c->req.version == MDR_HTTP_3)
      return fail(err, cap, "version 3 on cleartext listener '%s'", shown(c->listener, b, sizeof b));
    unsigned bad = c->seen & MDRC_K_TLS_ONLY;
    if (bad) {
      unsigned bit = bad & (~bad + 1u);
      return fail(err, cap, "%s= on cleartext listener '%s'", key_name(bit),
                  shown(c->listener, b, sizeof b));
    }
  }
  if (c->seen & MDRC_K_RESUMED) {
    if (mdr_table_find_vhost(t, c->resumed, &v) != 0)
      return fail(err, cap, "unknown resumed vhost '%s'", shown(c->resumed, b, sizeof b));
    c->conn.resumed = 1;
    c->conn.has_resumed_from = 1;
    c->conn.resumed_from = v;
  }
  if (c->has_sni) {
    c->conn.has_sni = 1;
    c->conn.sni = c->sni;
  }
  if ((c->req.version == MDR_HTTP_2 || c->req.version == MDR_HTTP_3) && !(c->seen & MDRC_K_SCHEME)) {
    c->req.has_scheme = 1;
    c->req.scheme.ptr = li.tls ? "https" : "http";
    c->req.scheme.len = li.tls ? 5 : 4;
  }
  if (c->expect.kind == MDRC_EXPECT_SERVE && mdr_table_find_vhost(t, c->expect.arg, &v) != 0)
    return fail(err, cap, "expectation names unknown vhost '%s'", shown(c->expect.arg, b, sizeof b));
  if (c->expect.has_reason) {
    mdr_reason r;
    if (mdr_reason_from_token(c->expect.reason, &r) != 0)
      return fail(err, cap, "unknown reason token '%s'", shown(c->expect.reason, b, sizeof b));
  }
  return 0;
}
