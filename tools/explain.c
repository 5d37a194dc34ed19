/*
 * `misdirect explain`: renders one case's outcome for a newcomer (sections:
 * the decision, the names involved, how the handshake vhost H and the
 * request vhost R compare, every rule step, the one-line explanation, the
 * likely causes with their fixes, the expectation) or as one JSON object
 * with the same content.  Everything specific comes from the library's
 * structured explanation; this file only lays it out.
 *
 * JSON strings: '"' and '\' are escaped, bytes below 0x20 and 0x7f are
 * written as \u00XX, and bytes 0x80-0xff are written as \u00XX of the byte
 * value (so the output is always ASCII and valid JSON; a UTF-8 name shows
 * as one code point per byte, and the original bytes can be recovered).
 */
#include <stdarg.h>
#include <string.h>

#include "explain.h"

void mdrt_step_collect(void *user, unsigned rule, const char *what, size_t what_len) {
  mdrt_steps *s = user;
  if (s->n >= MDRT_STEP_MAX) {
    s->truncated = 1;
    return;
  }
  mdrt_step *st = &s->step[s->n++];
  st->rule = rule;
  st->len = what_len < sizeof st->text ? what_len : sizeof st->text - 1;
  memcpy(st->text, what, st->len);
  st->text[st->len] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Writers: the same text goes raw to the human report or escaped into JSON */
/* ------------------------------------------------------------------------ */

typedef struct wr {
  FILE *f;
  int json;                    /* escape as the inside of a JSON string */
} wr;

static void w_bytes(const wr *w, const char *p, size_t n) {
  if (!w->json) {
    fwrite(p, 1, n, w->f);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch == '"' || ch == '\\')
      fprintf(w->f, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f)
      fprintf(w->f, "\\u%04x", ch);
    else
      putc(ch, w->f);
  }
}

static void w_str(const wr *w, const char *s) { w_bytes(w, s, strlen(s)); }

/* Text that may quote what a client sent (the core's trace steps quote
 * invalid Host values as received): in the human report, bytes that are not
 * printable ASCII are shown as \xHH so nothing reaches the terminal raw. */
static void w_text(const wr *w, const char *p, size_t n) {
  if (w->json) {
    w_bytes(w, p, n);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch >= 0x20 && ch < 0x7f)
      putc(ch, w->f);
    else
      fprintf(w->f, "\\x%02x", ch);
  }
}

static void w_fmt(const wr *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void w_fmt(const wr *w, const char *fmt, ...) {
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  w_bytes(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A received value, quoted: graphic ASCII as is, every other byte (and the
 * quote and backslash) as \xHH, so nothing invisible hides in it. */
static void w_value(const wr *w, mdr_str v) {
  w_str(w, "'");
  for (size_t i = 0; i < v.len; i++) {
    unsigned char ch = (unsigned char)v.ptr[i];
    if (ch >= 0x21 && ch < 0x7f && ch != '\\' && ch != '\'') {
      char c1 = (char)ch;
      w_bytes(w, &c1, 1);
    } else {
      w_fmt(w, "\\x%02x", ch);
    }
  }
  w_str(w, "'");
}

/* JSON string (with quotes) of raw bytes; shared with `misdirect lint`. */
void mdrt_json_str(FILE *f, const char *p, size_t n) {
  wr w = { f, 1 };
  putc('"', f);
  w_bytes(&w, p, n);
  putc('"', f);
}

static void j_str(FILE *f, const char *p, size_t n) { mdrt_json_str(f, p, n); }

static void j_cstr(FILE *f, const char *s) {
  if (s)
    j_str(f, s, strlen(s));
  else
    fputs("null", f);
}

static void j_mstr(FILE *f, int present, mdr_str s) {
  if (present)
    j_str(f, s.ptr ? s.ptr : "", s.len);
  else
    fputs("null", f);
}

/* ------------------------------------------------------------------------ */
/* Names of things                                                           */
/* ------------------------------------------------------------------------ */

static const char *rule_name(unsigned rule) {
  switch (rule) {
  case 0: return "the handshake step";
  case 1: return "which authority";
  case 2: return "authority syntax";
  case 3: return "connection fit for HTTP";
  case 4: return "scheme";
  case 5: return "port";
  case 6: return "vhost lookup";
  case 7: return "TLS authority";
  case 8: return "early data";
  case 9: return "redirects";
  case 10: return "serve";
  default: return "?";
  }
}

static const char *status_text(unsigned status) {
  switch (status) {
  case 200: return "OK";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 421: return "Misdirected Request";
  case 425: return "Too Early";
  case 501: return "Not Implemented";
  default: return "";
  }
}

static const char *kind_token(const mdrt_run *run) {
  if (run->alert) return "alert";
  switch (run->d->kind) {
  case MDR_SERVE: return "serve";
  case MDR_MISDIRECTED: return "misdirected";
  case MDR_REDIRECT: return "redirect";
  case MDR_BAD_REQUEST: return "bad-request";
  case MDR_TOO_EARLY: return "too-early";
  case MDR_NOT_IMPLEMENTED: return "not-implemented";
  default: return "unknown";
  }
}

static const char *auth_name(mdr_client_auth a) {
  return a == MDR_CLIENT_AUTH_REQUIRED ? "required" : a == MDR_CLIENT_AUTH_OPTIONAL ? "optional" : "none";
}

static const char *tls_name(mdr_min_tls m) { return m == MDR_TLS_1_3 ? "1.3" : "1.2"; }

static const char *const diff_names[] = { "client-auth", "ca", "min-tls", "cert", "vhost" };

/* "STATUS VHOST|- LOCATION|- REASON", as `misdirect decide` prints it. */
static void w_decision(const wr *w, const mdr_table *t, const mdrt_run *run) {
  if (run->alert) {
    w_fmt(w, "%s - - %s", mdr_alert_name(run->hs->alert), mdr_reason_token(run->hs->reason));
    return;
  }
  const mdr_decision *d = run->d;
  w_fmt(w, "%u ", d->status);
  if (d->vhost != MDR_NONE) {
    mdr_str vn = mdr_vhost_name(t, d->vhost);
    w_bytes(w, vn.ptr, vn.len);
    w_str(w, " ");
  } else {
    w_str(w, "- ");
  }
  if (d->kind == MDR_REDIRECT && run->loc_len > 0) {
    w_bytes(w, run->loc, run->loc_len);
    w_str(w, " ");
  } else {
    w_str(w, "- ");
  }
  w_str(w, mdr_reason_token(d->reason));
}

/* "SNI 'x' -> handshake vhost V (reason)" / "... -> fatal alert A (reason): text" */
static void w_handshake(const wr *w, const mdr_table *t, const mdrt_run *run) {
  const mdrc_case *c = run->c;
  if (c->has_sni) {
    w_str(w, "SNI ");
    w_value(w, c->sni);
  } else {
    w_str(w, "no SNI");
  }
  const mdr_handshake_result *hs = run->hs;
  if (hs->outcome == MDR_HS_ALERT) {
    w_fmt(w, " -> fatal alert %s (%s): %s", mdr_alert_name(hs->alert),
          mdr_reason_token(hs->reason), mdr_reason_text(hs->reason));
  } else {
    mdr_str vn = mdr_vhost_name(t, hs->vhost);
    w_fmt(w, " -> handshake vhost %.*s (%s)", (int)vn.len, vn.ptr, mdr_reason_token(hs->reason));
  }
}

/* ------------------------------------------------------------------------ */
/* Human report                                                              */
/* ------------------------------------------------------------------------ */

#define LABEL "  %-14s"

static void h_label(const wr *w, const char *label) { w_fmt(w, LABEL, label); }

static void h_vhost(const wr *w, const mdr_table *t, mdr_index v) {
  mdr_vhost_info vi;
  if (mdr_table_vhost_info(t, v, &vi) != 0) return;
  w_fmt(w, LABEL, "");
  if (vi.cert.len) {
    w_fmt(w, "cert '%.*s'", (int)vi.cert.len, vi.cert.ptr);
    if (vi.cert_file.len) w_fmt(w, " (file %.*s)", (int)vi.cert_file.len, vi.cert_file.ptr);
  } else {
    w_str(w, "no cert");
  }
  w_fmt(w, ", policy '%.*s': client-auth=%s, ", (int)vi.policy.len, vi.policy.ptr,
        auth_name(vi.client_auth));
  if (vi.ca_file.len)
    w_fmt(w, "ca-file=%.*s", (int)vi.ca_file.len, vi.ca_file.ptr);
  else
    w_str(w, "no CA set");
  w_fmt(w, ", min-tls=%s\n", tls_name(vi.min_tls));
}

static void h_names(const wr *w, const mdr_table *t, const mdrt_run *run, const mdr_explanation *e) {
  const mdrc_case *c = run->c;
  mdr_listener_info li;
  mdr_table_listener_info(t, c->conn.listener, &li);
  w_str(w, "\nnames:\n");
  h_label(w, "listener");
  w_fmt(w, "%.*s (%s, port %u", (int)li.name.len, li.name.ptr, li.tls ? "https" : "http", li.port);
  if (li.public_port != li.port) w_fmt(w, ", public port %u", li.public_port);
  w_str(w, ")\n");
  h_label(w, "SNI");
  if (!run->tls)
    w_str(w, "(none: cleartext listener)\n");
  else if (!c->has_sni)
    w_str(w, "(none: the client sent no SNI)\n");
  else {
    w_value(w, c->sni);
    if (run->hs->sni_valid && (run->hs->sni_len != c->sni.len ||
                               memcmp(run->hs->sni, c->sni.ptr, c->sni.len) != 0))
      w_fmt(w, " (normalised: %s)", run->hs->sni);
    else if (!run->hs->sni_valid)
      w_str(w, " (not a valid host name)");
    w_str(w, "\n");
  }
  if (run->alert) {
    h_label(w, "vhost H");
    w_str(w, "(none: the handshake refused the connection; no request was read)\n");
    return;
  }
  h_label(w, "Host");
  if (c->req.n_host) {
    w_value(w, c->req.host[0]);
    if (c->req.n_host > 1) w_fmt(w, " (first of %zu Host fields)", c->req.n_host);
    w_str(w, "\n");
  } else {
    w_str(w, "(none)\n");
  }
  h_label(w, ":authority");
  if (c->req.n_authority) {
    w_value(w, c->req.authority[0]);
    if (c->req.n_authority > 1) w_fmt(w, " (first of %zu)", c->req.n_authority);
    w_str(w, "\n");
  } else if (c->req.version == MDR_HTTP_2 || c->req.version == MDR_HTTP_3) {
    w_str(w, "(none)\n");
  } else {
    w_str(w, "(none: HTTP/1.x)\n");
  }
  h_label(w, "request host");
  if (e->request_host.len)
    w_fmt(w, "%.*s, port %u\n", (int)e->request_host.len, e->request_host.ptr, e->request_port);
  else if (run->d->kind == MDR_BAD_REQUEST)
    w_str(w, "(none: the request's authority was refused)\n");
  else
    w_str(w, "(none)\n");
  mdr_index h = e->handshake_vhost, r = e->request_vhost;
  h_label(w, "vhost H");
  if (h == MDR_NONE) {
    w_str(w, "(none: cleartext listener, no TLS handshake)\n");
  } else {
    mdr_str n = mdr_vhost_name(t, h);
    mdr_reason hr = run->hs->reason;
    w_fmt(w, "%.*s, chosen by the TLS handshake (%s: %s)\n", (int)n.len, n.ptr,
          mdr_reason_token(hr),
          hr == MDR_REASON_SNI_MATCH ? "the SNI names it"
          : hr == MDR_REASON_SNI_NONE_DEFAULT ? "no SNI, so the listener default"
          : "unknown SNI, so the listener default: unknown-sni=default");
    h_vhost(w, t, h);
  }
  h_label(w, "vhost R");
  if (r == MDR_NONE) {
    w_str(w, run->d->rule < 6 ? "(none: decided before the vhost lookup)\n"
                              : "(none: no vhost serves the request's host)\n");
  } else {
    mdr_str n = mdr_vhost_name(t, r);
    if (run->d->reason == MDR_REASON_SERVE_DEFAULT)
      w_fmt(w, "%.*s, the listener default (no vhost names the host; unknown-host=default)\n",
            (int)n.len, n.ptr);
    else if (!run->d->has_authority)
      w_fmt(w, "%.*s, the listener default (the request names no host)\n", (int)n.len, n.ptr);
    else
      w_fmt(w, "%.*s, named by the request%s\n", (int)n.len, n.ptr, r == h ? " (the same as H)" : "");
    if (r != h) h_vhost(w, t, r);
  }
}

static void h_compare(const wr *w, const mdr_table *t, const mdr_explanation *e) {
  mdr_index h = e->handshake_vhost, r = e->request_vhost;
  if (h == MDR_NONE || r == MDR_NONE) return;
  mdr_vhost_info hi, ri;
  mdr_listener_info li;
  if (mdr_table_vhost_info(t, h, &hi) != 0 || mdr_table_vhost_info(t, r, &ri) != 0 ||
      mdr_table_listener_info(t, e->listener, &li) != 0)
    return;
  w_str(w, "\nH and R compared:\n");
  h_label(w, "rule 7");
  switch (li.sni_host) {
  case MDR_SNI_HOST_STRICT:
    w_str(w, "sni-host=strict: served on this connection only if R is H\n");
    break;
  case MDR_SNI_HOST_IGNORE:
    w_str(w, "sni-host=ignore: not compared (only safe behind a trusted TLS-terminating proxy)\n");
    break;
  default:
    w_str(w, "sni-host=compatible: served on this connection if R is H, or if H's\n");
    w_fmt(w, LABEL "certificate covers the request host and both TLS policies are equal\n", "");
    break;
  }
  h_label(w, "vhost");
  if (h == r)
    w_fmt(w, "the same: '%.*s'\n", (int)hi.name.len, hi.name.ptr);
  else
    w_fmt(w, "'%.*s' (H) vs '%.*s' (R)\n", (int)hi.name.len, hi.name.ptr, (int)ri.name.len,
          ri.name.ptr);
  if (h != r) {
    unsigned policy_bits = MDR_DIFF_CLIENT_AUTH | MDR_DIFF_CA | MDR_DIFF_MIN_TLS;
    if (!(e->differs & policy_bits)) {
      h_label(w, "TLS policy");
      w_fmt(w, "equal: '%.*s' (H) and '%.*s' (R) have the same contents\n", (int)hi.policy.len,
            hi.policy.ptr, (int)ri.policy.len, ri.policy.ptr);
    }
    if (e->differs & MDR_DIFF_CLIENT_AUTH) {
      h_label(w, "client-auth");
      w_fmt(w, "%s (H) vs %s (R)\n", auth_name(hi.client_auth), auth_name(ri.client_auth));
    }
    if (e->differs & MDR_DIFF_CA) {
      h_label(w, "CA set");
      if (hi.ca_file.len) w_fmt(w, "%.*s", (int)hi.ca_file.len, hi.ca_file.ptr);
      else w_str(w, "none");
      w_str(w, " (H) vs ");
      if (ri.ca_file.len) w_fmt(w, "%.*s", (int)ri.ca_file.len, ri.ca_file.ptr);
      else w_str(w, "none");
      w_str(w, " (R)");
      if (hi.ca_file.len && ri.ca_file.len && hi.ca_file.len == ri.ca_file.len &&
          memcmp(hi.ca_file.ptr, ri.ca_file.ptr, hi.ca_file.len) == 0)
        w_str(w, " (same path, different contents)");
      w_str(w, "\n");
    }
    if (e->differs & MDR_DIFF_MIN_TLS) {
      h_label(w, "min-tls");
      w_fmt(w, "%s (H) vs %s (R)\n", tls_name(hi.min_tls), tls_name(ri.min_tls));
    }
  }
  if (e->request_host.len) {
    h_label(w, "certificate");
    if (hi.cert.len)
      w_fmt(w, "cert '%.*s' of vhost '%.*s' covers '%.*s': %s\n", (int)hi.cert.len, hi.cert.ptr,
            (int)hi.name.len, hi.name.ptr, (int)e->request_host.len, e->request_host.ptr,
            (e->differs & MDR_DIFF_CERT) ? "no" : "yes");
    else
      w_fmt(w, "vhost '%.*s' has no cert\n", (int)hi.name.len, hi.name.ptr);
  }
}

static void h_outcome(const wr *w, const mdr_table *t, const mdrt_run *run) {
  if (run->alert) {
    w_fmt(w, "outcome: fatal TLS alert %s (%u) from the handshake step; the connection closes "
          "before any request\n", mdr_alert_name(run->hs->alert), run->hs->alert);
    w_fmt(w, "reason: %s - %s\n", mdr_reason_token(run->hs->reason),
          mdr_reason_text(run->hs->reason));
    return;
  }
  const mdr_decision *d = run->d;
  w_fmt(w, "outcome: %u %s", d->status, status_text(d->status));
  if (d->kind == MDR_SERVE) {
    mdr_str vn = mdr_vhost_name(t, d->vhost);
    w_fmt(w, " from vhost '%.*s'", (int)vn.len, vn.ptr);
  } else if (d->kind == MDR_REDIRECT) {
    w_str(w, " to ");
    w_bytes(w, run->loc, run->loc_len);
  }
  w_fmt(w, ", decided by rule %u (%s)\n", d->rule, rule_name(d->rule));
  w_fmt(w, "reason: %s - %s\n", mdr_reason_token(d->reason), mdr_reason_text(d->reason));
}

static void h_steps(const wr *w, const mdr_table *t, const mdrt_run *run) {
  w_str(w, "\nsteps:\n");
  if (run->tls) {
    w_str(w, "  handshake: ");
    w_handshake(w, t, run);
    w_str(w, "\n");
  } else {
    w_str(w, "  handshake: none (cleartext listener)\n");
  }
  if (run->alert) return;
  for (size_t i = 0; i < run->steps->n; i++) {
    const mdrt_step *s = &run->steps->step[i];
    w_fmt(w, "  rule %u: ", s->rule);
    w_text(w, s->text, s->len);
    w_str(w, "\n");
  }
  if (run->steps->truncated) w_str(w, "  (more steps not shown)\n");
}

static void h_causes(const wr *w, const mdr_explanation *e) {
  w_str(w, "\nlikely causes (most likely first):\n");
  for (size_t i = 0; i < e->n_causes; i++) {
    w_fmt(w, "  %zu. %s: %s\n", i + 1, mdr_cause_token(e->causes[i]), mdr_cause_text(e->causes[i]));
    w_fmt(w, "     fix: %s\n", mdr_cause_fix(e->causes[i]));
  }
}

static void explanation_line(const wr *w, const mdr_table *t, const mdrt_run *run) {
  if (run->alert) {
    w_fmt(w, "the handshake sent a fatal %s alert: %s", mdr_alert_name(run->hs->alert),
          mdr_reason_text(run->hs->reason));
    return;
  }
  char buf[2048];
  size_t n = mdr_decision_explain(t, &run->c->conn, run->d, buf, sizeof buf);
  w_text(w, buf, n < sizeof buf ? n : sizeof buf - 1);
}

static void human(FILE *out, const mdr_table *t, const mdrt_run *run, const mdr_explanation *e) {
  wr w = { out, 0 };
  w_str(&w, "decision: ");
  w_decision(&w, t, run);
  w_str(&w, "\n");
  h_outcome(&w, t, run);
  h_names(&w, t, run, e);
  if (!run->alert) h_compare(&w, t, e);
  h_steps(&w, t, run);
  w_str(&w, "\nexplanation: ");
  explanation_line(&w, t, run);
  w_str(&w, "\n");
  h_causes(&w, e);
  if (run->expected)
    w_fmt(&w, "\nexpected: %s (%s)\n", run->expected, run->matches ? "matches" : "DIFFERS");
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

static void j_vhost(FILE *f, const mdr_table *t, mdr_index v) {
  mdr_vhost_info vi;
  if (v == MDR_NONE || mdr_table_vhost_info(t, v, &vi) != 0) {
    fputs("null", f);
    return;
  }
  fputs("{\"name\": ", f);
  j_mstr(f, 1, vi.name);
  fputs(", \"cert\": ", f);
  j_mstr(f, vi.cert.len > 0, vi.cert);
  fputs(", \"cert_file\": ", f);
  j_mstr(f, vi.cert_file.len > 0, vi.cert_file);
  fputs(", \"policy\": {\"name\": ", f);
  j_mstr(f, 1, vi.policy);
  fprintf(f, ", \"client_auth\": \"%s\", \"ca_file\": ", auth_name(vi.client_auth));
  j_mstr(f, vi.ca_file.len > 0, vi.ca_file);
  fprintf(f, ", \"min_tls\": \"%s\"}}", tls_name(vi.min_tls));
}

static void json(FILE *f, const mdr_table *t, const mdrt_run *run, const mdr_explanation *e) {
  const mdrc_case *c = run->c;
  wr w = { f, 1 };
  fputs("{\n  \"decision\": \"", f);
  w_decision(&w, t, run);
  fprintf(f, "\",\n  \"kind\": \"%s\",\n", kind_token(run));
  fprintf(f, "  \"status\": %u,\n", run->alert ? 0u : run->d->status);
  fputs("  \"alert\": ", f);
  j_cstr(f, run->alert ? mdr_alert_name(run->hs->alert) : NULL);
  fputs(",\n  \"vhost\": ", f);
  if (e->vhost != MDR_NONE) {
    mdr_str vn = mdr_vhost_name(t, e->vhost);
    j_mstr(f, 1, vn);
  } else {
    fputs("null", f);
  }
  fputs(",\n  \"location\": ", f);
  if (!run->alert && run->d->kind == MDR_REDIRECT)
    j_str(f, run->loc, run->loc_len);
  else
    fputs("null", f);
  fprintf(f, ",\n  \"reason\": \"%s\",\n  \"reason_text\": ", mdr_reason_token(e->reason));
  j_cstr(f, mdr_reason_text(e->reason));
  fprintf(f, ",\n  \"rule\": %u,\n  \"rule_name\": \"%s\",\n", e->rule, rule_name(e->rule));
  mdr_listener_info li;
  mdr_table_listener_info(t, c->conn.listener, &li);
  fputs("  \"listener\": {\"name\": ", f);
  j_mstr(f, 1, li.name);
  fprintf(f, ", \"scheme\": \"%s\", \"port\": %u, \"public_port\": %u},\n",
          li.tls ? "https" : "http", li.port, li.public_port);
  fputs("  \"names\": {\n    \"sni\": ", f);
  j_mstr(f, e->has_sni, e->sni);
  fputs(",\n    \"sni_normalised\": ", f);
  if (run->tls && run->hs->sni_valid)
    j_str(f, run->hs->sni, run->hs->sni_len);
  else
    fputs("null", f);
  fputs(",\n    \"host\": ", f);
  j_mstr(f, !run->alert && c->req.n_host > 0, c->req.n_host ? c->req.host[0] : (mdr_str){ NULL, 0 });
  fprintf(f, ",\n    \"host_count\": %zu,\n    \"authority\": ", run->alert ? (size_t)0 : c->req.n_host);
  j_mstr(f, !run->alert && c->req.n_authority > 0,
         c->req.n_authority ? c->req.authority[0] : (mdr_str){ NULL, 0 });
  fprintf(f, ",\n    \"authority_count\": %zu,\n    \"request_host\": ",
          run->alert ? (size_t)0 : c->req.n_authority);
  if (!run->alert && e->request_host.len) {
    j_str(f, e->request_host.ptr, e->request_host.len);
    fprintf(f, ",\n    \"request_port\": %u\n  },\n", e->request_port);
  } else {
    fputs("null,\n    \"request_port\": null\n  },\n", f);
  }
  fputs("  \"handshake\": ", f);
  if (run->tls) {
    fprintf(f, "{\"outcome\": \"%s\", \"reason\": \"%s\", \"alert\": ",
            run->hs->outcome == MDR_HS_ALERT ? "alert" : "accept", mdr_reason_token(run->hs->reason));
    j_cstr(f, run->hs->outcome == MDR_HS_ALERT ? mdr_alert_name(run->hs->alert) : NULL);
    fputs("}", f);
  } else {
    fputs("null", f);
  }
  fputs(",\n  \"handshake_vhost\": ", f);
  j_vhost(f, t, e->handshake_vhost);
  fputs(",\n  \"request_vhost\": ", f);
  j_vhost(f, t, e->request_vhost);
  fputs(",\n  \"differs\": [", f);
  int first = 1;
  for (unsigned i = 0; i < sizeof diff_names / sizeof diff_names[0]; i++) {
    if (!(e->differs & (1u << i))) continue;
    fprintf(f, "%s\"%s\"", first ? "" : ", ", diff_names[i]);
    first = 0;
  }
  fputs("],\n  \"cert_covers_request_host\": ", f);
  if (e->handshake_vhost != MDR_NONE && e->request_vhost != MDR_NONE && e->request_host.len)
    fputs((e->differs & MDR_DIFF_CERT) ? "false" : "true", f);
  else
    fputs("null", f);
  fputs(",\n  \"steps\": [", f);
  first = 1;
  if (run->tls) {
    fputs("\n    {\"rule\": 0, \"text\": \"handshake: ", f);
    w_handshake(&w, t, run);
    fputs("\"}", f);
    first = 0;
  }
  for (size_t i = 0; !run->alert && i < run->steps->n; i++) {
    const mdrt_step *s = &run->steps->step[i];
    fprintf(f, "%s\n    {\"rule\": %u, \"text\": ", first ? "" : ",", s->rule);
    j_str(f, s->text, s->len);
    fputs("}", f);
    first = 0;
  }
  fprintf(f, "\n  ],\n  \"steps_truncated\": %s,\n  \"explanation\": \"",
          run->steps->truncated ? "true" : "false");
  explanation_line(&w, t, run);
  fputs("\",\n  \"causes\": [", f);
  for (size_t i = 0; i < e->n_causes; i++) {
    fprintf(f, "%s\n    {\"token\": \"%s\", \"text\": ", i ? "," : "", mdr_cause_token(e->causes[i]));
    j_cstr(f, mdr_cause_text(e->causes[i]));
    fputs(", \"fix\": ", f);
    j_cstr(f, mdr_cause_fix(e->causes[i]));
    fputs("}", f);
  }
  fputs("\n  ],\n  \"expected\": ", f);
  j_cstr(f, run->expected);
  fprintf(f, ",\n  \"matches\": %s\n}\n", run->expected ? (run->matches ? "true" : "false") : "null");
}

int mdrt_explain_print(FILE *out, const mdr_table *t, const mdrt_run *run, int as_json) {
  mdr_explanation e;
  int rc;
  if (run->alert)
    rc = mdr_explain_handshake(t, run->c->conn.listener, run->c->has_sni, run->c->sni.ptr,
                               run->c->sni.len, run->hs, &e);
  else
    rc = mdr_explain_decision(t, &run->c->conn, &run->c->req, run->d, &e);
  if (rc) return rc;
  if (as_json)
    json(out, t, run, &e);
  else
    human(out, t, run, &e);
  return 0;
}
