/*
 * ORIGIN frame codec: origin serialisation, the canonical check, HTTP/2 and
 * HTTP/3 encoders and the strict decoders (RFC 8336, RFC 9412).
 * No allocation anywhere.
 */
#include "origin_internal.h"

#include <string.h>

#define HTTPS_PREFIX "https://"
#define HTTPS_PREFIX_LEN 8

/* ------------------------------------------------------------------------ */
/* Serialisation                                                              */
/* ------------------------------------------------------------------------ */

static size_t port_digits(uint16_t port, char out[5]) {
  char tmp[5];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + port % 10);
    port = (uint16_t)(port / 10);
  } while (port);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

static int write_origin(const char *host, size_t host_len, uint16_t port, char *buf, size_t cap,
                        size_t *len_out) {
  char digits[5];
  size_t nd = 0;
  if (port != 0 && port != 443) nd = port_digits(port, digits);
  size_t need = HTTPS_PREFIX_LEN + host_len + (nd ? 1 + nd : 0);
  *len_out = need;
  if (buf == NULL || cap < need) return MDR_ERR_BUFFER_TOO_SMALL;
  memcpy(buf, HTTPS_PREFIX, HTTPS_PREFIX_LEN);
  memcpy(buf + HTTPS_PREFIX_LEN, host, host_len);
  if (nd) {
    buf[HTTPS_PREFIX_LEN + host_len] = ':';
    memcpy(buf + HTTPS_PREFIX_LEN + host_len + 1, digits, nd);
  }
  if (cap > need) buf[need] = '\0';
  return 0;
}

int mdr_origin_serialize(const char *host, size_t host_len, uint16_t port, char *buf, size_t cap,
                         size_t *len_out) {
  char norm[MDRO_HOST_BUF];
  size_t n;
  mdr_host_kind kind;
  if (len_out == NULL) return MDR_ERR_INVALID_ARGUMENT;
  *len_out = 0;
  if (host == NULL && host_len != 0) return MDR_ERR_INVALID_ARGUMENT;
  if (mdro_host_normalize(host, host_len, 1, norm, &n, &kind) != 0) return MDR_ERR_INVALID_ARGUMENT;
  return write_origin(norm, n, port, buf, cap, len_out);
}

int mdr_origin_from_authority(const char *authority, size_t len, char *buf, size_t cap,
                              size_t *len_out) {
  if (len_out == NULL) return MDR_ERR_INVALID_ARGUMENT;
  *len_out = 0;
  if (authority == NULL || len == 0) return MDR_ERR_INVALID_ARGUMENT;
  /* The port starts after the last ':' that follows the host (after ']' for IPv6). */
  size_t host_end = len;
  if (authority[0] == '[') {
    const char *rb = memchr(authority, ']', len);
    if (rb == NULL) return MDR_ERR_INVALID_ARGUMENT;
    host_end = (size_t)(rb - authority) + 1;
    if (host_end < len && authority[host_end] != ':') return MDR_ERR_INVALID_ARGUMENT;
  } else {
    const char *colon = memchr(authority, ':', len);
    if (colon) host_end = (size_t)(colon - authority);
  }
  uint32_t port = 0;
  if (host_end < len) {
    size_t i = host_end + 1;
    if (i == len) {
      port = 0; /* empty port: the scheme default */
    } else {
      for (; i < len; i++) {
        unsigned char c = (unsigned char)authority[i];
        if (c < '0' || c > '9') return MDR_ERR_INVALID_ARGUMENT;
        port = port * 10 + (uint32_t)(c - '0');
        if (port > 65535) return MDR_ERR_INVALID_ARGUMENT;
      }
      if (port == 0) return MDR_ERR_INVALID_ARGUMENT;
    }
  }
  char norm[MDRO_HOST_BUF];
  size_t n;
  mdr_host_kind kind;
  if (mdro_host_normalize(authority, host_end, 0, norm, &n, &kind) != 0)
    return MDR_ERR_INVALID_ARGUMENT;
  return write_origin(norm, n, (uint16_t)port, buf, cap, len_out);
}

int mdr_origin_parse(const char *origin, size_t len, mdr_origin_parts *out) {
  if (origin == NULL || len <= HTTPS_PREFIX_LEN || len > MDR_ORIGIN_MAX_LEN) return MDR_ERR_INVALID_ARGUMENT;
  if (memcmp(origin, HTTPS_PREFIX, HTTPS_PREFIX_LEN) != 0) return MDR_ERR_INVALID_ARGUMENT;
  const char *host = origin + HTTPS_PREFIX_LEN;
  size_t rest = len - HTTPS_PREFIX_LEN;
  size_t host_len = rest;
  uint16_t port = 443;
  /* For IPv6 the port colon follows ']'; names and IPv4 hold no ':'. */
  const char *search = host;
  size_t search_len = rest;
  if (host[0] == '[') {
    const char *rb = memchr(host, ']', rest);
    if (rb == NULL) return MDR_ERR_INVALID_ARGUMENT;
    search = rb;
    search_len = rest - (size_t)(rb - host);
  }
  const char *colon = memchr(search, ':', search_len);
  if (colon) {
    host_len = (size_t)(colon - host);
    const char *d = colon + 1;
    size_t nd = rest - host_len - 1;
    if (nd == 0 || nd > 5 || d[0] == '0') return MDR_ERR_INVALID_ARGUMENT;
    uint32_t v = 0;
    for (size_t i = 0; i < nd; i++) {
      if (d[i] < '0' || d[i] > '9') return MDR_ERR_INVALID_ARGUMENT;
      v = v * 10 + (uint32_t)(d[i] - '0');
    }
    if (v > 65535 || v == 443) return MDR_ERR_INVALID_ARGUMENT;
    port = (uint16_t)v;
  }
  mdr_host_kind kind;
  if (!mdro_host_is_canonical(host, host_len, &kind)) return MDR_ERR_INVALID_ARGUMENT;
  if (out) {
    out->host.ptr = host;
    out->host.len = host_len;
    out->kind = kind;
    out->port = port;
  }
  return 0;
}

int mdr_origin_is_canonical(const char *origin, size_t len) {
  return mdr_origin_parse(origin, len, NULL) == 0;
}

/* ------------------------------------------------------------------------ */
/* Encoders                                                                   */
/* ------------------------------------------------------------------------ */

static int entry_ok(const mdr_str *o) {
  return o->ptr != NULL && mdr_origin_is_canonical(o->ptr, o->len);
}

void mdr_origin_split_init(mdr_origin_split *it, const mdr_str *origins, size_t n,
                           size_t max_payload) {
  if (it == NULL) return;
  if (max_payload == 0) max_payload = MDR_ORIGIN_H2_DEFAULT_MAX_FRAME;
  if (max_payload > MDR_ORIGIN_H2_MAX_FRAME_LIMIT) max_payload = MDR_ORIGIN_H2_MAX_FRAME_LIMIT;
  it->origins = origins;
  it->n = origins ? n : 0;
  it->max_payload = max_payload;
  it->next = 0;
  it->started = 0;
}

int mdr_origin_split_next(mdr_origin_split *it, size_t *first, size_t *count,
                          size_t *payload_len) {
  if (it == NULL || first == NULL || count == NULL || payload_len == NULL)
    return MDR_ERR_INVALID_ARGUMENT;
  if (it->n == 0) {
    /* An empty set is one empty frame. */
    if (it->started) return 0;
    it->started = 1;
    *first = 0;
    *count = 0;
    *payload_len = 0;
    return 1;
  }
  if (it->next >= it->n) return 0;
  if (!it->started) {
    /* Check the whole set before the first frame, so a caller never emits
     * part of a set it cannot send. */
    for (size_t k = 0; k < it->n; k++) {
      if (!entry_ok(&it->origins[k])) return MDR_ERR_INVALID_ARGUMENT;
      if (2 + it->origins[k].len > it->max_payload) return MDR_ERR_LIMIT;
    }
    it->started = 1;
  }
  size_t start = it->next, used = 0, i = start;
  /* The loop is bounded by the number of entries. */
  for (; i < it->n; i++) {
    size_t sz = 2 + it->origins[i].len;
    if (used + sz > it->max_payload) break;
    used += sz;
  }
  it->next = i;
  *first = start;
  *count = i - start;
  *payload_len = used;
  return 1;
}

/* Write entries [first, first+count) at out; returns bytes written. */
static size_t put_entries(const mdr_str *origins, size_t first, size_t count, uint8_t *out) {
  size_t k = 0;
  for (size_t i = first; i < first + count; i++) {
    out[k++] = (uint8_t)(origins[i].len >> 8);
    out[k++] = (uint8_t)(origins[i].len & 0xff);
    memcpy(out + k, origins[i].ptr, origins[i].len);
    k += origins[i].len;
  }
  return k;
}

/* Validate every entry and return the payload size (0 on error in *err). */
static int payload_size(const mdr_str *origins, size_t n, size_t *size) {
  size_t total = 0;
  if (origins == NULL && n != 0) return MDR_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < n; i++) {
    if (!entry_ok(&origins[i])) return MDR_ERR_INVALID_ARGUMENT;
    total += 2 + origins[i].len;
  }
  *size = total;
  return 0;
}

int mdr_origin_payload_write(const mdr_str *origins, size_t n, uint8_t *buf, size_t cap,
                             size_t *len_out) {
  size_t need;
  if (len_out == NULL) return MDR_ERR_INVALID_ARGUMENT;
  *len_out = 0;
  int rv = payload_size(origins, n, &need);
  if (rv != 0) return rv;
  *len_out = need;
  if (need > cap || (buf == NULL && need > 0)) return MDR_ERR_BUFFER_TOO_SMALL;
  put_entries(origins, 0, n, buf);
  return 0;
}

int mdr_origin_h2_encode(const mdr_str *origins, size_t n, size_t max_frame, uint8_t *buf,
                         size_t cap, size_t *len_out, size_t *frames_out) {
  mdr_origin_split it;
  size_t first, count, plen, need = 0, frames = 0;
  int rv;
  if (len_out == NULL) return MDR_ERR_INVALID_ARGUMENT;
  *len_out = 0;
  if (frames_out) *frames_out = 0;
  if (origins == NULL && n != 0) return MDR_ERR_INVALID_ARGUMENT;
  /* Pass 1: validate and size. */
  mdr_origin_split_init(&it, origins, n, max_frame);
  while ((rv = mdr_origin_split_next(&it, &first, &count, &plen)) == 1) {
    need += MDR_ORIGIN_H2_HEADER_LEN + plen;
    frames++;
  }
  if (rv < 0) return rv;
  *len_out = need;
  if (frames_out) *frames_out = frames;
  if (buf == NULL || cap < need) return MDR_ERR_BUFFER_TOO_SMALL;
  /* Pass 2: write. */
  size_t k = 0;
  mdr_origin_split_init(&it, origins, n, max_frame);
  while (mdr_origin_split_next(&it, &first, &count, &plen) == 1) {
    buf[k++] = (uint8_t)(plen >> 16);
    buf[k++] = (uint8_t)(plen >> 8);
    buf[k++] = (uint8_t)plen;
    buf[k++] = MDR_ORIGIN_FRAME_TYPE;
    buf[k++] = 0; /* flags */
    buf[k++] = 0; /* R + stream id 0 */
    buf[k++] = 0;
    buf[k++] = 0;
    buf[k++] = 0;
    k += put_entries(origins, first, count, buf + k);
  }
  return 0;
}

int mdr_origin_h3_encode(const mdr_str *origins, size_t n, uint8_t *buf, size_t cap,
                         size_t *len_out) {
  size_t plen;
  if (len_out == NULL) return MDR_ERR_INVALID_ARGUMENT;
  *len_out = 0;
  int rv = payload_size(origins, n, &plen);
  if (rv != 0) return rv;
  if ((uint64_t)plen > MDRO_VARINT_MAX) return MDR_ERR_LIMIT;
  size_t need = mdro_varint_len(MDR_ORIGIN_FRAME_TYPE) + mdro_varint_len(plen) + plen;
  *len_out = need;
  if (buf == NULL || cap < need) return MDR_ERR_BUFFER_TOO_SMALL;
  size_t k = mdro_varint_write(MDR_ORIGIN_FRAME_TYPE, buf);
  k += mdro_varint_write(plen, buf + k);
  put_entries(origins, 0, n, buf + k);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Decoders                                                                   */
/* ------------------------------------------------------------------------ */

int mdr_origin_payload_decode(const uint8_t *payload, size_t len, mdr_origin_entry_fn fn,
                              void *user, size_t *entries, size_t *skipped) {
  size_t i, ne = 0, ns = 0;
  if (entries) *entries = 0;
  if (skipped) *skipped = 0;
  if (payload == NULL && len != 0) return MDR_ERR_INVALID_ARGUMENT;
  /* Pass 1: the structure of the whole payload, so a truncated frame
   * delivers nothing. Each step consumes at least 2 bytes. */
  for (i = 0; i < len;) {
    if (len - i < 2) return MDR_ERR_DECODE;
    size_t el = ((size_t)payload[i] << 8) | payload[i + 1];
    if (el > len - i - 2) return MDR_ERR_DECODE;
    i += 2 + el;
  }
  /* Pass 2: deliver canonical entries. */
  for (i = 0; i < len;) {
    size_t el = ((size_t)payload[i] << 8) | payload[i + 1];
    const char *o = (const char *)payload + i + 2;
    i += 2 + el;
    if (el == 0 || !mdr_origin_is_canonical(o, el)) {
      ns++;
      if (skipped) *skipped = ns;
      continue;
    }
    ne++;
    if (entries) *entries = ne;
    if (fn) {
      int rv = fn(user, o, el);
      if (rv != 0) return rv;
    }
  }
  return 0;
}

static void result_clear(mdr_origin_result *res) { memset(res, 0, sizeof *res); }

int mdr_origin_h2_decode(const uint8_t *in, size_t len, mdr_origin_entry_fn fn, void *user,
                         mdr_origin_result *res) {
  if (res == NULL || (in == NULL && len != 0)) return MDR_ERR_INVALID_ARGUMENT;
  result_clear(res);
  if (len < MDR_ORIGIN_H2_HEADER_LEN) {
    res->status = MDR_ORIGIN_INCOMPLETE;
    res->needed = MDR_ORIGIN_H2_HEADER_LEN;
    return 0;
  }
  size_t plen = ((size_t)in[0] << 16) | ((size_t)in[1] << 8) | in[2];
  res->payload_len = plen;
  res->frame_type = in[3];
  res->flags = in[4];
  res->stream_id = (((uint32_t)in[5] << 24) | ((uint32_t)in[6] << 16) | ((uint32_t)in[7] << 8) |
                    in[8]) & 0x7fffffffu;
  if (len - MDR_ORIGIN_H2_HEADER_LEN < plen) {
    res->status = MDR_ORIGIN_INCOMPLETE;
    res->needed = MDR_ORIGIN_H2_HEADER_LEN + plen;
    return 0;
  }
  res->consumed = MDR_ORIGIN_H2_HEADER_LEN + plen;
  if (res->frame_type != MDR_ORIGIN_FRAME_TYPE) {
    res->status = MDR_ORIGIN_NOT_ORIGIN;
    return 0;
  }
  if (res->stream_id != 0) {
    res->status = MDR_ORIGIN_IGNORED_STREAM;
    return 0;
  }
  if (res->flags & MDR_ORIGIN_H2_RESERVED_FLAGS) {
    res->status = MDR_ORIGIN_IGNORED_FLAGS;
    return 0;
  }
  const uint8_t *payload = in + MDR_ORIGIN_H2_HEADER_LEN;
  int rv = mdr_origin_payload_decode(payload, plen, NULL, NULL, NULL, NULL);
  if (rv == MDR_ERR_DECODE) {
    res->status = MDR_ORIGIN_IGNORED_TRUNCATED;
    return 0;
  }
  res->status = MDR_ORIGIN_PROCESSED;
  return mdr_origin_payload_decode(payload, plen, fn, user, &res->entries, &res->skipped);
}

int mdr_origin_h3_decode(const uint8_t *in, size_t len, mdr_origin_entry_fn fn, void *user,
                         mdr_origin_result *res) {
  uint64_t type, plen;
  size_t need, n1, n2;
  if (res == NULL || (in == NULL && len != 0)) return MDR_ERR_INVALID_ARGUMENT;
  result_clear(res);
  n1 = mdro_varint_read(in, len, &type, &need);
  if (n1 == 0) {
    res->status = MDR_ORIGIN_INCOMPLETE;
    res->needed = need;
    return 0;
  }
  res->frame_type = type;
  n2 = mdro_varint_read(in + n1, len - n1, &plen, &need);
  if (n2 == 0) {
    res->status = MDR_ORIGIN_INCOMPLETE;
    res->needed = n1 + need;
    return 0;
  }
  size_t hdr = n1 + n2;
  if (plen > (uint64_t)(len - hdr)) {
    res->status = MDR_ORIGIN_INCOMPLETE;
    if (plen <= (uint64_t)SIZE_MAX - hdr) res->needed = hdr + (size_t)plen;
    return 0;
  }
  res->payload_len = (size_t)plen;
  res->consumed = hdr + (size_t)plen;
  if (type != MDR_ORIGIN_FRAME_TYPE) {
    res->status = MDR_ORIGIN_NOT_ORIGIN;
    return 0;
  }
  const uint8_t *payload = in + hdr;
  int rv = mdr_origin_payload_decode(payload, (size_t)plen, NULL, NULL, NULL, NULL);
  if (rv != 0) return rv; /* MDR_ERR_DECODE: H3_FRAME_ERROR */
  res->status = MDR_ORIGIN_PROCESSED;
  return mdr_origin_payload_decode(payload, (size_t)plen, fn, user, &res->entries, &res->skipped);
}
