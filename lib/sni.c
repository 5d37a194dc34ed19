/* The raw server_name extension parser and the handshake step. */
#include "internal.h"

int mdr_sni_extension_parse(const uint8_t *ext, size_t len, mdr_str *name_out) {
  if (!name_out || (!ext && len)) return MDR_ERR_INVALID_ARGUMENT;
  name_out->ptr = NULL;
  name_out->len = 0;
  /* ServerNameList: uint16 length, then exactly one ServerName:
   * uint8 name_type (0 = host_name), uint16 length, HostName<1..2^16-1>. */
  if (len < 2) return MDR_ERR_DECODE;
  size_t list_len = (size_t)ext[0] << 8 | ext[1];
  if (list_len != len - 2 || list_len < 3) return MDR_ERR_DECODE;
  if (ext[2] != 0) return MDR_ERR_DECODE;
  size_t name_len = (size_t)ext[3] << 8 | ext[4];
  if (name_len == 0 || name_len != list_len - 3) return MDR_ERR_DECODE; /* also: a second entry */
  name_out->ptr = (const char *)ext + 5;
  name_out->len = name_len;
  return 0;
}

/* Is the SNI a valid DNS name under rule 2 (no IP literal, no port)?  Fills
 * a.  A NUL is a bad byte for the normaliser.  A name the normaliser
 * accepts is its host's bytes, then perhaps the FQDN dot, then perhaps a
 * ':' and a port; so there was no ':' exactly when the host (and its dot)
 * spans the whole SNI. */
int mdri_sni_valid_dot(const char *p, size_t n, mdr_authority *a, size_t *first_dot) {
  if (n == 0 || n > 255) return 0;
  if (mdri_authority_dot(p, n, a, first_dot) != MDR_REASON_COUNT_ || a->kind != MDR_HOST_NAME)
    return 0;
  return a->host_len == n || (a->host_len + 1 == n && p[n - 1] == '.');
}

int mdri_sni_valid(const char *p, size_t n, mdr_authority *a) {
  size_t dot;
  return mdri_sni_valid_dot(p, n, a, &dot);
}

/* ------------------------------------------------------------------------ */
/* The handshake step: one function per step, and the driver.               */
/* ------------------------------------------------------------------------ */

/* A step returns GO_ON, or DECIDED with *out filled in, or a negative
 * MDR_ERR_* code (as the decision's rules do, lib/decide.c). */
enum { DECIDED = 0, GO_ON = 1 };

typedef struct hstate {
  const mdr_table *t;
  mdr_index listener;
  const mdri_listener *l;
  int has_sni;
  const char *sni;
  size_t sni_len;
  mdr_handshake_result *out;
} hstate;

static int hs_accept(mdr_handshake_result *out, mdr_index vhost, mdr_reason reason) {
  out->vhost = vhost;
  out->reason = reason;
  return DECIDED;
}

static int hs_alert(mdr_handshake_result *out, unsigned alert, mdr_reason reason) {
  out->outcome = MDR_HS_ALERT;
  out->alert = alert;
  out->reason = reason;
  return DECIDED;
}

/* Arguments, the result's initial state, and a TLS listener. */
static int hs_begin(hstate *s) {
  const mdr_table *t = s->t;
  mdr_handshake_result *out = s->out;
  if (!t || !out || (!s->sni && s->sni_len) || s->listener >= t->n_listeners)
    return MDR_ERR_INVALID_ARGUMENT;
  s->l = &t->listeners[s->listener];
  out->outcome = MDR_HS_ACCEPT;
  out->alert = 0;
  out->vhost = MDR_NONE;
  out->sni_valid = 0;
  out->sni[0] = '\0';
  out->sni_len = 0;
  out->match = 0;
  return s->l->tls ? GO_ON : MDR_ERR_WRONG_LISTENER;
}

/* No server_name extension: no-sni=reject (missing_extension) or the
 * listener default. */
static int hs_no_sni(hstate *s) {
  if (s->has_sni) return GO_ON;
  if (s->l->no_sni == MDR_NO_SNI_REJECT)
    return hs_alert(s->out, MDR_ALERT_MISSING_EXTENSION, MDR_REASON_SNI_MISSING);
  return hs_accept(s->out, s->l->default_vhost, MDR_REASON_SNI_NONE_DEFAULT);
}

/* A valid SNI that names a vhost on this listener (sni-match).  The
 * normalised SNI is kept in the result either way. */
static int hs_sni_match(hstate *s) {
  mdr_handshake_result *out = s->out;
  mdr_authority a;
  size_t dot;
  if (!mdri_sni_valid_dot(s->sni, s->sni_len, &a, &dot)) return GO_ON;
  out->sni_valid = 1;
  memcpy(out->sni, a.host, a.host_len + 1);
  out->sni_len = a.host_len;
  mdr_index v =
      mdri_lookup_match(s->t, s->listener, a.host, a.host_len, a.kind, dot, &out->match);
  if (v == MDR_NONE) return GO_ON;
  return hs_accept(out, v, MDR_REASON_SNI_MATCH);
}

/* An SNI that is invalid or names no vhost: unknown-sni=default, else
 * unrecognized_name. */
static int hs_unknown_sni(hstate *s) {
  mdr_handshake_result *out = s->out;
  if (s->l->unknown_sni == MDR_UNKNOWN_SNI_DEFAULT)
    return hs_accept(out, s->l->default_vhost, MDR_REASON_SNI_UNKNOWN_DEFAULT);
  return hs_alert(out, MDR_ALERT_UNRECOGNIZED_NAME,
                  out->sni_valid ? MDR_REASON_SNI_UNKNOWN : MDR_REASON_SNI_INVALID);
}

/* The driver: the steps of docs/decision-rules.md "The handshake step", in
 * order; the first that does not say "go on" decides (DECIDED is 0, the
 * call's success).  The handshake has no trace function: its explanation is
 * written from the result (mdr_explain_handshake). */
int mdr_handshake(const mdr_table *t, mdr_index listener, int has_sni, const char *sni,
                  size_t sni_len, mdr_handshake_result *out) {
  hstate state = { t, listener, NULL, has_sni, sni, sni_len, out }, *s = &state;
  int rc;
#define STEP(step)                          \
  do {                                      \
    if ((rc = step(s)) != GO_ON) return rc; \
  } while (0)
  STEP(hs_begin);             /* arguments; a TLS listener */
  STEP(hs_no_sni);            /* no SNI: missing_extension, or the listener default */
  STEP(hs_sni_match);         /* the SNI names a vhost */
#undef STEP
  return hs_unknown_sni(s);   /* unknown or invalid SNI: the default, or unrecognized_name */
}
