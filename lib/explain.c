/* Explanations of decisions and handshake results: the structured form
 * (mdr_explain_decision / mdr_explain_handshake, with likely causes chosen
 * from the reason and the connection's context) and the one-line text
 * (mdr_decision_explain), which takes its cause clause from the same choice.
 * Nothing here allocates. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* ------------------------------------------------------------------------ */
/* Cause tables                                                              */
/* ------------------------------------------------------------------------ */

static const char *const cause_tokens[] = {
#define MDR_X_(e, tok, cause, fix) tok,
  MDR_CAUSE_MAP(MDR_X_)
#undef MDR_X_
};

static const char *const cause_texts[] = {
#define MDR_X_(e, tok, cause, fix) cause,
  MDR_CAUSE_MAP(MDR_X_)
#undef MDR_X_
};

static const char *const cause_fixes[] = {
#define MDR_X_(e, tok, cause, fix) fix,
  MDR_CAUSE_MAP(MDR_X_)
#undef MDR_X_
};

const char *mdr_cause_token(mdr_cause c) {
  return (unsigned)c < MDR_CAUSE_COUNT_ ? cause_tokens[c] : "unknown";
}

const char *mdr_cause_text(mdr_cause c) {
  return (unsigned)c < MDR_CAUSE_COUNT_ ? cause_texts[c] : "unknown cause";
}

const char *mdr_cause_fix(mdr_cause c) {
  return (unsigned)c < MDR_CAUSE_COUNT_ ? cause_fixes[c] : "unknown cause";
}

/*
 * Short forms for the one-line explanation: who caused it (a noun phrase
 * that reads before "causes this") and the fix in a few words.  Indexed by
 * mdr_cause; a cause left out would read as NULL and is skipped by
 * cause_clause.
 */
static const struct {
  const char *who, *fix;
} short_forms[] = {
  [MDR_CAUSE_NONE] = { "nothing", "nothing to fix" },
  [MDR_CAUSE_PROXY_NO_SNI] = { "a proxy or load balancer that does not forward SNI",
    "enable SNI forwarding" },
  [MDR_CAUSE_PROXY_REWROTE_HOST] = { "a proxy that rewrote Host",
    "make the proxy pass the original Host through" },
  [MDR_CAUSE_CDN_REWROTE_HOST] = { "a CDN that rewrites Host",
    "set the CDN's origin host header to a name a vhost serves" },
  [MDR_CAUSE_CONNECTION_REUSE] = { "an HTTP/2 or HTTP/3 client reusing a connection for another origin",
    "the client must open a connection with SNI for this host (it retries by itself)" },
  [MDR_CAUSE_TLS_TERMINATED_UPSTREAM] = { "a proxy that terminated TLS and forwarded to the cleartext port",
    "forward to the TLS listener" },
  [MDR_CAUSE_WRONG_SERVER] = { "DNS, a load balancer or a CDN sending the host to the wrong server",
    "point the name at the right server" },
  [MDR_CAUSE_MISSING_VHOST] = { "a vhost missing from the configuration",
    "add the name to a vhost on this listener" },
  [MDR_CAUSE_PORT_MAPPING] = { "a proxy or NAT mapping a public port to this listener",
    "declare the port with public-ports=" },
  [MDR_CAUSE_CLIENT_NO_SNI] = { "a client that sends no SNI", "send SNI for the host name" },
  [MDR_CAUSE_CLIENT_BAD_SNI] = { "a client sending an unknown or invalid SNI",
    "connect with the configured host name" },
  [MDR_CAUSE_CLIENT_MALFORMED] = { "a client or intermediary building a malformed request",
    "fix the client" },
  [MDR_CAUSE_CLIENT_PROTOCOL] = { "a client using a protocol feature the vhost does not accept",
    "retry with a supported protocol, or enable it" },
  [MDR_CAUSE_CONFIGURED] = { "the configuration", "nothing, unless it is not what was intended" },
};

_Static_assert(sizeof short_forms / sizeof short_forms[0] == MDR_CAUSE_COUNT_,
               "one short form per cause");

/* ------------------------------------------------------------------------ */
/* Choosing causes                                                           */
/* ------------------------------------------------------------------------ */

enum { SNI_NONE = 0, SNI_KNOWN, SNI_UNKNOWN };

/* What the causes depend on besides the reason. */
typedef struct ectx {
  int tls;             /* TLS listener */
  int sni;             /* SNI_*: no SNI, a configured name, unknown or invalid */
  int multiplexed;     /* HTTP/2 or HTTP/3 (version, or ALPN when no request) */
} ectx;

static void add(mdr_explanation *e, mdr_cause c) {
  for (size_t i = 0; i < e->n_causes; i++)
    if (e->causes[i] == c) return;
  if (e->n_causes < MDR_EXPLAIN_MAX_CAUSES) e->causes[e->n_causes++] = c;
}

/* SNI and Host name different vhosts (policy-mismatch, cert-not-covering,
 * sni-host-strict): who made the connection's SNI and the request's host
 * disagree? */
static void sni_host_causes(mdr_explanation *e, const ectx *x) {
  switch (x->sni) {
  case SNI_NONE:
    add(e, MDR_CAUSE_PROXY_NO_SNI);
    add(e, MDR_CAUSE_CLIENT_NO_SNI);
    break;
  case SNI_UNKNOWN:
    /* unknown-sni=default took an SNI that names no vhost */
    add(e, MDR_CAUSE_CLIENT_BAD_SNI);
    add(e, MDR_CAUSE_PROXY_NO_SNI);
    add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
    break;
  default:
    if (x->multiplexed) {
      add(e, MDR_CAUSE_CONNECTION_REUSE);
      add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
      add(e, MDR_CAUSE_PROXY_NO_SNI);
    } else {
      add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
      add(e, MDR_CAUSE_CDN_REWROTE_HOST);
      add(e, MDR_CAUSE_PROXY_NO_SNI); /* a proxy that sends one fixed SNI */
    }
    break;
  }
}

/* The causes of one reason in context, most likely first.  Every reason of
 * MDR_REASON_MAP gets at least one (the unit tests loop over all of them). */
static void choose_causes(mdr_explanation *e, mdr_reason reason, const ectx *x) {
  e->n_causes = 0;
  switch (reason) {
  /* serve */
  case MDR_REASON_SERVE_HANDSHAKE_VHOST:
  case MDR_REASON_SERVE_COALESCED:
  case MDR_REASON_SNI_MATCH:
    add(e, MDR_CAUSE_NONE);
    break;
  case MDR_REASON_SERVE_DEFAULT:
    add(e, MDR_CAUSE_CONFIGURED); /* unknown-host=default */
    add(e, MDR_CAUSE_MISSING_VHOST);
    break;
  /* sni-host=ignore, and the redirects */
  case MDR_REASON_SERVE_UNCHECKED:
  case MDR_REASON_REDIRECT_ALIAS:
  case MDR_REASON_REDIRECT_HTTPS:
    add(e, MDR_CAUSE_CONFIGURED);
    break;
  /* 400 */
  case MDR_REASON_TARGET_BAD_BYTE:
  case MDR_REASON_TARGET_EMPTY:
  case MDR_REASON_TARGET_FORM:
  case MDR_REASON_TARGET_ASTERISK:
  case MDR_REASON_TARGET_PATH_FORM:
  case MDR_REASON_TARGET_MISSING_PATH:
  case MDR_REASON_SCHEME_MISSING:
  case MDR_REASON_SCHEME_SYNTAX:
  case MDR_REASON_HOST_MISSING:
  case MDR_REASON_AUTHORITY_MULTIPLE:
  case MDR_REASON_AUTHORITY_EMPTY:
  case MDR_REASON_AUTHORITY_MISSING:
  case MDR_REASON_HOST_EMPTY:
  case MDR_REASON_HOST_BAD_CHAR:
  case MDR_REASON_HOST_NON_ASCII:
  case MDR_REASON_HOST_PERCENT:
  case MDR_REASON_HOST_USERINFO:
  case MDR_REASON_HOST_LABEL_EMPTY:
  case MDR_REASON_HOST_LABEL_LONG:
  case MDR_REASON_HOST_LABEL_HYPHEN:
  case MDR_REASON_HOST_NAME_LONG:
  case MDR_REASON_HOST_NUMERIC:
  case MDR_REASON_HOST_IPV6:
  case MDR_REASON_HOST_IPV6_ZONE:
  case MDR_REASON_HOST_IPVFUTURE:
  case MDR_REASON_PORT_SYNTAX:
  case MDR_REASON_PORT_RANGE:
    add(e, MDR_CAUSE_CLIENT_MALFORMED);
    break;
  case MDR_REASON_HOST_MULTIPLE:
  case MDR_REASON_HOST_MISMATCH:
    add(e, MDR_CAUSE_CLIENT_MALFORMED);
    add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
    break;
  /* 421: the connection or the scheme */
  case MDR_REASON_SCHEME_UNSUPPORTED:
  case MDR_REASON_ALPN_NOT_HTTP:
  case MDR_REASON_ECH_REJECTED:
  case MDR_REASON_SCHEME_HTTP_ON_TLS:
    add(e, MDR_CAUSE_CLIENT_PROTOCOL);
    break;
  case MDR_REASON_RESUMED_CROSS_POLICY:
    add(e, MDR_CAUSE_CONNECTION_REUSE);
    break;
  case MDR_REASON_SCHEME_HTTPS_ON_CLEARTEXT:
    add(e, MDR_CAUSE_TLS_TERMINATED_UPSTREAM);
    break;
  case MDR_REASON_WRONG_PORT:
    add(e, MDR_CAUSE_PORT_MAPPING);
    add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
    break;
  /* 421: which vhost */
  case MDR_REASON_UNKNOWN_HOST:
    if (x->tls && x->sni == SNI_KNOWN) {
      /* the client connected for a configured name and asks for another */
      add(e, MDR_CAUSE_CDN_REWROTE_HOST);
      add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
      add(e, MDR_CAUSE_MISSING_VHOST);
      add(e, MDR_CAUSE_WRONG_SERVER);
    } else {
      add(e, MDR_CAUSE_MISSING_VHOST);
      add(e, MDR_CAUSE_WRONG_SERVER);
      add(e, MDR_CAUSE_CDN_REWROTE_HOST);
      add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
    }
    break;
  case MDR_REASON_PROTOCOL_DISABLED:
    if (x->tls) add(e, MDR_CAUSE_CONNECTION_REUSE); /* ALPN was H's; R is a coalesced vhost */
    add(e, MDR_CAUSE_CLIENT_PROTOCOL);
    break;
  case MDR_REASON_CERT_NOT_COVERING:
  case MDR_REASON_POLICY_MISMATCH:
    sni_host_causes(e, x);
    break;
  case MDR_REASON_SNI_HOST_STRICT:
    add(e, MDR_CAUSE_CONFIGURED);
    sni_host_causes(e, x);
    break;
  case MDR_REASON_NOT_IN_ORIGIN_SET:
    add(e, MDR_CAUSE_CONNECTION_REUSE);
    add(e, MDR_CAUSE_PROXY_REWROTE_HOST);
    break;
  case MDR_REASON_DEFAULT_NOT_HANDSHAKE:
    add(e, MDR_CAUSE_CLIENT_PROTOCOL); /* HTTP/1.0 without Host */
    add(e, MDR_CAUSE_CONFIGURED);
    break;
  case MDR_REASON_REDIRECT_ONLY_CLEARTEXT:
    add(e, MDR_CAUSE_CONFIGURED);
    add(e, MDR_CAUSE_CLIENT_PROTOCOL);
    break;
  /* 425, 501 */
  case MDR_REASON_EARLY_DATA:
  case MDR_REASON_CONNECT:
    add(e, MDR_CAUSE_CLIENT_PROTOCOL);
    break;
  /* handshake step */
  case MDR_REASON_SNI_NONE_DEFAULT:
    add(e, MDR_CAUSE_CONFIGURED); /* no-sni=default */
    add(e, MDR_CAUSE_CLIENT_NO_SNI);
    add(e, MDR_CAUSE_PROXY_NO_SNI);
    break;
  case MDR_REASON_SNI_UNKNOWN_DEFAULT:
    add(e, MDR_CAUSE_CONFIGURED); /* unknown-sni=default */
    add(e, MDR_CAUSE_CLIENT_BAD_SNI);
    break;
  case MDR_REASON_SNI_UNKNOWN:
    add(e, MDR_CAUSE_CLIENT_BAD_SNI);
    add(e, MDR_CAUSE_WRONG_SERVER);
    add(e, MDR_CAUSE_MISSING_VHOST);
    break;
  case MDR_REASON_SNI_INVALID:
    add(e, MDR_CAUSE_CLIENT_BAD_SNI);
    break;
  case MDR_REASON_SNI_MISSING:
    add(e, MDR_CAUSE_PROXY_NO_SNI);
    add(e, MDR_CAUSE_CLIENT_NO_SNI);
    break;
  case MDR_REASON_COUNT_:
  default:
    break;
  }
}

static int is_multiplexed_alpn(const mdr_conn *c) {
  return c->has_alpn && (mdri_str_eq_lit(c->alpn, "h2") || mdri_str_eq_lit(c->alpn, "h3"));
}

/* Does the connection's SNI name a vhost on the listener? */
static int sni_state(const mdr_table *t, mdr_index listener, int has_sni, const char *p, size_t n) {
  if (!has_sni) return SNI_NONE;
  mdr_authority a;
  if (!mdri_sni_valid(p, n, &a)) return SNI_UNKNOWN;
  return mdri_lookup(t, listener, a.host, a.host_len, a.kind, NULL) != MDR_NONE ? SNI_KNOWN
                                                                                 : SNI_UNKNOWN;
}

static void conn_ctx(const mdr_table *t, const mdr_conn *c, const mdr_request *r, ectx *x) {
  x->tls = t->listeners[c->listener].tls;
  x->sni = x->tls ? sni_state(t, c->listener, c->has_sni, c->sni.ptr, c->has_sni ? c->sni.len : 0)
                  : SNI_NONE;
  x->multiplexed = is_multiplexed_alpn(c) ||
                   (r && (r->version == MDR_HTTP_2 || r->version == MDR_HTTP_3));
}

/* ------------------------------------------------------------------------ */
/* Structured explanations                                                   */
/* ------------------------------------------------------------------------ */

/* Is the request https (the scheme whose default port an absent port means)? */
static int request_tls(const mdri_listener *l, const mdr_request *r) {
  if (!r) return l->tls;
  if (r->version == MDR_HTTP_2 || r->version == MDR_HTTP_3) {
    if (r->has_scheme && mdri_str_ieq_lit(r->scheme, "https")) return 1;
    if (r->has_scheme && mdri_str_ieq_lit(r->scheme, "http")) return 0;
    return l->tls;
  }
  if (r->has_target && r->target.len && r->target.ptr[0] != '/' && r->target.ptr[0] != '*') {
    mdr_str t = r->target;
    size_t colon = 0;
    while (colon < t.len && t.ptr[colon] != ':') colon++;
    mdr_str scheme = { t.ptr, colon };
    if (mdri_str_ieq_lit(scheme, "https")) return 1;
    if (mdri_str_ieq_lit(scheme, "http")) return 0;
  }
  return l->tls;
}

static int ca_differs(const mdri_policy *a, const mdri_policy *b) {
  if (a->ca_identity.len || b->ca_identity.len) return !mdri_str_eq(a->ca_identity, b->ca_identity);
  return !mdri_str_eq(a->ca_file, b->ca_file);
}

static int vhost_ok(const mdr_table *t, mdr_index v) { return v == MDR_NONE || v < t->n_vhosts; }

/* A decision mdr_decide could not have written, such as a zeroed one
 * (status 0), must not be explained as "served by vhost 0". */
static int decision_ok(const mdr_decision *d) {
  return d->status != 0 && (unsigned)d->reason < MDR_REASON_COUNT_;
}

static void clear(mdr_explanation *out) {
  memset(out, 0, sizeof *out);
  out->listener = MDR_NONE;
  out->handshake_vhost = MDR_NONE;
  out->request_vhost = MDR_NONE;
  out->vhost = MDR_NONE;
}

int mdr_explain_decision(const mdr_table *t, const mdr_conn *c, const mdr_request *r,
                         const mdr_decision *d, mdr_explanation *out) {
  if (!out) return MDR_ERR_INVALID_ARGUMENT;
  clear(out);
  if (!t || !c || !d || c->listener >= t->n_listeners || (c->has_sni && !c->sni.ptr && c->sni.len) ||
      !decision_ok(d) || !vhost_ok(t, d->handshake_vhost) ||
      !vhost_ok(t, d->request_vhost) || !vhost_ok(t, d->vhost) ||
      d->authority.host_len > MDR_HOST_MAX)
    return MDR_ERR_INVALID_ARGUMENT;
  if (r && ((r->n_host && !r->host) || (r->n_authority && !r->authority)))
    return MDR_ERR_INVALID_ARGUMENT;
  const mdri_listener *l = &t->listeners[c->listener];
  out->kind = d->kind;
  out->status = d->status;
  out->reason = d->reason;
  out->rule = d->rule;
  out->listener = c->listener;
  out->handshake_vhost = d->handshake_vhost;
  out->request_vhost = d->request_vhost;
  out->vhost = d->vhost;
  out->has_sni = c->has_sni ? 1 : 0;
  if (c->has_sni) out->sni = c->sni;
  if (r && r->n_host) {
    out->has_host = 1;
    out->host = r->host[0];
  }
  if (r && r->n_authority) {
    out->has_authority = 1;
    out->authority = r->authority[0];
  }
  if (d->has_authority) {
    out->request_host.ptr = d->authority.host;
    out->request_host.len = d->authority.host_len;
    out->request_port = d->authority.port ? d->authority.port : mdri_default_port(request_tls(l, r));
  }
  mdr_index h = d->handshake_vhost, rv = d->request_vhost;
  if (h != MDR_NONE && rv != MDR_NONE) {
    const mdri_policy *ph = &t->policies[t->vhosts[h].policy];
    const mdri_policy *pr = &t->policies[t->vhosts[rv].policy];
    if (ph->client_auth != pr->client_auth) out->differs |= MDR_DIFF_CLIENT_AUTH;
    if (ca_differs(ph, pr)) out->differs |= MDR_DIFF_CA;
    if (ph->min_tls != pr->min_tls) out->differs |= MDR_DIFF_MIN_TLS;
    if (d->has_authority && !mdri_cert_covers(t, t->vhosts[h].cert, d->authority.host,
                                              d->authority.host_len, d->authority.kind))
      out->differs |= MDR_DIFF_CERT;
    if (h != rv) out->differs |= MDR_DIFF_VHOST;
  }
  ectx x;
  conn_ctx(t, c, r, &x);
  choose_causes(out, d->reason, &x);
  return 0;
}

int mdr_explain_handshake(const mdr_table *t, mdr_index listener, int has_sni, const char *sni,
                          size_t sni_len, const mdr_handshake_result *hs, mdr_explanation *out) {
  if (!out) return MDR_ERR_INVALID_ARGUMENT;
  clear(out);
  if (!t || !hs || (!sni && sni_len) || listener >= t->n_listeners ||
      (unsigned)hs->reason >= MDR_REASON_COUNT_ || hs->sni_len > MDR_HOST_MAX ||
      (hs->outcome == MDR_HS_ACCEPT && !vhost_ok(t, hs->vhost)))
    return MDR_ERR_INVALID_ARGUMENT;
  out->rule = 0;
  out->reason = hs->reason;
  out->listener = listener;
  out->has_sni = has_sni ? 1 : 0;
  if (has_sni) {
    out->sni.ptr = sni;
    out->sni.len = sni_len;
  }
  if (hs->sni_valid) {
    out->request_host.ptr = hs->sni;
    out->request_host.len = hs->sni_len;
  }
  if (hs->outcome == MDR_HS_ALERT) {
    out->kind = MDR_MISDIRECTED;
    out->alert = hs->alert;
  } else {
    out->kind = MDR_SERVE;
    out->handshake_vhost = hs->vhost;
    out->vhost = hs->vhost;
  }
  ectx x = { t->listeners[listener].tls, sni_state(t, listener, has_sni, sni, has_sni ? sni_len : 0),
             0 };
  choose_causes(out, hs->reason, &x);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* One-line explanation                                                      */
/* ------------------------------------------------------------------------ */

typedef struct sb {
  char *buf;
  size_t cap, len;
} sb;

static void sb_printf(sb *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_put(sb *s, const char *p, size_t k) {
  if (s->len < s->cap) {
    size_t room = s->cap - s->len;
    memcpy(s->buf + s->len, p, k < room ? k : room);
  }
  s->len += k;
}

static void sb_printf(sb *s, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  sb_put(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

#define SF(s) (int)((s).len > 255 ? 255 : (s).len), ((s).ptr ? (s).ptr : "")

static const char *auth_name(mdr_client_auth a) {
  return a == MDR_CLIENT_AUTH_REQUIRED ? "required" : a == MDR_CLIENT_AUTH_OPTIONAL ? "optional" : "none";
}

static void describe_policy(sb *s, const mdr_table *t, mdr_index v) {
  const mdri_policy *p = &t->policies[t->vhosts[v].policy];
  sb_printf(s, "policy '%.*s': client-auth=%s%s%.*s, min-tls=%s", SF(p->name),
            auth_name(p->client_auth), p->ca_file.len ? ", ca-file=" : "", SF(p->ca_file),
            p->min_tls == MDR_TLS_1_3 ? "1.3" : "1.2");
}

/* Bytes as received (an SNI), quoted, with every byte that is not graphic
 * ASCII (and the quote and backslash) as \xHH: a log line built from the
 * explanation cannot be broken by what a client sent. */
static void sb_value(sb *s, mdr_str v) {
  static const char hex[] = "0123456789abcdef";
  size_t n = v.len > 255 ? 255 : v.len;
  sb_put(s, "'", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v.ptr[i];
    if (ch >= 0x21 && ch < 0x7f && ch != '\\' && ch != '\'') {
      sb_put(s, v.ptr + i, 1);
    } else {
      char e[4] = { '\\', 'x', hex[ch >> 4], hex[ch & 15] };
      sb_put(s, e, sizeof e);
    }
  }
  if (v.len > n) sb_put(s, "...", 3);
  sb_put(s, "'", 1);
}

static void describe_sni(sb *s, const mdr_conn *c) {
  if (!c->has_sni) {
    sb_printf(s, "the connection sent no SNI");
  } else {
    sb_printf(s, "the connection's SNI named ");
    sb_value(s, c->sni);
  }
}

/* "; WHO [, or WHO2,] causes this - FIX" from the first two likely causes
 * (the same choice mdr_explain_decision makes, without the request). */
static void cause_clause(sb *s, const mdr_table *t, const mdr_conn *c, mdr_reason reason) {
  mdr_explanation e;
  ectx x;
  conn_ctx(t, c, NULL, &x);
  e.n_causes = 0;
  choose_causes(&e, reason, &x);
  size_t first = 0;
  /* "the configuration causes this" says nothing here: the listener option
   * was already named; lead with the cause behind it. */
  if (e.n_causes > 1 && e.causes[0] == MDR_CAUSE_CONFIGURED) first = 1;
  if (first >= e.n_causes) return;
  mdr_cause c0 = e.causes[first];
  if (!short_forms[c0].who) return;
  if (first + 1 < e.n_causes && short_forms[e.causes[first + 1]].who)
    sb_printf(s, "; %s, or %s, causes this - %s", short_forms[c0].who,
              short_forms[e.causes[first + 1]].who, short_forms[c0].fix);
  else
    sb_printf(s, "; %s causes this - %s", short_forms[c0].who, short_forms[c0].fix);
}

size_t mdr_decision_explain(const mdr_table *t, const mdr_conn *c, const mdr_decision *d,
                            char *buf, size_t cap) {
  sb s = { buf, cap, 0 };
  if (!t || !c || !d || (!buf && cap) || !decision_ok(d)) return 0;
  if (c->listener >= t->n_listeners || (c->has_sni && !c->sni.ptr && c->sni.len)) return 0;
  const char *host = d->has_authority ? d->authority.host : "";
  mdr_index h = d->handshake_vhost, r = d->request_vhost;
  int hv = h != MDR_NONE && h < t->n_vhosts, rv = r != MDR_NONE && r < t->n_vhosts;
  switch (d->reason) {
  case MDR_REASON_CERT_NOT_COVERING:
    if (hv && rv) {
      describe_sni(&s, c);
      sb_printf(&s, ", so the handshake used vhost '%.*s' and its cert '%.*s', which does not cover '%s' (vhost '%.*s')",
                SF(mdri_vhost_name(t, h)),
                SF(t->vhosts[h].cert != MDR_NONE ? t->certs[t->vhosts[h].cert].name : (mdr_str)MDR_STR_LIT("-")),
                host, SF(mdri_vhost_name(t, r)));
      cause_clause(&s, t, c, d->reason);
      break;
    }
    goto generic;
  case MDR_REASON_POLICY_MISMATCH:
    if (hv && rv) {
      describe_sni(&s, c);
      sb_printf(&s, " (handshake vhost '%.*s', ", SF(mdri_vhost_name(t, h)));
      describe_policy(&s, t, h);
      sb_printf(&s, ") but the request names '%s' (vhost '%.*s', ", host, SF(mdri_vhost_name(t, r)));
      describe_policy(&s, t, r);
      sb_printf(&s, "), whose TLS policy the handshake did not apply");
      cause_clause(&s, t, c, d->reason);
      break;
    }
    goto generic;
  case MDR_REASON_SNI_HOST_STRICT:
    if (hv && rv) {
      describe_sni(&s, c);
      sb_printf(&s, " (handshake vhost '%.*s') but the request is for vhost '%.*s' and the "
                "listener has sni-host=strict", SF(mdri_vhost_name(t, h)), SF(mdri_vhost_name(t, r)));
      cause_clause(&s, t, c, d->reason);
      break;
    }
    goto generic;
  case MDR_REASON_DEFAULT_NOT_HANDSHAKE:
    if (hv && rv) {
      describe_sni(&s, c);
      sb_printf(&s, " (handshake vhost '%.*s') but the request is for vhost '%.*s'; %s",
                SF(mdri_vhost_name(t, h)), SF(mdri_vhost_name(t, r)), mdr_reason_text(d->reason));
      break;
    }
    goto generic;
  case MDR_REASON_UNKNOWN_HOST:
    sb_printf(&s, "no vhost on listener '%.*s' serves '%s' (there is no fallback)",
              SF(t->listeners[c->listener].name), host);
    cause_clause(&s, t, c, d->reason);
    break;
  case MDR_REASON_WRONG_PORT: {
    const mdri_listener *l = &t->listeners[c->listener];
    sb_printf(&s, "the request names port %u but listener '%.*s' serves port %u",
              d->authority.port ? d->authority.port : mdri_default_port(l->tls), SF(l->name),
              (unsigned)l->public_port);
    sb_printf(&s, "; fix the link, or declare the port mapping with public-ports=");
    break;
  }
  case MDR_REASON_SERVE_HANDSHAKE_VHOST:
  case MDR_REASON_SERVE_COALESCED:
  case MDR_REASON_SERVE_DEFAULT:
  case MDR_REASON_SERVE_UNCHECKED:
    if (rv) {
      sb_printf(&s, "served by vhost '%.*s'%s%s%s: %s", SF(mdri_vhost_name(t, r)),
                d->has_authority ? " for '" : "", host, d->has_authority ? "'" : "",
                mdr_reason_text(d->reason));
      break;
    }
    goto generic;
  case MDR_REASON_REDIRECT_ALIAS:
  case MDR_REASON_REDIRECT_HTTPS:
    if (rv) {
      sb_printf(&s, "'%s' belongs to vhost '%.*s': %s", host, SF(mdri_vhost_name(t, r)),
                mdr_reason_text(d->reason));
      break;
    }
    goto generic;
  default:
  generic:
    if (d->has_authority && d->kind != MDR_BAD_REQUEST)
      sb_printf(&s, "request for '%s': %s", host, mdr_reason_text(d->reason));
    else
      sb_printf(&s, "%s", mdr_reason_text(d->reason));
    break;
  }
  if (cap) buf[s.len < cap ? s.len : cap - 1] = '\0';
  return s.len;
}
