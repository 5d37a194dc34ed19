/* Specific one-line explanations of decisions (names the SNI, host, vhosts). */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

typedef struct sb {
  char *buf;
  size_t cap, len;
} sb;

static void sb_printf(sb *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(sb *s, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t k = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
  if (s->len < s->cap) {
    size_t room = s->cap - s->len;
    memcpy(s->buf + s->len, tmp, k < room ? k : room);
  }
  s->len += k;
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

static void describe_sni(sb *s, const mdr_conn *c) {
  if (!c->has_sni)
    sb_printf(s, "the connection sent no SNI");
  else
    sb_printf(s, "the connection's SNI named '%.*s'", SF(c->sni));
}

size_t mdr_decision_explain(const mdr_table *t, const mdr_conn *c, const mdr_decision *d,
                            char *buf, size_t cap) {
  sb s = { buf, cap, 0 };
  if (!t || !c || !d || (!buf && cap)) return 0;
  const char *host = d->has_authority ? d->authority.host : "";
  mdr_index h = d->handshake_vhost, r = d->request_vhost;
  int hv = h != MDR_NONE && h < t->n_vhosts, rv = r != MDR_NONE && r < t->n_vhosts;
  switch (d->reason) {
  case MDR_REASON_CERT_NOT_COVERING:
    if (hv && rv) {
      describe_sni(&s, c);
      sb_printf(&s, ", so the handshake used vhost '%.*s' and its cert '%.*s', which does not cover '%s' (vhost '%.*s')",
                SF(t->vhosts[h].name),
                SF(t->vhosts[h].cert != MDR_NONE ? t->certs[t->vhosts[h].cert].name : (mdr_str)MDR_STR_LIT("-")),
                host, SF(t->vhosts[r].name));
      if (!c->has_sni)
        sb_printf(&s, "; a proxy or client that does not send SNI causes this - enable SNI forwarding");
      else
        sb_printf(&s, "; the client reused a connection for another origin, or a proxy rewrote Host");
      break;
    }
    goto generic;
  case MDR_REASON_POLICY_MISMATCH:
    if (hv && rv) {
      describe_sni(&s, c);
      sb_printf(&s, " (handshake vhost '%.*s', ", SF(t->vhosts[h].name));
      describe_policy(&s, t, h);
      sb_printf(&s, ") but the request names '%s' (vhost '%.*s', ", host, SF(t->vhosts[r].name));
      describe_policy(&s, t, r);
      int reuse = c->has_alpn && (mdri_str_eq_lit(c->alpn, "h2") || mdri_str_eq_lit(c->alpn, "h3"));
      sb_printf(&s, "), whose TLS policy the handshake did not apply; %s",
                !c->has_sni ? "a proxy that does not forward SNI causes this - enable SNI forwarding"
                : reuse ? "the client reused an HTTP/2 or HTTP/3 connection for another origin, or a proxy rewrote Host - the client must open a connection with SNI for this host"
                        : "a proxy rewrote Host or did not forward the client's SNI - send SNI for the host the request names");
      break;
    }
    goto generic;
  case MDR_REASON_SNI_HOST_STRICT:
  case MDR_REASON_DEFAULT_NOT_HANDSHAKE:
    if (hv && rv) {
      describe_sni(&s, c);
      sb_printf(&s, " (handshake vhost '%.*s') but the request is for vhost '%.*s'; %s",
                SF(t->vhosts[h].name), SF(t->vhosts[r].name), mdr_reason_text(d->reason));
      break;
    }
    goto generic;
  case MDR_REASON_UNKNOWN_HOST:
    sb_printf(&s, "no vhost on listener '%.*s' serves '%s' (there is no fallback); a CDN, load "
              "balancer or DNS record sends it to the wrong server, or the vhost is missing from "
              "the configuration", SF(t->listeners[c->listener].name), host);
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
      sb_printf(&s, "served by vhost '%.*s'%s%s%s: %s", SF(t->vhosts[r].name),
                d->has_authority ? " for '" : "", host, d->has_authority ? "'" : "",
                mdr_reason_text(d->reason));
      break;
    }
    goto generic;
  case MDR_REASON_REDIRECT_ALIAS:
  case MDR_REASON_REDIRECT_HTTPS:
    if (rv) {
      sb_printf(&s, "'%s' belongs to vhost '%.*s': %s", host, SF(t->vhosts[r].name),
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
