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

/* Is the SNI a valid DNS name under rule 2 (no IP literal, no port)?  Fills a. */
int mdri_sni_valid(const char *p, size_t n, mdr_authority *a) {
  if (n == 0 || n > 255) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] == '\0' || p[i] == ':') return 0;
  if (mdri_authority(p, n, a) != MDR_REASON_COUNT_) return 0;
  return a->kind == MDR_HOST_NAME;
}

int mdr_handshake(const mdr_table *t, mdr_index listener, int has_sni, const char *sni,
                  size_t sni_len, mdr_handshake_result *out) {
  if (!t || !out || (!sni && sni_len) || listener >= t->n_listeners)
    return MDR_ERR_INVALID_ARGUMENT;
  const mdri_listener *l = &t->listeners[listener];
  out->outcome = MDR_HS_ACCEPT;
  out->alert = 0;
  out->vhost = MDR_NONE;
  out->sni_valid = 0;
  out->sni[0] = '\0';
  out->sni_len = 0;
  if (!l->tls) return MDR_ERR_WRONG_LISTENER;
  if (!has_sni) {
    if (l->no_sni == MDR_NO_SNI_REJECT) {
      out->outcome = MDR_HS_ALERT;
      out->alert = MDR_ALERT_MISSING_EXTENSION;
      out->reason = MDR_REASON_SNI_MISSING;
      return 0;
    }
    out->vhost = l->default_vhost;
    out->reason = MDR_REASON_SNI_NONE_DEFAULT;
    return 0;
  }
  mdr_authority a;
  int valid = mdri_sni_valid(sni, sni_len, &a);
  if (valid) {
    out->sni_valid = 1;
    memcpy(out->sni, a.host, a.host_len + 1);
    out->sni_len = a.host_len;
    mdr_index v = mdri_lookup(t, listener, a.host, a.host_len, a.kind, NULL);
    if (v != MDR_NONE) {
      out->vhost = v;
      out->reason = MDR_REASON_SNI_MATCH;
      return 0;
    }
  }
  if (l->unknown_sni == MDR_UNKNOWN_SNI_DEFAULT) {
    out->vhost = l->default_vhost;
    out->reason = MDR_REASON_SNI_UNKNOWN_DEFAULT;
    return 0;
  }
  out->outcome = MDR_HS_ALERT;
  out->alert = MDR_ALERT_UNRECOGNIZED_NAME;
  out->reason = valid ? MDR_REASON_SNI_UNKNOWN : MDR_REASON_SNI_INVALID;
  return 0;
}
