/*
 * Host normalisation for origins.  The core's authority normaliser
 * (mdr_authority_parse, docs/decision-rules.md rule 2) does the work, so an origin's host is
 * canonical exactly when the core would produce it: the origins that
 * mdr_origin_set_each() enumerates pass the strict decoder by construction.
 * No table is involved and nothing allocates.
 */
#include "origin_internal.h"

#include <string.h>

/* Longest IPv6 text the core accepts inside brackets. */
#define MDRO_IPV6_TEXT_MAX 45

int mdro_host_normalize(const char *p, size_t len, int bare_ipv6, char *out, size_t *out_len,
                        mdr_host_kind *kind) {
  char tmp[MDRO_IPV6_TEXT_MAX + 2];
  mdr_authority a;
  int valid = 0;
  if (p == NULL || len == 0) return -1;
  if (p[0] == '[') {
    /* A bracketed IPv6 literal and nothing after it (no port). */
    if (p[len - 1] != ']') return -1;
  } else if (memchr(p, ':', len) != NULL) {
    /* Unbracketed: only an IPv6 address when allowed, never a port. */
    if (!bare_ipv6 || len > MDRO_IPV6_TEXT_MAX) return -1;
    tmp[0] = '[';
    memcpy(tmp + 1, p, len);
    tmp[len + 1] = ']';
    p = tmp;
    len += 2;
  }
  if (mdr_authority_parse(p, len, 0, &a, &valid, NULL) != 0 || !valid) return -1;
  if (a.port != 0 || a.host_len == 0 || a.host_len > MDR_HOST_MAX) return -1;
  memcpy(out, a.host, a.host_len);
  out[a.host_len] = '\0';
  *out_len = a.host_len;
  *kind = a.kind;
  return 0;
}

int mdro_host_is_canonical(const char *p, size_t len, mdr_host_kind *kind) {
  char buf[MDRO_HOST_BUF];
  size_t n;
  mdr_host_kind k;
  if (len == 0 || len > MDR_HOST_MAX) return 0;
  if (mdro_host_normalize(p, len, 0, buf, &n, &k) != 0) return 0;
  if (n != len || memcmp(buf, p, len) != 0) return 0;
  if (kind) *kind = k;
  return 1;
}

size_t mdro_varint_len(uint64_t v) {
  if (v < 0x40u) return 1;
  if (v < 0x4000u) return 2;
  if (v < 0x40000000u) return 4;
  return 8;
}

size_t mdro_varint_write(uint64_t v, uint8_t *out) {
  size_t n = mdro_varint_len(v);
  static const uint8_t prefix[9] = {0, 0x00, 0x40, 0, 0x80, 0, 0, 0, 0xc0};
  for (size_t i = 0; i < n; i++) out[n - 1 - i] = (uint8_t)(v >> (8 * i));
  out[0] = (uint8_t)(out[0] | prefix[n]);
  return n;
}

size_t mdro_varint_read(const uint8_t *in, size_t len, uint64_t *v, size_t *need) {
  if (len == 0) {
    if (need) *need = 1;
    return 0;
  }
  size_t n = (size_t)1 << (in[0] >> 6);
  if (len < n) {
    if (need) *need = n;
    return 0;
  }
  uint64_t x = in[0] & 0x3fu;
  for (size_t i = 1; i < n; i++) x = (x << 8) | in[i];
  *v = x;
  return n;
}
