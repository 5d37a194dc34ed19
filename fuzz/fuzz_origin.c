/* Fuzz target: the ORIGIN frame codec (adapters/origin).
 * Input: a mode byte, then bytes.
 *   mode 0/1: decode the bytes as HTTP/2 / HTTP/3 frames, in a loop.  Every
 *     delivered entry is canonical and lies inside its frame; consumed never
 *     exceeds the input; entries + skipped are counted right; re-encoding
 *     the delivered entries and decoding that gives the same entries
 *     (encode -> decode round-trip).
 *   mode 2: the bytes are origin candidates, one per line.  The canonical
 *     ones (mdr_origin_is_canonical; cross-checked against the case tool's
 *     own canonical check) are split over HTTP/2 frames of a fuzzed size and
 *     encoded for HTTP/3; decoding gives back exactly the list, in order.
 *     Each line also goes through mdr_origin_from_authority (the result is
 *     canonical), and a canonical origin parses and re-serialises to itself.
 */
#include "fuzz_common.h"

#include <misdirect/origin.h>
#ifdef MISDIRECT_FUZZ_HAVE_CASES
#include "cases.h"
#endif

enum { MAX_ENTRIES = 256 };


typedef struct list {
  mdr_str e[MAX_ENTRIES];
  size_t n;
  const uint8_t *lo, *hi; /* delivered entries must lie in [lo, hi) */
  int overflow;
} list;

static int collect(void *user, const char *origin, size_t len) {
  list *l = user;
  FZ_CHECK(mdr_origin_is_canonical(origin, len));
  if (l->lo) FZ_CHECK((const uint8_t *)origin >= l->lo && (const uint8_t *)origin + len <= l->hi);
  if (l->n == MAX_ENTRIES) {
    l->overflow = 1;
    return 0;
  }
  l->e[l->n++] = fz_dup(origin, len);
  return 0;
}

static void list_free(list *l) {
  for (size_t i = 0; i < l->n; i++) fz_free(l->e[i]);
  l->n = 0;
}

static int list_eq(const list *a, const mdr_str *b, size_t n) {
  if (a->n != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!fz_str_eq(a->e[i], b[i])) return 0;
  return 1;
}

/* Decode every frame in [p, p+len) with the h2 or h3 decoder; entries of
 * PROCESSED frames go to `out`.  Returns 0, or the h3 MDR_ERR_DECODE. */
static int decode_all(int h3, const uint8_t *p, size_t len, list *out) {
  size_t off = 0;
  for (int guard = 0; guard < 100000 && off <= len; guard++) {
    mdr_origin_result res;
    memset(&res, 0xee, sizeof res);
    size_t before = out->n;
    out->lo = p + off;
    out->hi = p + len;
    int rc = h3 ? mdr_origin_h3_decode(p + off, len - off, collect, out, &res)
                : mdr_origin_h2_decode(p + off, len - off, collect, out, &res);
    if (rc == MDR_ERR_DECODE && h3) {
      FZ_CHECK(out->n == before); /* nothing delivered */
      return rc;
    }
    FZ_CHECK(rc == 0);
    if (res.status == MDR_ORIGIN_INCOMPLETE) {
      FZ_CHECK(res.consumed == 0 && out->n == before);
      if (res.needed) FZ_CHECK(res.needed > len - off);
      return 0;
    }
    FZ_CHECK(res.consumed > 0 && res.consumed <= len - off);
    FZ_CHECK(res.payload_len < res.consumed);
    if (res.status == MDR_ORIGIN_PROCESSED) {
      FZ_CHECK(res.frame_type == MDR_ORIGIN_FRAME_TYPE);
      if (!out->overflow) FZ_CHECK(out->n - before == res.entries);
    } else {
      FZ_CHECK(out->n == before && res.entries == 0);
    }
    off += res.consumed;
    if (off == len) return 0;
  }
  return 0;
}

static void round_trip(const mdr_str *set, size_t n, size_t max_frame) {
  /* HTTP/2 */
  size_t need = 0, frames = 0;
  int rc = mdr_origin_h2_encode(set, n, max_frame, NULL, 0, &need, &frames);
  if (rc == MDR_ERR_LIMIT) return; /* an entry larger than max_frame */
  FZ_CHECK(rc == 0 || rc == MDR_ERR_BUFFER_TOO_SMALL);
  uint8_t *buf = malloc(need ? need : 1);
  size_t len = 0;
  FZ_CHECK(mdr_origin_h2_encode(set, n, max_frame, buf, need, &len, &frames) == 0 && len == need);
  FZ_CHECK(frames >= 1);
  list got;
  memset(&got, 0, sizeof got);
  FZ_CHECK(decode_all(0, buf, len, &got) == 0);
  FZ_CHECK(list_eq(&got, set, n));
  list_free(&got);
  free(buf);
  /* HTTP/3 */
  need = 0;
  rc = mdr_origin_h3_encode(set, n, NULL, 0, &need);
  FZ_CHECK(rc == 0 || rc == MDR_ERR_BUFFER_TOO_SMALL);
  buf = malloc(need ? need : 1);
  FZ_CHECK(mdr_origin_h3_encode(set, n, buf, need, &len) == 0 && len == need);
  memset(&got, 0, sizeof got);
  FZ_CHECK(decode_all(1, buf, len, &got) == 0);
  FZ_CHECK(list_eq(&got, set, n));
  list_free(&got);
  free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 65536) return 0;
  int mode = data[0] % 3;
  mdr_str in = fz_dup(data + 1, size - 1);
  static const uint8_t empty[1];
  const uint8_t *p = in.ptr ? (const uint8_t *)in.ptr : empty; /* no arithmetic on NULL */
  if (mode < 2) {
    list got;
    memset(&got, 0, sizeof got);
    decode_all(mode, p, in.len, &got);
    if (!got.overflow) round_trip(got.e, got.n, 0);
    list_free(&got);
  } else {
    mdr_str set[MAX_ENTRIES];
    size_t n = 0;
    size_t i = 0;
    while (i <= in.len && n < MAX_ENTRIES) {
      size_t e = i;
      while (e < in.len && p[e] != '\n') e++;
      const char *s = (const char *)p + i;
      size_t sl = e - i;
      int canon = mdr_origin_is_canonical(s, sl);
#ifdef MISDIRECT_FUZZ_HAVE_CASES
      FZ_CHECK(canon == mdrc_origin_is_canonical(s, sl));
#endif
      if (canon) {
        mdr_origin_parts parts;
        FZ_CHECK(mdr_origin_parse(s, sl, &parts) == 0);
        char buf[MDR_ORIGIN_BUFSIZE];
        size_t bl = 0;
        FZ_CHECK(mdr_origin_serialize(parts.host.ptr, parts.host.len, parts.port, buf, sizeof buf,
                                      &bl) == 0);
        FZ_CHECK(bl == sl && memcmp(buf, s, sl) == 0);
        set[n++] = (mdr_str){ s, sl };
      }
      /* an authority's origin is canonical */
      {
        mdr_str a = fz_dup(s, sl);
        char buf[MDR_ORIGIN_BUFSIZE];
        size_t bl = 0;
        int rc = mdr_origin_from_authority(a.ptr, a.len, buf, sizeof buf, &bl);
        FZ_CHECK(rc == 0 || rc == MDR_ERR_INVALID_ARGUMENT);
        if (rc == 0) FZ_CHECK(bl < sizeof buf && mdr_origin_is_canonical(buf, bl));
        fz_free(a);
      }
      i = e + 1;
    }
    size_t max_frame = (size_t)data[0] * 3; /* small frames force splitting */
    round_trip(set, n, max_frame);
  }
  fz_free(in);
  return 0;
}
