/* The decision (docs/decision-rules.md rules 1-10, in order).  Pure function of the frozen
 * table and the inputs: no allocation, no locks, no global state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "internal.h"

#define SF(s) (int)((s).len > 300 ? 300 : (s).len), ((s).ptr ? (s).ptr : "")

unsigned mdri_default_port(int tls) { return tls ? 443u : 80u; }

int mdri_listener_port_ok(const mdri_listener *l, unsigned port) {
  if (port == l->port) return 1;
  for (uint32_t i = 0; i < l->n_public_ports; i++)
    if (l->public_ports[i] == port) return 1;
  return 0;
}

mdr_reason mdri_sni_host_check(const mdr_table *t, const mdri_listener *l, mdr_index h,
                               mdr_index r, const char *host, size_t n, mdr_host_kind hk,
                               const mdri_name_hash *nh) {
  switch (l->sni_host) {
  case MDR_SNI_HOST_IGNORE: return MDR_REASON_SERVE_UNCHECKED;
  case MDR_SNI_HOST_STRICT:
    return r == h ? MDR_REASON_SERVE_HANDSHAKE_VHOST : MDR_REASON_SNI_HOST_STRICT;
  case MDR_SNI_HOST_COMPATIBLE:
  default:
    if (r == h) return MDR_REASON_SERVE_HANDSHAKE_VHOST;
    if (!mdri_cert_covers_nh(t, t->vhosts[h].cert, host, n, hk, nh))
      return MDR_REASON_CERT_NOT_COVERING;
    if (mdri_vhost_class(t, r) != mdri_vhost_class(t, h)) return MDR_REASON_POLICY_MISMATCH;
    return MDR_REASON_SERVE_COALESCED;
  }
}

static int finish(mdr_decision *d, mdr_kind kind, unsigned status, mdr_reason reason,
                  unsigned rule) {
  d->kind = kind;
  d->status = status;
  d->reason = reason;
  d->rule = rule;
  return 0;
}

static int bad(mdr_decision *d, mdr_reason reason, unsigned rule) {
  return finish(d, MDR_BAD_REQUEST, 400, reason, rule);
}

static int misdirected(mdr_decision *d, mdr_reason reason, unsigned rule) {
  return finish(d, MDR_MISDIRECTED, 421, reason, rule);
}

static int same_authority(const mdr_authority *a, const mdr_authority *b, unsigned defport) {
  unsigned pa = a->port ? a->port : defport, pb = b->port ? b->port : defport;
  return pa == pb && a->host_len == b->host_len && memcmp(a->host, b->host, a->host_len) == 0;
}

/* Location writer: counts every byte, writes what fits. */
typedef struct lw {
  char *buf;
  size_t cap, len;
} lw;

static void lw_put(lw *w, const char *p, size_t n) {
  if (w->len < w->cap) {
    size_t room = w->cap - w->len;
    memcpy(w->buf + w->len, p, n < room ? n : room);
  }
  w->len += n;
}

static void lw_port(lw *w, unsigned port) {
  char tmp[8];
  int n = snprintf(tmp, sizeof tmp, ":%u", port);
  lw_put(w, tmp, (size_t)n);
}

static int is_lit(mdr_str s, const char *lit) { return mdri_str_eq_lit(s, lit); }

/* A scheme (any case): 1 for "https", 0 for "http", -1 for anything else.
 * One 4-byte compare: x | 0x20 equals a lower-case letter only when x is
 * that letter in either case. */
static inline int http_scheme(mdr_str s) {
  uint32_t w, http;
  if (s.len != 4 && s.len != 5) return -1;
  memcpy(&w, s.ptr, 4);
  memcpy(&http, "http", 4);
  if ((w | 0x20202020u) != http) return -1;
  if (s.len == 4) return 0;
  return (s.ptr[4] | 0x20) == 's' ? 1 : -1;
}

/* Is a negotiated ALPN id one of HTTP's: http/1.1, http/1.0, h2, h3?
 * ('2' | 1 is '3'.) */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int alpn_is_http(mdr_str a) {
  switch (a.len) {
  case 2: return a.ptr[0] == 'h' && (a.ptr[1] | 1) == '3';
  case 8: {
    /* "http/1.0" and "http/1.1" differ only in the last byte's low bit. */
    uint64_t w, lit, bit;
    memcpy(&w, a.ptr, 8);
    memcpy(&lit, "http/1.1", 8);
    memcpy(&bit, "\0\0\0\0\0\0\0\1", 8);
    return (w | bit) == lit;
  }
  default: return 0;
  }
}

/* Is every byte of a request-target visible ASCII (0x21-0x7e) other than
 * '#' (rule 1)?  Paths are often tens of bytes: from 16 bytes on, 16 at a
 * time with SSE2, out of line (a short path such as "/" stays a byte loop,
 * and the decision's frame stays small).  As signed bytes, everything below
 * 0x21 and everything from 0x80 up is less than 0x21, so one compare and two
 * equalities (0x7f, '#') find them all. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int target_bytes_scalar(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch < 0x21 || ch > 0x7e || ch == '#') return 0;
  }
  return 1;
}

#if MDRI_BYTES_EQ_SSE2
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int target_bytes_long(const char *p, size_t n) { /* n >= 16 */
  const __m128i lo = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f), hash = _mm_set1_epi8('#');
  for (size_t i = 0;; i += 16) {
    if (i + 16 > n) i = n - 16; /* the last 16 bytes, overlapping what was done */
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, lo),
                               _mm_or_si128(_mm_cmpeq_epi8(v, del), _mm_cmpeq_epi8(v, hash)));
    if (_mm_movemask_epi8(bad)) return 0;
    if (i + 16 == n) return 1;
  }
}
#else
#define target_bytes_long target_bytes_scalar
#endif

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int target_bytes_ok(const char *p, size_t n) {
  return n < 16 ? target_bytes_scalar(p, n) : target_bytes_long(p, n);
}

/* Does the request origin pass the ORIGIN-set check? */
static int origin_ok(const mdri_listener *l, const mdr_conn *c, const mdr_authority *a,
                     unsigned port) {
  /* Canonical origin text of the request: https://host[:port]. */
  char org[8 + MDR_HOST_MAX + 8];
  int n = snprintf(org, sizeof org, port == 443 ? "https://%s" : "https://%s:%u", a->host, port);
  if (n < 0 || (size_t)n >= sizeof org) return 0;
  for (size_t i = 0; i < c->n_origin_set; i++) {
    mdr_str e = c->origin_set[i];
    if (e.len == (size_t)n && memcmp(e.ptr, org, (size_t)n) == 0) return 1;
  }
  /* The initial origin: https:// + normalised SNI, on the listener's port or
   * any of its public ports. */
  mdr_authority s;
  if (!c->has_sni || !mdri_sni_valid(c->sni.ptr, c->sni.len, &s)) return 0;
  return s.host_len == a->host_len && memcmp(s.host, a->host, a->host_len) == 0 &&
         mdri_listener_port_ok(l, port);
}

static const char *version_name(mdr_http_version v) {
  switch (v) {
  case MDR_HTTP_1_0: return "HTTP/1.0";
  case MDR_HTTP_1_1: return "HTTP/1.1";
  case MDR_HTTP_2: return "HTTP/2";
  case MDR_HTTP_3: return "HTTP/3";
  default: return "HTTP/?";
  }
}

/* ------------------------------------------------------------------------ */
/* One decision: its state, one function per rule, and the driver.          */
/* ------------------------------------------------------------------------ */

/* A rule returns GO_ON, or DECIDED with *d filled in, or a negative
 * MDR_ERR_* code.  Rules are pure logic: they record in the state what they
 * found, and the trace (when asked for) is written from that state at the
 * step boundaries by the describe_* functions at the end of this file. */
enum { DECIDED = 0, GO_ON = 1 };

#if defined(__GNUC__)
#define STEP_FN static inline __attribute__((always_inline)) int
#else
#define STEP_FN static int
#endif

/* One authority value parsed by rules 1-2 (for the trace). */
typedef struct parsed {
  const char *what;              /* "Host", ":authority" or "target authority" */
  mdr_str value;                 /* as received */
} parsed;

/* What the steps of one decision share.  Each rule reads what the rules
 * before it established and adds its own part, in docs/decision-rules.md
 * order. */
typedef struct dstate {
  const mdr_table *t;
  const mdr_conn *c;
  const mdr_request *r;
  mdr_decision *d;
  char *loc;
  size_t loc_cap;
  /* begin: the listener and H */
  const mdri_listener *l;
  mdr_index hv;                  /* H on a TLS listener, else MDR_NONE */
  mdr_str method;                /* "GET" when the request left it empty */
  int h2plus, is_connect;
  /* rule 1: the target */
  int asterisk, absolute, abs_tls;
  mdr_str abs_scheme, abs_auth, path;
  /* rule 1: the scheme */
  int req_tls;
  unsigned defport;
  /* rules 1 and 2: the authority (in d->authority unless no_host; a Host
   * that must agree with it in hosta) */
  int no_host;
  unsigned port;
  unsigned n_parsed;             /* values parsed: d->authority, then hosta */
  int parse_failed;              /* the last one parsed is not an authority */
  parsed parsed[2];
  mdr_authority hosta;
  const mdri_slot *named;        /* the handshake's match, when d->authority is its key */
  mdri_name_hash nh;             /* d->authority's part hashes when rule 6 looked it up */
  const mdri_name_hash *hashed;  /* &nh then, else NULL */
  size_t dot;                    /* d->authority's first '.', once parsed (else SIZE_MAX) */
  /* rule 6: the request vhost R */
  mdr_index rv;
  int match, fallback;
  /* rule 7: what a serve will be called */
  mdr_reason serve_reason;
} dstate;

/* Arguments, the decision's initial state, the listener and H. */
STEP_FN begin(dstate *s) {
  const mdr_table *t = s->t;
  const mdr_conn *c = s->c;
  const mdr_request *r = s->r;
  mdr_decision *d = s->d;
  if (!t || !c || !r || !d || (!s->loc && s->loc_cap)) return MDR_ERR_INVALID_ARGUMENT;
  /* The authority is parsed in place later; zeroing its 272 bytes and then
   * copying a parsed local over them cost a fifth of a decision. */
  memset(d, 0, offsetof(mdr_decision, authority));
  d->authority.host[0] = '\0';
  d->authority.host_len = 0;
  d->authority.kind = MDR_HOST_NAME;
  d->authority.port = 0;
  d->has_authority = 0;
  d->vhost = MDR_NONE;
  d->request_vhost = MDR_NONE;
  d->handshake_vhost = MDR_NONE;
  if (c->listener >= t->n_listeners) return MDR_ERR_INVALID_ARGUMENT;
  if ((r->n_host && !r->host) || (r->n_authority && !r->authority) ||
      (c->n_origin_set && !c->origin_set) || (unsigned)r->version > MDR_HTTP_3)
    return MDR_ERR_INVALID_ARGUMENT;
  s->l = &t->listeners[c->listener];
  s->hv = MDR_NONE;
  if (s->l->tls) {
    s->hv = c->has_hs_vhost ? c->hs_vhost : s->l->default_vhost;
    if (s->hv >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
    d->handshake_vhost = s->hv;
  }
  s->h2plus = r->version == MDR_HTTP_2 || r->version == MDR_HTTP_3;
  /* The rest of the state starts out empty (set here rather than by
   * zero-filling the whole struct: this is the hot path). */
  s->asterisk = s->absolute = s->abs_tls = s->no_host = s->fallback = 0;
  s->abs_auth.ptr = NULL;
  s->abs_auth.len = 0;
  s->port = 0;
  s->n_parsed = 0;
  s->parse_failed = 0;
  s->named = NULL;
  s->dot = SIZE_MAX; /* not known until the authority is parsed */
  s->method = r->method.len ? r->method : (mdr_str)MDR_STR_LIT("GET");
  s->is_connect = is_lit(s->method, "CONNECT");
  return GO_ON;
}

/* Rule 1, first of all: classic CONNECT gets 501. */
STEP_FN rule1_connect(dstate *s) {
  if (!s->is_connect || (s->h2plus && s->r->has_target)) return GO_ON;
  return finish(s->d, MDR_NOT_IMPLEMENTED, 501, MDR_REASON_CONNECT, 1);
}

/* Rule 1: the request-target's bytes and form (400), and a well-formed
 * absolute-form scheme other than http(s) (421). */
STEP_FN rule1_target(dstate *s) {
  mdr_decision *d = s->d;
  if (!s->r->has_target)
    return bad(d, s->h2plus ? MDR_REASON_TARGET_MISSING_PATH : MDR_REASON_TARGET_EMPTY, 1);
  mdr_str target = s->r->target;
  if (target.len == 0) return bad(d, MDR_REASON_TARGET_EMPTY, 1);
  if (!target_bytes_ok(target.ptr, target.len)) return bad(d, MDR_REASON_TARGET_BAD_BYTE, 1);
  s->path = target;
  if (target.ptr[0] == '/') return GO_ON; /* origin-form */
  if (target.len == 1 && target.ptr[0] == '*') {
    if (!is_lit(s->method, "OPTIONS")) return bad(d, MDR_REASON_TARGET_ASTERISK, 1);
    s->asterisk = 1;
    return GO_ON;
  }
  if (s->h2plus) return bad(d, MDR_REASON_TARGET_PATH_FORM, 1);
  size_t colon = 0;
  while (colon < target.len && target.ptr[colon] != ':') colon++;
  mdr_str scheme = { target.ptr, colon };
  if (colon + 2 >= target.len || !mdri_scheme_ok(scheme) || target.ptr[colon + 1] != '/' ||
      target.ptr[colon + 2] != '/')
    return bad(d, MDR_REASON_TARGET_FORM, 1);
  size_t as = colon + 3, ae = as;
  while (ae < target.len && target.ptr[ae] != '/' && target.ptr[ae] != '?') ae++;
  s->abs_scheme = scheme;
  s->abs_auth.ptr = target.ptr + as;
  s->abs_auth.len = ae - as;
  s->path.ptr = target.ptr + ae;
  s->path.len = target.len - ae;
  s->absolute = 1;
  /* RFC 9112 section 3.2.4: OPTIONS with an empty path and no query is the
   * absolute form of OPTIONS *, and like it never redirected. */
  if (s->path.len == 0 && is_lit(s->method, "OPTIONS")) s->asterisk = 1;
  int tls = http_scheme(scheme);
  if (tls < 0) return misdirected(d, MDR_REASON_SCHEME_UNSUPPORTED, 1);
  s->abs_tls = tls;
  return GO_ON;
}

/* Rule 1: the request's scheme: :scheme in HTTP/2 and HTTP/3 (400 when
 * missing or malformed, 421 when not http(s)), else the absolute-form's,
 * else the listener's. */
STEP_FN rule1_scheme(dstate *s) {
  const mdr_request *r = s->r;
  s->req_tls = s->l->tls;
  if (s->h2plus) {
    if (!r->has_scheme || r->scheme.len == 0) return bad(s->d, MDR_REASON_SCHEME_MISSING, 1);
    /* "http" and "https" (any case) satisfy the scheme grammar, so the
     * grammar is only checked for other values. */
    int tls = http_scheme(r->scheme);
    if (tls < 0)
      return mdri_scheme_ok(r->scheme) ? misdirected(s->d, MDR_REASON_SCHEME_UNSUPPORTED, 1)
                                       : bad(s->d, MDR_REASON_SCHEME_SYNTAX, 1);
    s->req_tls = tls;
  } else if (s->absolute) {
    s->req_tls = s->abs_tls;
  }
  s->defport = mdri_default_port(s->req_tls);
  return GO_ON;
}

/* Parse one authority value into *a (recorded for the trace); on failure
 * fills the 400 decision and returns 0. */
static inline int parse_auth(dstate *s, mdr_str v, int trim, mdr_authority *a,
                             const char *what) {
  mdr_reason reason;
  parsed *p = &s->parsed[s->n_parsed++];
  p->what = what;
  p->value = v;
  if (v.ptr) {
    /* mdr_authority_parse without its argument checks */
    const char *q = v.ptr;
    size_t n = v.len;
    if (trim) {
      while (n && (q[0] == ' ' || q[0] == '\t')) q++, n--;
      while (n && (q[n - 1] == ' ' || q[n - 1] == '\t')) n--;
    }
    /* The value is the very name the SNI matched (the handshake's match
     * names its key): it normalises to itself, port 0, and - ending in a
     * letter, so neither an IPv4 dotted quad nor a bracketed IPv6 - a name.
     * (The key is the normaliser's output for a configured name without a
     * port, and normalising is idempotent: fuzz/fuzz_authority.c.) */
    const mdri_slot *sl;
    if (s->c->hs_match && n && n <= MDR_HOST_MAX && q[n - 1] >= 'a' && q[n - 1] <= 'z' &&
        (sl = mdri_match_slot(s->t, s->c->listener, q, n, s->c->hs_match)) != NULL) {
      memcpy(a->host, q, n);
      a->host[n] = '\0';
      a->host_len = n;
      a->kind = MDR_HOST_NAME;
      a->port = 0;
      if (a == &s->d->authority) s->named = sl;
      return 1;
    }
    size_t dot;
    reason = mdri_authority_dot(q, n, a, &dot);
    if (a == &s->d->authority) s->dot = dot;
    if (reason == MDR_REASON_COUNT_) return 1;
  } else {
    int valid = 0;
    mdr_authority_parse(v.ptr, v.len, trim, a, &valid, &reason);
    if (valid) return 1;
  }
  s->parse_failed = 1;
  bad(s->d, reason, 2);
  return 0;
}

/* Rules 1 and 2: which authority names the host (Host, :authority or the
 * absolute-form target; 400 when missing, repeated or disagreeing), and its
 * syntax (400).  The normalised authority lands in d->authority. */
STEP_FN rule1_2_authority(dstate *s) {
  const mdr_request *r = s->r;
  mdr_decision *d = s->d;
  mdr_authority *const a = &d->authority;
  if (!s->h2plus) {
    if (r->n_host > 1) return bad(d, MDR_REASON_HOST_MULTIPLE, 1);
    if (r->version == MDR_HTTP_1_1 && r->n_host == 0) return bad(d, MDR_REASON_HOST_MISSING, 1);
    if (s->absolute) {
      if (!parse_auth(s, s->abs_auth, 0, a, "target authority")) return DECIDED;
      if (r->n_host == 1) {
        if (!parse_auth(s, r->host[0], 1, &s->hosta, "Host")) return DECIDED;
        if (!same_authority(a, &s->hosta, s->defport)) return bad(d, MDR_REASON_HOST_MISMATCH, 1);
      }
    } else if (r->n_host == 1) {
      if (!parse_auth(s, r->host[0], 1, a, "Host")) return DECIDED;
    } else if (s->l->unknown_host == MDR_UNKNOWN_HOST_DEFAULT) {
      s->no_host = 1; /* HTTP/1.0 without Host: the listener default */
      return GO_ON;
    } else {
      return bad(d, MDR_REASON_HOST_MISSING, 1);
    }
  } else {
    if (r->n_authority > 1) return bad(d, MDR_REASON_AUTHORITY_MULTIPLE, 1);
    if (r->n_host > 1) return bad(d, MDR_REASON_HOST_MULTIPLE, 1);
    if (r->n_authority == 1) {
      if (r->authority[0].len == 0) return bad(d, MDR_REASON_AUTHORITY_EMPTY, 1);
      if (!parse_auth(s, r->authority[0], 0, a, ":authority")) return DECIDED;
      if (r->n_host == 1) {
        if (!parse_auth(s, r->host[0], 1, &s->hosta, "Host")) return DECIDED;
        if (!same_authority(a, &s->hosta, s->defport)) return bad(d, MDR_REASON_HOST_MISMATCH, 1);
      }
    } else if (r->n_host == 1) {
      if (!parse_auth(s, r->host[0], 1, a, "Host")) return DECIDED;
    } else {
      return bad(d, MDR_REASON_AUTHORITY_MISSING, 1);
    }
  }
  d->has_authority = 1;
  s->port = a->port ? a->port : s->defport;
  return GO_ON;
}

/* Rule 3: is this TLS connection fit for HTTP at all (421): ALPN, ECH, and
 * a session resumed across TLS policies. */
STEP_FN rule3_connection(dstate *s) {
  const mdr_table *t = s->t;
  const mdr_conn *c = s->c;
  if (!s->l->tls) return GO_ON;
  if (c->has_alpn && !alpn_is_http(c->alpn))
    return misdirected(s->d, MDR_REASON_ALPN_NOT_HTTP, 3);
  if (c->ech == MDR_ECH_REJECTED) return misdirected(s->d, MDR_REASON_ECH_REJECTED, 3);
  if (c->resumed && c->has_resumed_from) {
    if (c->resumed_from >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
    if (mdri_vhost_class(t, c->resumed_from) != mdri_vhost_class(t, s->hv))
      return misdirected(s->d, MDR_REASON_RESUMED_CROSS_POLICY, 3);
  }
  return GO_ON;
}

/* Rule 4: the request's scheme matches the listener (421). */
STEP_FN rule4_scheme(dstate *s) {
  if (s->req_tls == s->l->tls) return GO_ON;
  return misdirected(s->d, s->req_tls ? MDR_REASON_SCHEME_HTTPS_ON_CLEARTEXT
                                      : MDR_REASON_SCHEME_HTTP_ON_TLS, 4);
}

/* Rule 5: the port is the listener's or one of its public ports (421). */
STEP_FN rule5_port(dstate *s) {
  if (s->no_host || mdri_listener_port_ok(s->l, s->port)) return GO_ON;
  return misdirected(s->d, MDR_REASON_WRONG_PORT, 5);
}

/* Rule 6: the request vhost R on this listener (421 when none, unless
 * unknown-host=default), and whether R speaks this HTTP version (421). */
STEP_FN rule6_vhost(dstate *s) {
  const mdr_table *t = s->t;
  const mdr_decision *d = s->d;
  s->match = MDRI_NAME_EXACT;
  if (s->no_host) {
    s->rv = s->l->default_vhost;
    s->fallback = 1;
  } else {
    /* The request names the SNI the handshake matched (the common case):
     * the handshake's match, checked, stands for the lookup. */
    const mdri_slot *found = s->named;
    if (!found && s->c->hs_match)
      found = mdri_match_slot(t, s->c->listener, d->authority.host, d->authority.host_len,
                              s->c->hs_match);
    if (!found) {
      found = mdri_lookup_slot(t, s->c->listener, d->authority.host, d->authority.host_len,
                               d->authority.kind, s->dot, &s->nh);
      /* The lookup stored the hashes unless the host was too long for it. */
      s->hashed = d->authority.host_len - 1 < 255 ? &s->nh : NULL;
    }
    s->rv = found ? mdri_match_vhost(found, &s->match) : MDR_NONE;
    if (s->rv == MDR_NONE) {
      if (s->l->unknown_host != MDR_UNKNOWN_HOST_DEFAULT)
        return misdirected(s->d, MDR_REASON_UNKNOWN_HOST, 6);
      s->rv = s->l->default_vhost;
      s->fallback = 1;
    }
  }
  s->d->request_vhost = s->rv;
  mdr_http_version v = s->r->version;
  unsigned bit = mdri_version_proto(v);
  if (!(t->vhosts[s->rv].protocols & bit))
    return misdirected(s->d, MDR_REASON_PROTOCOL_DISABLED, 6);
  return GO_ON;
}

/* Rule 7: on a TLS listener, may the handshake vhost H's connection serve
 * R (the listener's sni-host mode, and under sni-host=ignore the advertised
 * origin set)?  Also names the serve: serve, -coalesced, -default or
 * -unchecked. */
STEP_FN rule7_tls_authority(dstate *s) {
  const mdr_table *t = s->t;
  const mdri_listener *l = s->l;
  const mdr_authority *a = &s->d->authority;
  s->serve_reason = s->fallback ? MDR_REASON_SERVE_DEFAULT : MDR_REASON_SERVE_HANDSHAKE_VHOST;
  if (!l->tls) return GO_ON;
  if (s->no_host) {
    if (l->sni_host != MDR_SNI_HOST_IGNORE && s->rv != s->hv)
      return misdirected(s->d, MDR_REASON_DEFAULT_NOT_HANDSHAKE, 7);
    return GO_ON;
  }
  /* R = H passes under strict and compatible without the certificate and
   * policy checks (mdri_sni_host_check's first answer, taken inline). */
  mdr_reason cr = s->rv == s->hv && l->sni_host != MDR_SNI_HOST_IGNORE
                      ? MDR_REASON_SERVE_HANDSHAKE_VHOST
                      : mdri_sni_host_check(t, l, s->hv, s->rv, a->host, a->host_len, a->kind,
                                            s->hashed);
  if (cr != MDR_REASON_SERVE_HANDSHAKE_VHOST && cr != MDR_REASON_SERVE_COALESCED &&
      cr != MDR_REASON_SERVE_UNCHECKED)
    return misdirected(s->d, cr, 7);
  if (cr != MDR_REASON_SERVE_HANDSHAKE_VHOST && !s->fallback) s->serve_reason = cr;
  if (cr == MDR_REASON_SERVE_UNCHECKED) s->serve_reason = cr;
  /* The advertised origin set bounds what is served only under
   * sni-host=ignore, where it is the only check.  Under compatible and
   * strict the sni-host check above is the safety; the set is advisory
   * there (wildcards cannot be listed, a capped set leaves names out, and
   * clients that ignore ORIGIN coalesce by certificate). */
  if (s->c->has_origin_set && l->sni_host == MDR_SNI_HOST_IGNORE &&
      !origin_ok(l, s->c, a, s->port))
    return misdirected(s->d, MDR_REASON_NOT_IN_ORIGIN_SET, 7);
  return GO_ON;
}

/* Rule 8: a 0-RTT request for a vhost without early-data gets 425. */
STEP_FN rule8_early_data(dstate *s) {
  if (!s->c->early_data || s->t->vhosts[s->rv].early_data) return GO_ON;
  return finish(s->d, MDR_TOO_EARLY, 425, MDR_REASON_EARLY_DATA, 8);
}

/* Rule 9: a redirect alias goes to its vhost's canonical name, and an
 * http=redirect vhost sends cleartext requests to https; the Location is
 * built from configured names only.  OPTIONS * and CONNECT are never
 * redirected (421 on a cleartext http=redirect vhost). */
STEP_FN rule9_redirect(dstate *s) {
  const mdr_table *t = s->t;
  const mdri_listener *l = s->l;
  const mdri_vhost *v = &t->vhosts[s->rv];
  mdr_decision *d = s->d;
  int to_https = !l->tls && v->http == MDR_HTTP_REDIRECT;
  int alias = !s->fallback && s->match == MDRI_NAME_ALIAS;
  if (to_https && (s->asterisk || s->is_connect))
    return misdirected(d, MDR_REASON_REDIRECT_ONLY_CLEARTEXT, 9);
  if (!(to_https || alias) || s->asterisk || s->is_connect) return GO_ON;
  mdr_str host;
  if (alias || s->fallback) {
    host = t->names[v->names_begin].host;   /* the canonical (first) name */
  } else {
    host.ptr = d->authority.host;
    host.len = d->authority.host_len;
  }
  int tls_out;
  unsigned out_port;
  if (to_https) {
    tls_out = 1;
    out_port = v->first_tls_listener != MDR_NONE ? t->listeners[v->first_tls_listener].public_port : 443u;
  } else {
    tls_out = l->tls;
    out_port = l->public_port;
  }
  lw w = { s->loc, s->loc_cap, 0 };
  lw_put(&w, tls_out ? "https://" : "http://", tls_out ? 8 : 7);
  lw_put(&w, host.ptr, host.len);
  if (out_port != mdri_default_port(tls_out)) lw_port(&w, out_port);
  if (s->path.len == 0 || s->path.ptr[0] != '/') lw_put(&w, "/", 1);
  lw_put(&w, s->path.ptr, s->path.len);
  d->location_len = w.len;
  if (w.len < s->loc_cap) s->loc[w.len] = '\0';
  d->vhost = s->rv;
  finish(d, MDR_REDIRECT, v->redirect_status, alias ? MDR_REASON_REDIRECT_ALIAS : MDR_REASON_REDIRECT_HTTPS, 9);
  return w.len > s->loc_cap ? MDR_ERR_BUFFER_TOO_SMALL : DECIDED;
}

/* Rule 10: serve R. */
STEP_FN rule10_serve(dstate *s) {
  s->d->vhost = s->rv;
  return finish(s->d, MDR_SERVE, 200, s->serve_reason, 10);
}

/* ------------------------------------------------------------------------ */
/* The plain request: one pass for the common case.                         */
/* ------------------------------------------------------------------------ */

/* The plain request (issue 14): HTTP/2 or HTTP/3 with :scheme https and one
 * :authority, or HTTP/1.1 with one Host; GET or HEAD; an origin-form target;
 * on a TLS listener that accepts port 443 (mdri_listener.plain, computed
 * with the table); no origin set to check.  Rules 1-2 reduce to the
 * target's bytes and the authority's syntax, rules 3-5 to the connection's
 * fitness and the listener's flag, and the answer is a serve or a 421
 * unknown-host.  Anything else - an error, a 400, another 421, a default
 * vhost, a 425, a redirect - returns GO_ON having decided nothing, and the
 * rules run in full: every decision this path makes is the one they make
 * (tests/cases/test_hs_match.c compares the two on every case).  Used by
 * mdr_decide only: a traced decision always runs the rules. */
/* The plain path's answer: a serve of R (vhost = R), or 421 unknown-host (R
 * = MDR_NONE).  The authority is already in place; the fields before it are
 * written one by one (no memset: this is the hot path). */
STEP_FN plain_decided(mdr_decision *d, mdr_kind kind, unsigned status, mdr_reason reason,
                      unsigned rule, mdr_index rv, mdr_index hv) {
  d->kind = kind;
  d->status = status;
  d->vhost = rv;
  d->reason = reason;
  d->rule = rule;
  d->location_len = 0;
  d->has_authority = 1;
  d->request_vhost = rv;
  d->handshake_vhost = hv;
  return DECIDED;
}

STEP_FN plain_request(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                      mdr_decision *d, const char *loc, size_t loc_cap) {
  if (!t || !c || !r || !d || (!loc && loc_cap) || c->listener >= t->n_listeners) return GO_ON;
  const mdri_listener *l = &t->listeners[c->listener];
  if (!l->plain || c->n_origin_set || c->has_origin_set) return GO_ON;
  /* The request: one authority value, as received. */
  mdr_str v;
  if (r->version == MDR_HTTP_2 || r->version == MDR_HTTP_3) {
    if (r->n_authority != 1 || r->n_host || !r->authority || !r->has_scheme ||
        r->scheme.len != 5 || http_scheme(r->scheme) != 1)
      return GO_ON;
    v = r->authority[0];
  } else if (r->version == MDR_HTTP_1_1) {
    if (r->n_host != 1 || r->n_authority || !r->host) return GO_ON;
    v = r->host[0];
    /* Host is trimmed of spaces and tabs: leave that to the rules. */
    if (v.len && (v.ptr[0] == ' ' || v.ptr[0] == '\t' || v.ptr[v.len - 1] == ' ' ||
                  v.ptr[v.len - 1] == '\t'))
      return GO_ON;
  } else {
    return GO_ON;
  }
  if (!v.ptr || !v.len) return GO_ON;
  mdr_str m = r->method;
  if (m.len && !(m.len == 3 && memcmp(m.ptr, "GET", 3) == 0) &&
      !(m.len == 4 && memcmp(m.ptr, "HEAD", 4) == 0))
    return GO_ON;
  /* Rule 1: an origin-form target of visible bytes. */
  mdr_str target = r->target;
  if (!r->has_target || target.len == 0 || target.ptr[0] != '/' ||
      !target_bytes_ok(target.ptr, target.len))
    return GO_ON;
  /* H, and rule 3: the connection is fit for HTTP. */
  mdr_index hv = c->has_hs_vhost ? c->hs_vhost : l->default_vhost;
  if (hv >= t->n_vhosts || (c->has_alpn && !alpn_is_http(c->alpn)) ||
      c->ech == MDR_ECH_REJECTED)
    return GO_ON;
  if (c->resumed && c->has_resumed_from &&
      (c->resumed_from >= t->n_vhosts ||
       mdri_vhost_class(t, c->resumed_from) != mdri_vhost_class(t, hv)))
    return GO_ON;
  /* Rule 2: the authority's syntax (as parse_auth: the SNI's key is its
   * own normal form). */
  mdr_authority *a = &d->authority;
  const mdri_slot *named = NULL;
  size_t dot = 0;
  if (c->hs_match && v.len <= MDR_HOST_MAX && v.ptr[v.len - 1] >= 'a' &&
      v.ptr[v.len - 1] <= 'z' &&
      (named = mdri_match_slot_copy(t, c->listener, v.ptr, v.len, c->hs_match, a->host)) !=
          NULL) {
    a->host_len = v.len;
    a->kind = MDR_HOST_NAME;
    a->port = 0;
  } else if (mdri_authority_dot(v.ptr, v.len, a, &dot) != MDR_REASON_COUNT_) {
    return GO_ON;
  }
  /* Rules 4 and 5: https on this TLS listener, on 443 (the listener's
   * flag) or another of its ports. */
  if (a->port && a->port != 443u && !mdri_listener_port_ok(l, a->port)) return GO_ON;
  /* Rule 6: the request vhost R. */
  mdri_name_hash nh; /* the host's part hashes, from the lookup for rule 7's */
  const mdri_name_hash *hashed = NULL;
  const mdri_slot *found = named;
  if (!found && c->hs_match)
    found = mdri_match_slot(t, c->listener, a->host, a->host_len, c->hs_match);
  if (!found) {
    found = mdri_lookup_slot(t, c->listener, a->host, a->host_len, a->kind, dot, &nh);
    hashed = &nh; /* the normaliser's host has 1 to 253 bytes: the lookup stored them */
  }
  mdr_reason reason;
  if (!found) {
    if (l->unknown_host == MDR_UNKNOWN_HOST_DEFAULT) return GO_ON;
    return plain_decided(d, MDR_MISDIRECTED, 421, MDR_REASON_UNKNOWN_HOST, 6, MDR_NONE, hv);
  }
  /* A wildcard slot never has the alias bit (aliases are exact names). */
  mdr_index rv = found->value & ~MDRI_ALIAS_BIT;
  /* Rules 6, 8 and 9: R speaks this version, takes 0-RTT when it came as
   * 0-RTT (the vhost's plain bits, kept in its slots: one test, and the
   * vhost record is not read), and is not a redirect alias (a TLS listener
   * never redirects to https).  The version is 0, 2 or 3 here. */
  unsigned want = 1u << ((unsigned)r->version + (c->early_data ? 4u : 0u));
  if (!(mdri_slot_plain(found) & want) || (found->value & MDRI_ALIAS_BIT)) return GO_ON;
  /* Rule 7: H's connection may serve R. */
  if (rv == hv && l->sni_host != MDR_SNI_HOST_IGNORE) {
    reason = MDR_REASON_SERVE_HANDSHAKE_VHOST;
  } else {
    reason = mdri_sni_host_check(t, l, hv, rv, a->host, a->host_len, a->kind, hashed);
    if (reason != MDR_REASON_SERVE_HANDSHAKE_VHOST && reason != MDR_REASON_SERVE_COALESCED &&
        reason != MDR_REASON_SERVE_UNCHECKED)
      return GO_ON;
  }
  /* Rule 10. */
  return plain_decided(d, MDR_SERVE, 200, reason, 10, rv, hv);
}

int mdri_decide_plain(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                      mdr_decision *out) {
  return plain_request(t, c, r, out, NULL, 0) == DECIDED;
}

/* The trace of each step (defined below): called after the step when a
 * trace function is set, with the step's return value. */
typedef struct dctx dctx;
#if defined(__GNUC__)
#define COLD __attribute__((cold, noinline))
#else
#define COLD
#endif
COLD static void describe_begin(const dstate *s, const dctx *x, int rc);
COLD static void describe_connect(const dstate *s, const dctx *x, int rc);
COLD static void describe_target(const dstate *s, const dctx *x, int rc);
COLD static void describe_scheme(const dstate *s, const dctx *x, int rc);
COLD static void describe_authority(const dstate *s, const dctx *x, int rc);
COLD static void describe_connection(const dstate *s, const dctx *x, int rc);
COLD static void describe_scheme_match(const dstate *s, const dctx *x, int rc);
COLD static void describe_port(const dstate *s, const dctx *x, int rc);
COLD static void describe_vhost(const dstate *s, const dctx *x, int rc);
COLD static void describe_tls_authority(const dstate *s, const dctx *x, int rc);
COLD static void describe_early_data(const dstate *s, const dctx *x, int rc);
COLD static void describe_redirect(const dstate *s, const dctx *x, int rc);
COLD static void describe_serve(const dstate *s, const dctx *x, int rc);

/* The driver: the rules of docs/decision-rules.md in their order.  The
 * first one that does not say "go on" decides (or reports an error).
 * 400s come first, then 421s, then 425, then redirects, then serve. */
STEP_FN decide(const mdr_table *t, const mdr_conn *c, const mdr_request *r, mdr_decision *d,
               char *loc, size_t loc_cap, const dctx *x) {
  if (!x && plain_request(t, c, r, d, loc, loc_cap) == DECIDED) return 0;
  dstate state, *s = &state;
  s->t = t, s->c = c, s->r = r, s->d = d, s->loc = loc, s->loc_cap = loc_cap;
  s->hashed = NULL;
  int rc;
#define STEP(rule, describe)              \
  do {                                    \
    rc = rule(s);                         \
    if (x) describe(s, x, rc);            \
    if (rc != GO_ON) return rc;           \
  } while (0)
  STEP(begin, describe_begin);                        /* arguments; the listener and H */
  STEP(rule1_connect, describe_connect);              /* 501 classic CONNECT, first */
  STEP(rule1_target, describe_target);                /* 400 target; 421 absolute ftp:// */
  STEP(rule1_scheme, describe_scheme);                /* :scheme: 400 malformed, 421 not http(s) */
  STEP(rule1_2_authority, describe_authority);        /* 400 which authority, and its syntax */
  STEP(rule3_connection, describe_connection);        /* 421 ALPN, ECH, cross-policy resumption */
  STEP(rule4_scheme, describe_scheme_match);          /* 421 https on cleartext, http on TLS */
  STEP(rule5_port, describe_port);                    /* 421 wrong port */
  STEP(rule6_vhost, describe_vhost);                  /* 421 unknown host, protocol disabled */
  STEP(rule7_tls_authority, describe_tls_authority);  /* 421 certificate, policy, strict, origins */
  STEP(rule8_early_data, describe_early_data);        /* 425 */
  STEP(rule9_redirect, describe_redirect);            /* 3xx */
  STEP(rule10_serve, describe_serve);                 /* 200 */
#undef STEP
  return rc;
}

int mdr_decide(const mdr_table *t, const mdr_conn *c, const mdr_request *r, mdr_decision *out,
               char *loc, size_t loc_cap) {
  return decide(t, c, r, out, loc, loc_cap, NULL);
}

/* ------------------------------------------------------------------------ */
/* The trace: what each step found, written at the step's boundary.        */
/* ------------------------------------------------------------------------ */

struct dctx {
  mdr_trace_fn fn;
  void *user;
};

int mdr_decide_trace(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                     mdr_decision *out, char *loc, size_t loc_cap, mdr_trace_fn fn, void *user) {
  dctx x = { fn, user };
  return decide(t, c, r, out, loc, loc_cap, fn ? &x : NULL);
}

static void trace(const dctx *x, unsigned rule, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void trace(const dctx *x, unsigned rule, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
  x->fn(x->user, rule, buf, (size_t)n);
}

/* The verdict line of a 400 or 421 (the other answers have their own). */
static void verdict(const dstate *s, const dctx *x) {
  const mdr_decision *d = s->d;
  if (d->kind == MDR_BAD_REQUEST || d->kind == MDR_MISDIRECTED)
    trace(x, d->rule, "%u %s", d->status, mdr_reason_token(d->reason));
}

static void describe_begin(const dstate *s, const dctx *x, int rc) {
  if (rc != GO_ON) return;
  trace(x, 1, "%s %.*s on listener '%.*s' (%s, port %u)", version_name(s->r->version),
        SF(s->method), SF(s->l->name), s->l->tls ? "https" : "http", s->l->port);
}

static void describe_connect(const dstate *s, const dctx *x, int rc) {
  (void)s;
  if (rc == DECIDED) trace(x, 1, "classic CONNECT: this is an origin server, not a proxy");
}

static void describe_target(const dstate *s, const dctx *x, int rc) {
  if (rc < 0) return;
  if (s->absolute) {
    trace(x, 1, "absolute-form target, scheme '%.*s', authority '%.*s'", SF(s->abs_scheme),
          SF(s->abs_auth));
    if (s->asterisk)
      trace(x, 1, "OPTIONS with an empty path: asterisk-form (OPTIONS *), never redirected");
  } else if (rc == GO_ON) {
    trace(x, 1, s->asterisk ? "asterisk-form target (OPTIONS *): never redirected"
                            : "origin-form target");
  }
  if (rc == DECIDED) verdict(s, x);
}

static void describe_scheme(const dstate *s, const dctx *x, int rc) {
  if (rc != DECIDED) return;
  if (s->d->reason == MDR_REASON_SCHEME_UNSUPPORTED) trace(x, 1, ":scheme '%.*s'", SF(s->r->scheme));
  verdict(s, x);
}

static void describe_authority(const dstate *s, const dctx *x, int rc) {
  if (rc < 0) return;
  for (unsigned i = 0; i < s->n_parsed; i++) {
    const parsed *p = &s->parsed[i];
    const mdr_authority *a = i == 0 ? &s->d->authority : &s->hosta;
    unsigned defport = s->defport;
    if (i + 1 == s->n_parsed && s->parse_failed) {
      trace(x, 2, "%s '%.*s' is not a valid authority", p->what, SF(p->value));
    } else {
      trace(x, 2, "%s '%.*s' normalises to host '%s' port %u%s", p->what, SF(p->value), a->host,
            a->port ? a->port : defport,
            a->port ? "" : defport == 443 ? " (the https default)" : " (the http default)");
    }
  }
  if (s->no_host)
    trace(x, 1, "HTTP/1.0 without Host: unknown-host=default uses the listener default");
  if (rc == DECIDED) verdict(s, x);
}

static void describe_connection(const dstate *s, const dctx *x, int rc) {
  const mdr_table *t = s->t;
  const mdr_conn *c = s->c;
  if (rc < 0 || !s->l->tls) return;
  if (rc == GO_ON) {
    trace(x, 3, "connection fit for HTTP");
    return;
  }
  if (s->d->reason == MDR_REASON_ALPN_NOT_HTTP)
    trace(x, 3, "ALPN '%.*s' is not an HTTP protocol", SF(c->alpn));
  if (s->d->reason == MDR_REASON_RESUMED_CROSS_POLICY)
    trace(x, 3, "session created under vhost '%.*s' (policy '%.*s'), handshake vhost '%.*s' (policy '%.*s')",
          SF(mdri_vhost_name(t, c->resumed_from)),
          SF(t->policies[t->vhosts[c->resumed_from].policy].name), SF(mdri_vhost_name(t, s->hv)),
          SF(t->policies[t->vhosts[s->hv].policy].name));
  verdict(s, x);
}

static void describe_scheme_match(const dstate *s, const dctx *x, int rc) {
  if (rc == GO_ON) trace(x, 4, "scheme %s matches the listener", s->req_tls ? "https" : "http");
  else verdict(s, x);
}

static void describe_port(const dstate *s, const dctx *x, int rc) {
  if (s->no_host) return;
  if (rc == GO_ON) {
    trace(x, 5, "port %u accepted", s->port);
    return;
  }
  trace(x, 5, "port %u is neither the listener's port %u nor one of its public ports", s->port,
        s->l->port);
  verdict(s, x);
}

static void describe_vhost(const dstate *s, const dctx *x, int rc) {
  const mdr_table *t = s->t;
  if (rc == DECIDED && s->d->reason == MDR_REASON_UNKNOWN_HOST) {
    trace(x, 6, "no vhost on this listener serves '%s'", s->d->authority.host);
    verdict(s, x);
    return;
  }
  trace(x, 6, "vhost '%.*s' (%s)", SF(mdri_vhost_name(t, s->rv)),
        s->fallback ? "listener default (unknown-host=default)"
        : s->match == MDRI_NAME_ALIAS ? "redirect alias"
        : s->match == MDRI_NAME_WILD ? "wildcard match" : "exact match");
  if (rc == DECIDED) {
    trace(x, 6, "vhost '%.*s' disables %s", SF(mdri_vhost_name(t, s->rv)),
          version_name(s->r->version));
    verdict(s, x);
  }
}

static void describe_tls_authority(const dstate *s, const dctx *x, int rc) {
  const mdr_table *t = s->t;
  const mdri_listener *l = s->l;
  if (!l->tls) return;
  trace(x, 7, "handshake vhost '%.*s', request vhost '%.*s', sni-host=%s",
        SF(mdri_vhost_name(t, s->hv)), SF(mdri_vhost_name(t, s->rv)),
        l->sni_host == MDR_SNI_HOST_STRICT ? "strict"
        : l->sni_host == MDR_SNI_HOST_IGNORE ? "ignore" : "compatible");
  if (rc == DECIDED) {
    verdict(s, x);
    return;
  }
  if (!s->no_host && s->c->has_origin_set && l->sni_host == MDR_SNI_HOST_IGNORE)
    trace(x, 7, "origin is in the connection's origin set");
  trace(x, 7, "the TLS handshake authorises this request");
}

static void describe_early_data(const dstate *s, const dctx *x, int rc) {
  (void)s;
  if (rc == DECIDED) trace(x, 8, "0-RTT request for a vhost without early-data");
}

static void describe_redirect(const dstate *s, const dctx *x, int rc) {
  const mdr_decision *d = s->d;
  if (rc == GO_ON) return;
  if (d->kind == MDR_MISDIRECTED) {
    trace(x, 9, "http=redirect vhost: OPTIONS * and CONNECT cannot be redirected");
    verdict(s, x);
    return;
  }
  size_t w = d->location_len <= s->loc_cap ? d->location_len : s->loc_cap;
  trace(x, 9, "%u redirect to %.*s", d->status, (int)w, s->loc ? s->loc : "");
}

static void describe_serve(const dstate *s, const dctx *x, int rc) {
  (void)rc;
  trace(x, 10, "serve vhost '%.*s'", SF(mdri_vhost_name(s->t, s->rv)));
}
