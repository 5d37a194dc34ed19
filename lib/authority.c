/* Authority normaliser (docs/decision-rules.md rule 2), shared by Host, :authority,
 * absolute-form targets, SNI and configured names.  Pure, no allocation,
 * never reads outside [p, p+len). */
#include "internal.h"

/* No strlen: the literal's end is found while comparing. */
int mdri_str_ieq_lit(mdr_str a, const char *lit) {
  for (size_t i = 0; i < a.len; i++) {
    unsigned char l = (unsigned char)lit[i], c = (unsigned char)a.ptr[i];
    if (l == 0) return 0;
    if (c != l && !(l >= 'a' && l <= 'z' && c == l - 32)) return 0;
  }
  return lit[a.len] == '\0';
}

/* 1 = ALPHA, 2 = DIGIT / "+" / "-" / "." (RFC 3986 scheme). */
static const unsigned char scheme_cls[256] = {
  ['+'] = 2, ['-'] = 2, ['.'] = 2,
  ['0'] = 2, ['1'] = 2, ['2'] = 2, ['3'] = 2, ['4'] = 2, ['5'] = 2, ['6'] = 2, ['7'] = 2,
  ['8'] = 2, ['9'] = 2,
  ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
  ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
  ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
  ['Y'] = 1, ['Z'] = 1,
  ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
  ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
  ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
  ['y'] = 1, ['z'] = 1,
};

int mdri_scheme_ok(mdr_str s) {
  if (s.len == 0 || scheme_cls[(unsigned char)s.ptr[0]] != 1) return 0;
  for (size_t i = 1; i < s.len; i++)
    if (!scheme_cls[(unsigned char)s.ptr[i]]) return 0;
  return 1;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = mdri_lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* dec-octet without leading zeros; returns value or -1. */
static int dec_octet(const char *p, size_t n) {
  if (n == 0 || n > 3) return -1;
  if (n > 1 && p[0] == '0') return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v <= 255 ? v : -1;
}

/* Strict dotted quad; 0 on success. */
static int ipv4_parse(const char *p, size_t n, uint8_t out[4]) {
  size_t start = 0;
  int part = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || p[i] == '.') {
      if (part >= 4) return -1;
      int v = dec_octet(p + start, i - start);
      if (v < 0) return -1;
      out[part++] = (uint8_t)v;
      start = i + 1;
    }
  }
  return part == 4 ? 0 : -1;
}

int mdri_ipv6_parse(const char *p, size_t n, uint8_t out[16]) {
  uint16_t groups[8];
  int ng = 0, gap = -1;
  size_t i = 0;
  if (n < 2) return -1;
  if (p[0] == ':') {
    if (p[1] != ':') return -1;
    gap = 0;
    i = 2;
    if (n == 2) goto done;
  }
  while (i < n) {
    if (ng >= 8) return -1;
    /* Does an IPv4 tail start here? */
    size_t j = i;
    while (j < n && p[j] != ':' && p[j] != '.') j++;
    if (j < n && p[j] == '.') {
      uint8_t v4[4];
      if (ng > 6 || ipv4_parse(p + i, n - i, v4) != 0) return -1;
      groups[ng++] = (uint16_t)(v4[0] << 8 | v4[1]);
      groups[ng++] = (uint16_t)(v4[2] << 8 | v4[3]);
      break; /* the IPv4 tail ends the address */
    }
    size_t k = 0;
    unsigned v = 0;
    while (i < n && k < 5) {
      int h = hexval((unsigned char)p[i]);
      if (h < 0) break;
      v = v << 4 | (unsigned)h;
      i++;
      k++;
    }
    if (k == 0 || k > 4) return -1;
    groups[ng++] = (uint16_t)v;
    if (i == n) break;
    if (p[i] != ':') return -1;
    i++;
    if (i < n && p[i] == ':') {
      if (gap >= 0) return -1;
      gap = ng;
      i++;
      if (i == n) break;
    } else if (i == n) {
      return -1; /* trailing single ':' */
    }
  }
done:
  if (gap < 0) {
    if (ng != 8) return -1;
  } else if (ng > 7) {
    return -1;
  }
  memset(out, 0, 16);
  int tail = gap < 0 ? 0 : ng - gap;
  int head = ng - tail;
  for (int g = 0; g < head; g++) {
    out[2 * g] = (uint8_t)(groups[g] >> 8);
    out[2 * g + 1] = (uint8_t)groups[g];
  }
  for (int g = 0; g < tail; g++) {
    int pos = 8 - tail + g;
    out[2 * pos] = (uint8_t)(groups[head + g] >> 8);
    out[2 * pos + 1] = (uint8_t)groups[head + g];
  }
  return 0;
}

static size_t put_hex16(char *b, unsigned v) {
  static const char hx[] = "0123456789abcdef";
  char tmp[4];
  size_t n = 0;
  do {
    tmp[n++] = hx[v & 0xf];
    v >>= 4;
  } while (v);
  for (size_t i = 0; i < n; i++) b[i] = tmp[n - 1 - i];
  return n;
}

static size_t put_dec(char *b, unsigned v) {
  char tmp[5];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) b[i] = tmp[n - 1 - i];
  return n;
}

size_t mdri_ipv6_format(const uint8_t a[16], char *buf) {
  unsigned g[8];
  for (int i = 0; i < 8; i++) g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
  /* Mixed notation for IPv4-mapped (::ffff:0:0/96), IPv4-translated
   * (::ffff:0:0:0/96) and the NAT64 well-known prefix (64:ff9b::/96). */
  int mixed = (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff) ||
              (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0xffff && g[5] == 0) ||
              (g[0] == 0x64 && g[1] == 0xff9b && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0);
  int ngroups = mixed ? 6 : 8;
  int best = -1, bestlen = 0;
  for (int i = 0; i < ngroups;) {
    if (g[i] != 0) {
      i++;
      continue;
    }
    int j = i;
    while (j < ngroups && g[j] == 0) j++;
    if (j - i > bestlen) {
      best = i;
      bestlen = j - i;
    }
    i = j;
  }
  if (bestlen < 2) best = -1;
  size_t n = 0;
  for (int i = 0; i < ngroups; i++) {
    if (i == best) {
      buf[n++] = ':';
      if (i == 0) buf[n++] = ':';
      i += bestlen - 1;
      continue;
    }
    n += put_hex16(buf + n, g[i]);
    if (i < ngroups - 1 || mixed) buf[n++] = ':';
  }
  if (mixed) {
    for (int i = 12; i < 16; i++) {
      n += put_dec(buf + n, a[i]);
      if (i < 15) buf[n++] = '.';
    }
  }
  buf[n] = '\0';
  return n;
}

/* Port text after ':' (may be empty).  Returns reason or COUNT_ if fine. */
static mdr_reason parse_port(const char *p, size_t n, uint16_t *port) {
  uint32_t v = 0;
  *port = 0;
  if (n == 0) return MDR_REASON_COUNT_;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return MDR_REASON_PORT_SYNTAX;
    if (v <= 65535) v = v * 10 + (uint32_t)(p[i] - '0');
  }
  if (v == 0 || v > 65535) return MDR_REASON_PORT_RANGE;
  *port = (uint16_t)v;
  return MDR_REASON_COUNT_;
}

/* Classification of host bytes in a reg-name. */
enum { C_BAD = 0, C_LABEL, C_HYPHEN, C_DOT, C_PCT, C_HIGH, C_AT, C_UPPER };
static const unsigned char cls[256] = {
  ['0'] = C_LABEL, ['1'] = C_LABEL, ['2'] = C_LABEL, ['3'] = C_LABEL, ['4'] = C_LABEL,
  ['5'] = C_LABEL, ['6'] = C_LABEL, ['7'] = C_LABEL, ['8'] = C_LABEL, ['9'] = C_LABEL,
  ['a'] = C_LABEL, ['b'] = C_LABEL, ['c'] = C_LABEL, ['d'] = C_LABEL, ['e'] = C_LABEL,
  ['f'] = C_LABEL, ['g'] = C_LABEL, ['h'] = C_LABEL, ['i'] = C_LABEL, ['j'] = C_LABEL,
  ['k'] = C_LABEL, ['l'] = C_LABEL, ['m'] = C_LABEL, ['n'] = C_LABEL, ['o'] = C_LABEL,
  ['p'] = C_LABEL, ['q'] = C_LABEL, ['r'] = C_LABEL, ['s'] = C_LABEL, ['t'] = C_LABEL,
  ['u'] = C_LABEL, ['v'] = C_LABEL, ['w'] = C_LABEL, ['x'] = C_LABEL, ['y'] = C_LABEL,
  ['z'] = C_LABEL, ['_'] = C_LABEL,
  ['A'] = C_UPPER, ['B'] = C_UPPER, ['C'] = C_UPPER, ['D'] = C_UPPER, ['E'] = C_UPPER,
  ['F'] = C_UPPER, ['G'] = C_UPPER, ['H'] = C_UPPER, ['I'] = C_UPPER, ['J'] = C_UPPER,
  ['K'] = C_UPPER, ['L'] = C_UPPER, ['M'] = C_UPPER, ['N'] = C_UPPER, ['O'] = C_UPPER,
  ['P'] = C_UPPER, ['Q'] = C_UPPER, ['R'] = C_UPPER, ['S'] = C_UPPER, ['T'] = C_UPPER,
  ['U'] = C_UPPER, ['V'] = C_UPPER, ['W'] = C_UPPER, ['X'] = C_UPPER, ['Y'] = C_UPPER,
  ['Z'] = C_UPPER,
  ['-'] = C_HYPHEN, ['.'] = C_DOT, ['%'] = C_PCT, ['@'] = C_AT,
  [0x80] = C_HIGH, [0x81] = C_HIGH, [0x82] = C_HIGH, [0x83] = C_HIGH, [0x84] = C_HIGH,
  [0x85] = C_HIGH, [0x86] = C_HIGH, [0x87] = C_HIGH, [0x88] = C_HIGH, [0x89] = C_HIGH,
  [0x8a] = C_HIGH, [0x8b] = C_HIGH, [0x8c] = C_HIGH, [0x8d] = C_HIGH, [0x8e] = C_HIGH,
  [0x8f] = C_HIGH, [0x90] = C_HIGH, [0x91] = C_HIGH, [0x92] = C_HIGH, [0x93] = C_HIGH,
  [0x94] = C_HIGH, [0x95] = C_HIGH, [0x96] = C_HIGH, [0x97] = C_HIGH, [0x98] = C_HIGH,
  [0x99] = C_HIGH, [0x9a] = C_HIGH, [0x9b] = C_HIGH, [0x9c] = C_HIGH, [0x9d] = C_HIGH,
  [0x9e] = C_HIGH, [0x9f] = C_HIGH, [0xa0] = C_HIGH, [0xa1] = C_HIGH, [0xa2] = C_HIGH,
  [0xa3] = C_HIGH, [0xa4] = C_HIGH, [0xa5] = C_HIGH, [0xa6] = C_HIGH, [0xa7] = C_HIGH,
  [0xa8] = C_HIGH, [0xa9] = C_HIGH, [0xaa] = C_HIGH, [0xab] = C_HIGH, [0xac] = C_HIGH,
  [0xad] = C_HIGH, [0xae] = C_HIGH, [0xaf] = C_HIGH, [0xb0] = C_HIGH, [0xb1] = C_HIGH,
  [0xb2] = C_HIGH, [0xb3] = C_HIGH, [0xb4] = C_HIGH, [0xb5] = C_HIGH, [0xb6] = C_HIGH,
  [0xb7] = C_HIGH, [0xb8] = C_HIGH, [0xb9] = C_HIGH, [0xba] = C_HIGH, [0xbb] = C_HIGH,
  [0xbc] = C_HIGH, [0xbd] = C_HIGH, [0xbe] = C_HIGH, [0xbf] = C_HIGH, [0xc0] = C_HIGH,
  [0xc1] = C_HIGH, [0xc2] = C_HIGH, [0xc3] = C_HIGH, [0xc4] = C_HIGH, [0xc5] = C_HIGH,
  [0xc6] = C_HIGH, [0xc7] = C_HIGH, [0xc8] = C_HIGH, [0xc9] = C_HIGH, [0xca] = C_HIGH,
  [0xcb] = C_HIGH, [0xcc] = C_HIGH, [0xcd] = C_HIGH, [0xce] = C_HIGH, [0xcf] = C_HIGH,
  [0xd0] = C_HIGH, [0xd1] = C_HIGH, [0xd2] = C_HIGH, [0xd3] = C_HIGH, [0xd4] = C_HIGH,
  [0xd5] = C_HIGH, [0xd6] = C_HIGH, [0xd7] = C_HIGH, [0xd8] = C_HIGH, [0xd9] = C_HIGH,
  [0xda] = C_HIGH, [0xdb] = C_HIGH, [0xdc] = C_HIGH, [0xdd] = C_HIGH, [0xde] = C_HIGH,
  [0xdf] = C_HIGH, [0xe0] = C_HIGH, [0xe1] = C_HIGH, [0xe2] = C_HIGH, [0xe3] = C_HIGH,
  [0xe4] = C_HIGH, [0xe5] = C_HIGH, [0xe6] = C_HIGH, [0xe7] = C_HIGH, [0xe8] = C_HIGH,
  [0xe9] = C_HIGH, [0xea] = C_HIGH, [0xeb] = C_HIGH, [0xec] = C_HIGH, [0xed] = C_HIGH,
  [0xee] = C_HIGH, [0xef] = C_HIGH, [0xf0] = C_HIGH, [0xf1] = C_HIGH, [0xf2] = C_HIGH,
  [0xf3] = C_HIGH, [0xf4] = C_HIGH, [0xf5] = C_HIGH, [0xf6] = C_HIGH, [0xf7] = C_HIGH,
  [0xf8] = C_HIGH, [0xf9] = C_HIGH, [0xfa] = C_HIGH, [0xfb] = C_HIGH, [0xfc] = C_HIGH,
  [0xfd] = C_HIGH, [0xfe] = C_HIGH, [0xff] = C_HIGH,
};

/* Is the label [p, p+n) all digits, or "0x" followed by hex digits? */
static int numeric_label(const char *p, size_t n) {
  if (n >= 2 && p[0] == '0' && p[1] == 'x') {
    for (size_t i = 2; i < n; i++)
      if (hexval((unsigned char)p[i]) < 0) return 0;
    return 1;
  }
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] < '0' || p[i] > '9') return 0;
  return 1;
}

/* reg-name or IPv4: validate and lower-case into out->host in one pass. */
static mdr_reason parse_regname(const char *p, size_t n, mdr_authority *out) {
  if (n == 0) return MDR_REASON_HOST_EMPTY;
  /* First pass over every byte for the byte-class reasons, so that the most
   * specific reason wins wherever the bad byte is. */
  size_t label_len = 0, label_start = 0, last_label_start = 0;
  int bad = 0, pct = 0, high = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    switch (cls[c]) {
    case C_PCT: pct = 1; break;
    case C_HIGH: high = 1; break;
    case C_BAD: bad = 1; break;
    case C_AT: return MDR_REASON_HOST_USERINFO;
    default: break;
    }
  }
  if (high) return MDR_REASON_HOST_NON_ASCII;
  if (pct) return MDR_REASON_HOST_PERCENT;
  if (bad) return MDR_REASON_HOST_BAD_CHAR;
  /* One trailing dot is the FQDN form. */
  if (p[n - 1] == '.') n--;
  if (n == 0) return MDR_REASON_HOST_LABEL_EMPTY;
  if (n > MDR_HOST_MAX) {
    /* Still report a label problem first if there is one. */
    for (size_t i = 0; i <= n; i++) {
      if (i == n || p[i] == '.') {
        size_t ll = i - label_start;
        if (ll == 0) return MDR_REASON_HOST_LABEL_EMPTY;
        if (ll > 63) return MDR_REASON_HOST_LABEL_LONG;
        label_start = i + 1;
      }
    }
    return MDR_REASON_HOST_NAME_LONG;
  }
  char *h = out->host;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || p[i] == '.') {
      label_len = i - label_start;
      if (label_len == 0) return MDR_REASON_HOST_LABEL_EMPTY;
      if (label_len > 63) return MDR_REASON_HOST_LABEL_LONG;
      if (p[label_start] == '-' || p[i - 1] == '-') return MDR_REASON_HOST_LABEL_HYPHEN;
      last_label_start = label_start;
      label_start = i + 1;
      if (i < n) h[i] = '.';
      continue;
    }
    h[i] = (char)mdri_lower((unsigned char)p[i]);
  }
  h[n] = '\0';
  out->host_len = n;
  out->kind = MDR_HOST_NAME;
  if (numeric_label(h + last_label_start, n - last_label_start)) {
    uint8_t v4[4];
    if (ipv4_parse(h, n, v4) != 0) return MDR_REASON_HOST_NUMERIC;
    out->kind = MDR_HOST_IPV4;
  }
  return MDR_REASON_COUNT_;
}

/* ---- fast path ---------------------------------------------------------
 *
 * One pass over an authority of at most 64 bytes classifies every byte
 * (16 at a time with SSE2, else a byte loop giving identical masks), writes
 * the lower-cased bytes into out->host, and yields bit masks (bit i = byte i):
 * bytes outside [A-Za-z0-9._-], colons, dots, hyphens and digits.  The masks
 * settle the common valid case directly.  Anything unusual - a bad byte, an
 * empty or edge-hyphen label, a numeric last label (IPv4 or 400), a second
 * colon, a port that is not plain digits in range - returns 0 and the
 * careful path below decides, so reasons and their priority are exactly the
 * careful path's. */

#if (defined(__SSE2__) || defined(_M_X64)) && !defined(MDRI_SCALAR_ONLY)
#include <emmintrin.h>
#define MDRI_FAST_SSE2 1
#endif

typedef struct host_masks {
  uint64_t bad, colon, dot, hyphen, digit;
} host_masks;

#ifdef MDRI_FAST_SSE2
/* Classify 16 bytes, store their lower-case form at dst, and OR the masks
 * into hm shifted to byte position `at`. */
static inline void classify16(__m128i v, char *dst, host_masks *hm, unsigned at) {
  const __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                                   _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
  const __m128i lo = _mm_or_si128(v, _mm_and_si128(up, _mm_set1_epi8(0x20)));
  const __m128i let = _mm_and_si128(_mm_cmpgt_epi8(lo, _mm_set1_epi8('a' - 1)),
                                    _mm_cmplt_epi8(lo, _mm_set1_epi8('z' + 1)));
  const __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                    _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
  const __m128i dot = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
  const __m128i hy = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
  const __m128i us = _mm_cmpeq_epi8(v, _mm_set1_epi8('_'));
  const __m128i ok = _mm_or_si128(_mm_or_si128(let, dig), _mm_or_si128(_mm_or_si128(dot, hy), us));
  _mm_storeu_si128((__m128i *)(void *)dst, lo);
  hm->bad |= (uint64_t)((unsigned)_mm_movemask_epi8(ok) ^ 0xffffu) << at;
  hm->colon |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':'))) << at;
  hm->dot |= (uint64_t)(unsigned)_mm_movemask_epi8(dot) << at;
  hm->hyphen |= (uint64_t)(unsigned)_mm_movemask_epi8(hy) << at;
  hm->digit |= (uint64_t)(unsigned)_mm_movemask_epi8(dig) << at;
}

/* len in 1..64.  Never reads outside [p, p+len); writes out[0..max(len,16)). */
static inline host_masks host_scan(const char *p, size_t len, char *out) {
  host_masks hm = { 0, 0, 0, 0, 0 };
  if (len >= 16) {
    size_t i = 0;
    for (; i + 16 <= len; i += 16)
      classify16(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), out + i, &hm,
                 (unsigned)i);
    if (i < len) /* the last 16 bytes, overlapping what was done */
      classify16(_mm_loadu_si128((const __m128i *)(const void *)(p + len - 16)), out + len - 16,
                 &hm, (unsigned)(len - 16));
  } else {
    char buf[16] = { 0 };
    if (len >= 8) {
      memcpy(buf, p, 8);
      memcpy(buf + len - 8, p + len - 8, 8);
    } else if (len >= 4) {
      memcpy(buf, p, 4);
      memcpy(buf + len - 4, p + len - 4, 4);
    } else {
      for (size_t i = 0; i < len; i++) buf[i] = p[i];
    }
    classify16(_mm_loadu_si128((const __m128i *)(const void *)buf), out, &hm, 0);
    hm.bad &= (1ull << len) - 1; /* the zero padding */
  }
  return hm;
}
#else
/* Portable: the same masks, a byte at a time. */
static inline host_masks host_scan(const char *p, size_t len, char *out) {
  host_masks hm = { 0, 0, 0, 0, 0 };
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    uint64_t bit = 1ull << i;
    unsigned k = cls[c];
    out[i] = (char)mdri_lower(c);
    if (k != C_LABEL && k != C_UPPER && k != C_HYPHEN && k != C_DOT) hm.bad |= bit;
    if (c == ':') hm.colon |= bit;
    if (c == '.') hm.dot |= bit;
    if (c == '-') hm.hyphen |= bit;
    if (c >= '0' && c <= '9') hm.digit |= bit;
  }
  return hm;
}
#endif

static inline unsigned ctz64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return (unsigned)__builtin_ctzll(x);
#else
  unsigned n = 0;
  while (!(x & 1)) {
    x >>= 1;
    n++;
  }
  return n;
#endif
}

static inline unsigned top_bit64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return 63u - (unsigned)__builtin_clzll(x);
#else
  unsigned n = 0;
  while (x >>= 1) n++;
  return n;
#endif
}

/* Returns 1 when it decided (a valid reg-name authority, out filled, and
 * *first_dot the index of the host's first dot, or its length when it has
 * none), 0 when the careful path must decide.  len in 1..64, p[0] != '['. */
static inline int fast_authority(const char *p, size_t len, mdr_authority *out,
                                 size_t *first_dot) {
  host_masks hm = host_scan(p, len, out->host);
  size_t n = len;
  uint16_t port = 0;
  if (hm.colon) {
    if (hm.colon & (hm.colon - 1)) return 0;  /* two colons: IPv6-like or garbage */
    n = ctz64(hm.colon);
    uint64_t after = ~((2ull << n) - 1) & (len == 64 ? ~0ull : (1ull << len) - 1);
    if ((hm.digit & after) != after) return 0; /* '@' or junk in the port */
    if (parse_port(p + n + 1, len - n - 1, &port) != MDR_REASON_COUNT_) return 0;
  }
  if (n == 0) return 0;
  uint64_t inhost = n == 64 ? ~0ull : (1ull << n) - 1;
  if (hm.bad & inhost) return 0;
  uint64_t dot = hm.dot & inhost;
  if (dot >> (n - 1)) { /* one trailing dot is the FQDN form */
    n--;
    dot &= ~(1ull << n);
    if (n == 0) return 0;
  }
  if (n > 63) return 0; /* a label could be too long: let the careful path count */
  uint64_t last = 1ull << (n - 1);
  /* Empty labels: a leading dot, two dots in a row, a dot at the end. */
  if ((dot & 1) || (dot & (dot >> 1)) || (dot & last)) return 0;
  uint64_t starts = (dot << 1) | 1, ends = (dot >> 1) | last;
  if (hm.hyphen & (starts | ends)) return 0; /* a label starts or ends with '-' */
  /* A last label starting with a digit may be numeric (IPv4 or 400). */
  size_t last_start = dot ? top_bit64(dot) + 1 : 0;
  if (hm.digit & (1ull << last_start)) return 0;
  out->host[n] = '\0';
  out->host_len = n;
  out->kind = MDR_HOST_NAME;
  out->port = port;
  *first_dot = dot ? ctz64(dot) : n;
  return 1;
}

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* Everything the fast path leaves: IP literals, ports, long names, and
 * every error with its most specific reason.  Out of line, so that the
 * fast path's caller saves no more registers than it needs. */
NOINLINE static mdr_reason careful_authority(const char *p, size_t len, mdr_authority *out);

mdr_reason mdri_authority(const char *p, size_t len, mdr_authority *out) {
  size_t dot;
  return mdri_authority_dot(p, len, out, &dot);
}

mdr_reason mdri_authority_dot(const char *p, size_t len, mdr_authority *out, size_t *first_dot) {
  /* fast_authority sets every field when it decides. */
  if (len - 1 < 64 && p[0] != '[' && fast_authority(p, len, out, first_dot))
    return MDR_REASON_COUNT_;
  mdr_reason r = careful_authority(p, len, out);
  const char *d = memchr(out->host, '.', out->host_len);
  *first_dot = d ? (size_t)(d - out->host) : out->host_len;
  return r;
}

static mdr_reason careful_authority(const char *p, size_t len, mdr_authority *out) {
  out->host[0] = '\0';
  out->host_len = 0;
  out->kind = MDR_HOST_NAME;
  out->port = 0;
  if (len == 0) return MDR_REASON_HOST_EMPTY;
  if (p[0] == '[') {
    size_t close = 1;
    while (close < len && p[close] != ']') close++;
    const char *in = p + 1;
    size_t inlen = close - 1;
    for (size_t i = 0; i < len; i++)
      if (p[i] == '@') return MDR_REASON_HOST_USERINFO;
    if (inlen > 0 && (in[0] == 'v' || in[0] == 'V')) return MDR_REASON_HOST_IPVFUTURE;
    for (size_t i = 0; i < inlen; i++)
      if (in[i] == '%') return MDR_REASON_HOST_IPV6_ZONE;
    if (close >= len) return MDR_REASON_HOST_IPV6;
    uint8_t a[16];
    if (inlen > 45 || mdri_ipv6_parse(in, inlen, a) != 0) return MDR_REASON_HOST_IPV6;
    size_t rest = close + 1;
    if (rest < len) {
      if (p[rest] != ':') return MDR_REASON_HOST_IPV6;
      mdr_reason r = parse_port(p + rest + 1, len - rest - 1, &out->port);
      if (r != MDR_REASON_COUNT_) return r;
    }
    out->host[0] = '[';
    size_t k = mdri_ipv6_format(a, out->host + 1);
    out->host[k + 1] = ']';
    out->host[k + 2] = '\0';
    out->host_len = k + 2;
    out->kind = MDR_HOST_IPV6;
    return MDR_REASON_COUNT_;
  }
  size_t colon = len, ncolon = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] == ':') {
      if (ncolon++ == 0) colon = i;
    }
  }
  if (ncolon > 1) {
    /* An unbracketed IPv6 literal, or garbage; report what it looks like. */
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)p[i];
      if (c == '@') return MDR_REASON_HOST_USERINFO;
    }
    uint8_t a[16];
    if (mdri_ipv6_parse(p, len, a) == 0) return MDR_REASON_HOST_IPV6;
    return MDR_REASON_PORT_SYNTAX;
  }
  for (size_t i = colon; i < len; i++)
    if (p[i] == '@') return MDR_REASON_HOST_USERINFO;
  mdr_reason r = parse_regname(p, colon, out);
  if (r != MDR_REASON_COUNT_) {
    out->host[0] = '\0';
    out->host_len = 0;
    return r;
  }
  if (colon < len) {
    r = parse_port(p + colon + 1, len - colon - 1, &out->port);
    if (r != MDR_REASON_COUNT_) {
      out->host[0] = '\0';
      out->host_len = 0;
      return r;
    }
  }
  return MDR_REASON_COUNT_;
}

int mdr_authority_parse(const char *p, size_t len, int trim_ows, mdr_authority *out,
                        int *valid_out, mdr_reason *reason_out) {
  if (!out || (!p && len)) return MDR_ERR_INVALID_ARGUMENT;
  if (trim_ows) {
    while (len && (p[0] == ' ' || p[0] == '\t')) {
      p++;
      len--;
    }
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
  }
  mdr_reason r = mdri_authority(p, len, out);
  if (valid_out) *valid_out = (r == MDR_REASON_COUNT_);
  if (reason_out) *reason_out = r == MDR_REASON_COUNT_ ? MDR_REASON_SERVE_HANDSHAKE_VHOST : r;
  return 0;
}
