/* The decision (docs/decision-rules.md rules 1-10, in order).  Pure function of the frozen
 * table and the inputs: no allocation, no locks, no global state. */
#include <stddef.h>
#include <stdio.h>

#include "internal.h"

typedef struct dctx {
  mdr_trace_fn fn;
  void *user;
} dctx;

static void trace(const dctx *x, unsigned rule, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#include <stdarg.h>
static void trace(const dctx *x, unsigned rule, const char *fmt, ...) {
  if (!x->fn) return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
  x->fn(x->user, rule, buf, (size_t)n);
}

/* Arguments are only evaluated when tracing. */
#define TR(x, ...)                   \
  do {                               \
    if ((x)->fn) trace(x, __VA_ARGS__); \
  } while (0)

#define SF(s) (int)((s).len > 300 ? 300 : (s).len), ((s).ptr ? (s).ptr : "")

unsigned mdri_default_port(int tls) { return tls ? 443u : 80u; }

int mdri_listener_port_ok(const mdri_listener *l, unsigned port) {
  if (port == l->port) return 1;
  for (uint32_t i = 0; i < l->n_public_ports; i++)
    if (l->public_ports[i] == port) return 1;
  return 0;
}

mdr_reason mdri_sni_host_check(const mdr_table *t, const mdri_listener *l, mdr_index h,
                               mdr_index r, const char *host, size_t n, mdr_host_kind hk) {
  switch (l->sni_host) {
  case MDR_SNI_HOST_IGNORE: return MDR_REASON_SERVE_UNCHECKED;
  case MDR_SNI_HOST_STRICT:
    return r == h ? MDR_REASON_SERVE_HANDSHAKE_VHOST : MDR_REASON_SNI_HOST_STRICT;
  case MDR_SNI_HOST_COMPATIBLE:
  default:
    if (r == h) return MDR_REASON_SERVE_HANDSHAKE_VHOST;
    if (!mdri_cert_covers(t, t->vhosts[h].cert, host, n, hk)) return MDR_REASON_CERT_NOT_COVERING;
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

static int bad(const dctx *x, mdr_decision *d, mdr_reason reason, unsigned rule) {
  TR(x, rule, "400 %s", mdr_reason_token(reason));
  return finish(d, MDR_BAD_REQUEST, 400, reason, rule);
}

static int misdirected(const dctx *x, mdr_decision *d, mdr_reason reason, unsigned rule) {
  TR(x, rule, "421 %s", mdr_reason_token(reason));
  return finish(d, MDR_MISDIRECTED, 421, reason, rule);
}

/* Parse one authority value; on failure fills the 400 decision and returns 0. */
static int parse_auth(const dctx *x, mdr_decision *d, mdr_str v, int trim, mdr_authority *a,
                      const char *what, unsigned defport) {
  int valid = 0;
  mdr_reason r;
  mdr_authority_parse(v.ptr, v.len, trim, a, &valid, &r);
  if (!valid) {
    TR(x, 2, "%s '%.*s' is not a valid authority", what, SF(v));
    bad(x, d, r, 2);
    return 0;
  }
  TR(x, 2, "%s '%.*s' normalises to host '%s' port %u%s", what, SF(v), a->host,
     a->port ? a->port : defport,
     a->port ? "" : defport == 443 ? " (the https default)" : " (the http default)");
  return 1;
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

static int decide(const mdr_table *t, const mdr_conn *c, const mdr_request *r, mdr_decision *d,
                  char *loc, size_t loc_cap, const dctx *x) {
  if (!t || !c || !r || !d || (!loc && loc_cap)) return MDR_ERR_INVALID_ARGUMENT;
  /* The authority is parsed in place below; zeroing its 272 bytes and then
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
  const mdri_listener *l = &t->listeners[c->listener];
  mdr_index hv = MDR_NONE;
  if (l->tls) {
    hv = c->has_hs_vhost ? c->hs_vhost : l->default_vhost;
    if (hv >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
    d->handshake_vhost = hv;
  }
  const int h2plus = r->version == MDR_HTTP_2 || r->version == MDR_HTTP_3;
  mdr_str method = r->method;
  if (method.len == 0) method = (mdr_str)MDR_STR_LIT("GET");
  const int is_connect = is_lit(method, "CONNECT");
  TR(x, 1, "%s %.*s on listener '%.*s' (%s, port %u)", version_name(r->version), SF(method),
        SF(l->name), l->tls ? "https" : "http", l->port);

  /* ---- Rule 1: which authority ---------------------------------------- */
  if (is_connect && (!h2plus || !r->has_target)) {
    TR(x, 1, "classic CONNECT: this is an origin server, not a proxy");
    return finish(d, MDR_NOT_IMPLEMENTED, 501, MDR_REASON_CONNECT, 1);
  }
  if (!r->has_target)
    return bad(x, d, h2plus ? MDR_REASON_TARGET_MISSING_PATH : MDR_REASON_TARGET_EMPTY, 1);
  mdr_str target = r->target;
  if (target.len == 0) return bad(x, d, MDR_REASON_TARGET_EMPTY, 1);
  for (size_t i = 0; i < target.len; i++) {
    unsigned char ch = (unsigned char)target.ptr[i];
    if (ch < 0x21 || ch > 0x7e || ch == '#') return bad(x, d, MDR_REASON_TARGET_BAD_BYTE, 1);
  }
  int asterisk = 0, absolute = 0;
  mdr_str abs_auth = { NULL, 0 }, path = target;
  int abs_tls = 0;
  if (target.ptr[0] == '/') {
    TR(x, 1, "origin-form target");
  } else if (target.len == 1 && target.ptr[0] == '*') {
    if (!is_lit(method, "OPTIONS")) return bad(x, d, MDR_REASON_TARGET_ASTERISK, 1);
    asterisk = 1;
    TR(x, 1, "asterisk-form target (OPTIONS *): never redirected");
  } else if (h2plus) {
    return bad(x, d, MDR_REASON_TARGET_PATH_FORM, 1);
  } else {
    size_t colon = 0;
    while (colon < target.len && target.ptr[colon] != ':') colon++;
    mdr_str scheme = { target.ptr, colon };
    if (colon + 2 >= target.len || !mdri_scheme_ok(scheme) || target.ptr[colon + 1] != '/' ||
        target.ptr[colon + 2] != '/')
      return bad(x, d, MDR_REASON_TARGET_FORM, 1);
    size_t as = colon + 3, ae = as;
    while (ae < target.len && target.ptr[ae] != '/' && target.ptr[ae] != '?') ae++;
    abs_auth.ptr = target.ptr + as;
    abs_auth.len = ae - as;
    path.ptr = target.ptr + ae;
    path.len = target.len - ae;
    absolute = 1;
    TR(x, 1, "absolute-form target, scheme '%.*s', authority '%.*s'", SF(scheme), SF(abs_auth));
    if (path.len == 0 && is_lit(method, "OPTIONS")) {
      /* RFC 9112 section 3.2.4: OPTIONS with an empty path and no query is
       * the absolute form of OPTIONS *, and like it never redirected. */
      asterisk = 1;
      TR(x, 1, "OPTIONS with an empty path: asterisk-form (OPTIONS *), never redirected");
    }
    if (mdri_str_ieq_lit(scheme, "https")) {
      abs_tls = 1;
    } else if (!mdri_str_ieq_lit(scheme, "http")) {
      return misdirected(x, d, MDR_REASON_SCHEME_UNSUPPORTED, 1);
    }
  }
  int req_tls = l->tls;
  if (h2plus) {
    if (!r->has_scheme || r->scheme.len == 0) return bad(x, d, MDR_REASON_SCHEME_MISSING, 1);
    /* "http" and "https" (any case) satisfy the scheme grammar, so the
     * grammar is only checked for other values. */
    if (r->scheme.len == 5 && mdri_str_ieq_lit(r->scheme, "https")) {
      req_tls = 1;
    } else if (r->scheme.len == 4 && mdri_str_ieq_lit(r->scheme, "http")) {
      req_tls = 0;
    } else if (!mdri_scheme_ok(r->scheme)) {
      return bad(x, d, MDR_REASON_SCHEME_SYNTAX, 1);
    } else {
      TR(x, 1, ":scheme '%.*s'", SF(r->scheme));
      return misdirected(x, d, MDR_REASON_SCHEME_UNSUPPORTED, 1);
    }
  } else if (absolute) {
    req_tls = abs_tls;
  }
  const unsigned defport = mdri_default_port(req_tls);

  mdr_authority hosta;
  mdr_authority *const a = &d->authority; /* valid when d->has_authority */
  int no_host = 0;
  if (!h2plus) {
    if (r->n_host > 1) return bad(x, d, MDR_REASON_HOST_MULTIPLE, 1);
    if (r->version == MDR_HTTP_1_1 && r->n_host == 0) return bad(x, d, MDR_REASON_HOST_MISSING, 1);
    if (absolute) {
      if (!parse_auth(x, d, abs_auth, 0, a, "target authority", defport)) return 0;
      if (r->n_host == 1) {
        if (!parse_auth(x, d, r->host[0], 1, &hosta, "Host", defport)) return 0;
        if (!same_authority(a, &hosta, defport)) return bad(x, d, MDR_REASON_HOST_MISMATCH, 1);
      }
    } else if (r->n_host == 1) {
      if (!parse_auth(x, d, r->host[0], 1, a, "Host", defport)) return 0;
    } else if (l->unknown_host == MDR_UNKNOWN_HOST_DEFAULT) {
      no_host = 1;
      TR(x, 1, "HTTP/1.0 without Host: unknown-host=default uses the listener default");
    } else {
      return bad(x, d, MDR_REASON_HOST_MISSING, 1);
    }
  } else {
    if (r->n_authority > 1) return bad(x, d, MDR_REASON_AUTHORITY_MULTIPLE, 1);
    if (r->n_host > 1) return bad(x, d, MDR_REASON_HOST_MULTIPLE, 1);
    if (r->n_authority == 1) {
      if (r->authority[0].len == 0) return bad(x, d, MDR_REASON_AUTHORITY_EMPTY, 1);
      if (!parse_auth(x, d, r->authority[0], 0, a, ":authority", defport)) return 0;
      if (r->n_host == 1) {
        if (!parse_auth(x, d, r->host[0], 1, &hosta, "Host", defport)) return 0;
        if (!same_authority(a, &hosta, defport)) return bad(x, d, MDR_REASON_HOST_MISMATCH, 1);
      }
    } else if (r->n_host == 1) {
      if (!parse_auth(x, d, r->host[0], 1, a, "Host", defport)) return 0;
    } else {
      return bad(x, d, MDR_REASON_AUTHORITY_MISSING, 1);
    }
  }
  unsigned port = 0;
  if (!no_host) {
    d->has_authority = 1;
    port = a->port ? a->port : defport;
  }

  /* ---- Rule 3: is this connection fit for HTTP at all? ------------------ */
  if (l->tls) {
    if (c->has_alpn && !is_lit(c->alpn, "http/1.1") && !is_lit(c->alpn, "h2") &&
        !is_lit(c->alpn, "http/1.0") && !is_lit(c->alpn, "h3")) {
      TR(x, 3, "ALPN '%.*s' is not an HTTP protocol", SF(c->alpn));
      return misdirected(x, d, MDR_REASON_ALPN_NOT_HTTP, 3);
    }
    if (c->ech == MDR_ECH_REJECTED) return misdirected(x, d, MDR_REASON_ECH_REJECTED, 3);
    if (c->resumed && c->has_resumed_from) {
      if (c->resumed_from >= t->n_vhosts) return MDR_ERR_INVALID_ARGUMENT;
      if (mdri_vhost_class(t, c->resumed_from) != mdri_vhost_class(t, hv)) {
        TR(x, 3, "session created under vhost '%.*s' (policy '%.*s'), handshake vhost '%.*s' (policy '%.*s')",
              SF(t->vhosts[c->resumed_from].name),
              SF(t->policies[t->vhosts[c->resumed_from].policy].name), SF(t->vhosts[hv].name),
              SF(t->policies[t->vhosts[hv].policy].name));
        return misdirected(x, d, MDR_REASON_RESUMED_CROSS_POLICY, 3);
      }
    }
    TR(x, 3, "connection fit for HTTP");
  }

  /* ---- Rule 4: scheme --------------------------------------------------- */
  if (req_tls != l->tls)
    return misdirected(x, d, req_tls ? MDR_REASON_SCHEME_HTTPS_ON_CLEARTEXT : MDR_REASON_SCHEME_HTTP_ON_TLS, 4);
  TR(x, 4, "scheme %s matches the listener", req_tls ? "https" : "http");

  /* ---- Rule 5: port ----------------------------------------------------- */
  if (!no_host) {
    if (!mdri_listener_port_ok(l, port)) {
      TR(x, 5, "port %u is neither the listener's port %u nor one of its public ports", port,
            l->port);
      return misdirected(x, d, MDR_REASON_WRONG_PORT, 5);
    }
    TR(x, 5, "port %u accepted", port);
  }

  /* ---- Rule 6: vhost lookup --------------------------------------------- */
  mdr_index rv;
  int match = MDRI_NAME_EXACT, fallback = 0;
  if (no_host) {
    rv = l->default_vhost;
    fallback = 1;
  } else {
    rv = mdri_lookup(t, c->listener, a->host, a->host_len, a->kind, &match);
    if (rv == MDR_NONE) {
      if (l->unknown_host != MDR_UNKNOWN_HOST_DEFAULT) {
        TR(x, 6, "no vhost on this listener serves '%s'", a->host);
        return misdirected(x, d, MDR_REASON_UNKNOWN_HOST, 6);
      }
      rv = l->default_vhost;
      fallback = 1;
    }
  }
  d->request_vhost = rv;
  TR(x, 6, "vhost '%.*s' (%s)", SF(t->vhosts[rv].name),
        fallback ? "listener default (unknown-host=default)"
                 : match == MDRI_NAME_ALIAS ? "redirect alias"
                 : match == MDRI_NAME_WILD ? "wildcard match" : "exact match");
  {
    unsigned bit = r->version == MDR_HTTP_2 ? MDR_PROTO_H2 : r->version == MDR_HTTP_3 ? MDR_PROTO_H3 : MDR_PROTO_H1;
    if (!(t->vhosts[rv].protocols & bit)) {
      TR(x, 6, "vhost '%.*s' disables %s", SF(t->vhosts[rv].name), version_name(r->version));
      return misdirected(x, d, MDR_REASON_PROTOCOL_DISABLED, 6);
    }
  }

  /* ---- Rule 7: TLS authority -------------------------------------------- */
  mdr_reason serve_reason = fallback ? MDR_REASON_SERVE_DEFAULT : MDR_REASON_SERVE_HANDSHAKE_VHOST;
  if (l->tls) {
    TR(x, 7, "handshake vhost '%.*s', request vhost '%.*s', sni-host=%s", SF(t->vhosts[hv].name),
          SF(t->vhosts[rv].name),
          l->sni_host == MDR_SNI_HOST_STRICT ? "strict"
          : l->sni_host == MDR_SNI_HOST_IGNORE ? "ignore" : "compatible");
    if (no_host) {
      if (l->sni_host != MDR_SNI_HOST_IGNORE && rv != hv)
        return misdirected(x, d, MDR_REASON_DEFAULT_NOT_HANDSHAKE, 7);
    } else {
      mdr_reason cr = mdri_sni_host_check(t, l, hv, rv, a->host, a->host_len, a->kind);
      if (cr != MDR_REASON_SERVE_HANDSHAKE_VHOST && cr != MDR_REASON_SERVE_COALESCED &&
          cr != MDR_REASON_SERVE_UNCHECKED)
        return misdirected(x, d, cr, 7);
      if (cr != MDR_REASON_SERVE_HANDSHAKE_VHOST && !fallback) serve_reason = cr;
      if (cr == MDR_REASON_SERVE_UNCHECKED) serve_reason = cr;
      /* The advertised origin set bounds what is served only under
       * sni-host=ignore, where it is the only check.  Under compatible and
       * strict the sni-host check above is the safety; the set is advisory
       * there (wildcards cannot be listed, a capped set leaves names out,
       * and clients that ignore ORIGIN coalesce by certificate). */
      if (c->has_origin_set && l->sni_host == MDR_SNI_HOST_IGNORE) {
        if (!origin_ok(l, c, a, port)) return misdirected(x, d, MDR_REASON_NOT_IN_ORIGIN_SET, 7);
        TR(x, 7, "origin is in the connection's origin set");
      }
    }
    TR(x, 7, "the TLS handshake authorises this request");
  }

  /* ---- Rule 8: early data ----------------------------------------------- */
  if (c->early_data && !t->vhosts[rv].early_data) {
    TR(x, 8, "0-RTT request for a vhost without early-data");
    return finish(d, MDR_TOO_EARLY, 425, MDR_REASON_EARLY_DATA, 8);
  }

  /* ---- Rule 9: redirects ------------------------------------------------ */
  const mdri_vhost *v = &t->vhosts[rv];
  int to_https = !l->tls && v->http == MDR_HTTP_REDIRECT;
  int alias = !fallback && match == MDRI_NAME_ALIAS;
  if (to_https && (asterisk || is_connect)) {
    TR(x, 9, "http=redirect vhost: OPTIONS * and CONNECT cannot be redirected");
    return misdirected(x, d, MDR_REASON_REDIRECT_ONLY_CLEARTEXT, 9);
  }
  if ((to_https || alias) && !asterisk && !is_connect) {
    const mdri_name *canon = &t->names[v->names_begin];
    mdr_str host;
    int tls_out;
    unsigned out_port;
    if (alias || fallback) {
      host = canon->host;
    } else {
      host.ptr = a->host;
      host.len = a->host_len;
    }
    if (to_https) {
      tls_out = 1;
      out_port = v->first_tls_listener != MDR_NONE ? t->listeners[v->first_tls_listener].public_port : 443u;
    } else {
      tls_out = l->tls;
      out_port = l->public_port;
    }
    lw w = { loc, loc_cap, 0 };
    lw_put(&w, tls_out ? "https://" : "http://", tls_out ? 8 : 7);
    lw_put(&w, host.ptr, host.len);
    if (out_port != mdri_default_port(tls_out)) lw_port(&w, out_port);
    if (path.len == 0 || path.ptr[0] != '/') lw_put(&w, "/", 1);
    lw_put(&w, path.ptr, path.len);
    d->location_len = w.len;
    if (w.len < loc_cap) loc[w.len] = '\0';
    d->vhost = rv;
    finish(d, MDR_REDIRECT, v->redirect_status, alias ? MDR_REASON_REDIRECT_ALIAS : MDR_REASON_REDIRECT_HTTPS, 9);
    TR(x, 9, "%u redirect to %.*s", v->redirect_status,
          (int)(w.len <= loc_cap ? w.len : loc_cap), loc ? loc : "");
    return w.len > loc_cap ? MDR_ERR_BUFFER_TOO_SMALL : 0;
  }

  /* ---- Rule 10: serve ---------------------------------------------------- */
  d->vhost = rv;
  TR(x, 10, "serve vhost '%.*s'", SF(v->name));
  return finish(d, MDR_SERVE, 200, serve_reason, 10);
}

int mdr_decide(const mdr_table *t, const mdr_conn *c, const mdr_request *r, mdr_decision *out,
               char *loc, size_t loc_cap) {
  dctx x = { NULL, NULL };
  return decide(t, c, r, out, loc, loc_cap, &x);
}

int mdr_decide_trace(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                     mdr_decision *out, char *loc, size_t loc_cap, mdr_trace_fn fn, void *user) {
  dctx x = { fn, user };
  return decide(t, c, r, out, loc, loc_cap, &x);
}
