/*
 * Host normalisation for origins: the same rules as the core's authority
 * normaliser (DESIGN rule 2), reimplemented here so the codec has no
 * dependency on the core.  No allocation.
 */
#include "origin_internal.h"

#include <string.h>

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hex_val(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* A dotted quad of dec-octets (RFC 3986: no leading zeros).  Fills a[4]. */
static int ipv4_parse(const char *p, size_t len, uint8_t a[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= len || p[i] != '.') return -1;
      i++;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < len && is_digit((unsigned char)p[i]) && i - start < 3) {
      v = v * 10 + (unsigned)(p[i] - '0');
      i++;
    }
    size_t nd = i - start;
    if (nd == 0 || v > 255 || (nd > 1 && p[start] == '0')) return -1;
    a[part] = (uint8_t)v;
  }
  return i == len ? 0 : -1;
}

int mdro_ipv6_parse(const char *p, size_t len, uint16_t w[8]) {
  uint16_t g[8];
  int ng = 0, dc = -1;
  size_t i = 0;
  if (len < 2) return -1;
  if (p[0] == ':') {
    if (p[1] != ':') return -1;
    dc = 0;
    i = 2;
  }
  while (i < len) {
    size_t start = i;
    unsigned v = 0;
    while (i < len && hex_val((unsigned char)p[i]) >= 0 && i - start < 5) {
      v = (v << 4) | (unsigned)hex_val((unsigned char)p[i]);
      i++;
    }
    if (i < len && p[i] == '.') {
      /* Embedded IPv4 in the last 32 bits. */
      uint8_t a[4];
      if (ng > 6 || ipv4_parse(p + start, len - start, a) != 0) return -1;
      g[ng++] = (uint16_t)((a[0] << 8) | a[1]);
      g[ng++] = (uint16_t)((a[2] << 8) | a[3]);
      i = len;
      break;
    }
    if (i == start || i - start > 4 || ng == 8) return -1;
    g[ng++] = (uint16_t)v;
    if (i == len) break;
    if (p[i] != ':') return -1;
    i++;
    if (i < len && p[i] == ':') {
      if (dc >= 0) return -1;
      dc = ng;
      i++;
    } else if (i == len) {
      return -1; /* a single trailing colon */
    }
  }
  if (dc < 0) {
    if (ng != 8) return -1;
    memcpy(w, g, sizeof g);
    return 0;
  }
  if (ng > 7) return -1;
  int zeros = 8 - ng;
  int k = 0;
  for (int j = 0; j < dc; j++) w[k++] = g[j];
  for (int j = 0; j < zeros; j++) w[k++] = 0;
  for (int j = dc; j < ng; j++) w[k++] = g[j];
  return 0;
}

static size_t put_hex16(char *out, uint16_t v) {
  static const char hx[] = "0123456789abcdef";
  char tmp[4];
  size_t n = 0;
  do {
    tmp[n++] = hx[v & 0xf];
    v = (uint16_t)(v >> 4);
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

static size_t put_dec8(char *out, unsigned v) {
  size_t n = 0;
  if (v >= 100) out[n++] = (char)('0' + v / 100);
  if (v >= 10) out[n++] = (char)('0' + (v / 10) % 10);
  out[n++] = (char)('0' + v % 10);
  return n;
}

size_t mdro_ipv6_format(const uint16_t w[8], char *out) {
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < 8 && w[j] == 0) j++;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = -1;
  /* Mixed notation for IPv4-mapped and IPv4-compatible addresses (as glibc). */
  int mixed = best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff));
  int ngroups = mixed ? 6 : 8;
  size_t n = 0;
  for (int i = 0; i < ngroups; i++) {
    if (i == best) {
      out[n++] = ':';
      out[n++] = ':';
      i += best_len - 1;
      continue;
    }
    if (i > 0 && !(best >= 0 && i == best + best_len)) out[n++] = ':';
    n += put_hex16(out + n, w[i]);
  }
  if (mixed) {
    if (!(best >= 0 && best + best_len == 6)) out[n++] = ':';
    n += put_dec8(out + n, (unsigned)(w[6] >> 8));
    out[n++] = '.';
    n += put_dec8(out + n, (unsigned)(w[6] & 0xff));
    out[n++] = '.';
    n += put_dec8(out + n, (unsigned)(w[7] >> 8));
    out[n++] = '.';
    n += put_dec8(out + n, (unsigned)(w[7] & 0xff));
  }
  out[n] = '\0';
  return n;
}

/* Last label numeric, or "0x" followed by hex digits only. */
static int label_looks_numeric(const char *l, size_t n) {
  size_t i;
  for (i = 0; i < n && is_digit((unsigned char)l[i]); i++) {
  }
  if (i == n) return 1;
  if (n >= 2 && l[0] == '0' && l[1] == 'x') {
    for (i = 2; i < n && hex_val((unsigned char)l[i]) >= 0; i++) {
    }
    return i == n;
  }
  return 0;
}

static int name_normalize(const char *p, size_t len, char *out, size_t *out_len,
                          mdr_host_kind *kind) {
  if (len > 0 && p[len - 1] == '.') len--;
  if (len == 0 || len > MDR_HOST_MAX) return -1;
  size_t label_start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || p[i] == '.') {
      size_t ln = i - label_start;
      if (ln == 0 || ln > 63) return -1;
      if (out[label_start] == '-' || out[i - 1] == '-') return -1;
      label_start = i + 1;
      if (i < len) out[i] = '.';
      continue;
    }
    unsigned char c = lower((unsigned char)p[i]);
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_')) return -1;
    out[i] = (char)c;
  }
  out[len] = '\0';
  /* label_start is now len + 1; find the last label. */
  size_t last = len;
  while (last > 0 && out[last - 1] != '.') last--;
  if (label_looks_numeric(out + last, len - last)) {
    uint8_t a[4];
    if (ipv4_parse(out, len, a) != 0) return -1;
    *kind = MDR_HOST_IPV4;
  } else {
    *kind = MDR_HOST_NAME;
  }
  *out_len = len;
  return 0;
}

int mdro_host_normalize(const char *p, size_t len, int bare_ipv6, char *out, size_t *out_len,
                        mdr_host_kind *kind) {
  uint16_t w[8];
  if (p == NULL || len == 0) return -1;
  if (p[0] == '[') {
    if (len < 4 || p[len - 1] != ']') return -1;
    if (mdro_ipv6_parse(p + 1, len - 2, w) != 0) return -1;
  } else if (bare_ipv6 && memchr(p, ':', len) != NULL) {
    if (mdro_ipv6_parse(p, len, w) != 0) return -1;
  } else {
    return name_normalize(p, len, out, out_len, kind);
  }
  out[0] = '[';
  size_t n = 1 + mdro_ipv6_format(w, out + 1);
  out[n++] = ']';
  out[n] = '\0';
  *out_len = n;
  *kind = MDR_HOST_IPV6;
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
