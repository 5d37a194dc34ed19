/* Fuzz target: the authority / Host normaliser (mdr_authority_parse).
 * Input: one flag byte (bit 0 = trim OWS as for a Host field value), then
 * the authority bytes.  Invariants:
 *  - never an error code; valid or a 400 reason, nothing in between;
 *  - a valid result is lower-case, NUL-terminated at host_len, never ends in
 *    '.', IPv6 is bracketed, IPv4 is a dotted quad;
 *  - normalising is idempotent: host[:port] parses back to the same result;
 *  - upper-casing the input changes nothing (same validity and reason);
 *  - OWS around a Host value is trimmed: adding SP/HTAB changes nothing. */
#include "fuzz_common.h"

static void parse(mdr_str in, int trim, mdr_authority *a, int *valid, mdr_reason *why) {
  memset(a, 0xa5, sizeof *a);
  *valid = -1;
  *why = MDR_REASON_COUNT_;
  FZ_CHECK(mdr_authority_parse(in.ptr, in.len, trim, a, valid, why) == 0);
  FZ_CHECK(*valid == 0 || *valid == 1);
  FZ_CHECK(*why < MDR_REASON_COUNT_);
}

static int same(const mdr_authority *a, const mdr_authority *b) {
  return a->host_len == b->host_len && memcmp(a->host, b->host, a->host_len + 1) == 0 &&
         a->kind == b->kind && a->port == b->port;
}

static void check_ipv4(const char *h, size_t n) {
  int dots = 0, digits = 0;
  for (size_t i = 0; i < n; i++) {
    if (h[i] == '.') {
      FZ_CHECK(digits > 0);
      dots++;
      digits = 0;
    } else {
      FZ_CHECK(h[i] >= '0' && h[i] <= '9');
      digits++;
    }
  }
  FZ_CHECK(dots == 3 && digits > 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 2048) return 0;
  int trim = data[0] & 1;
  mdr_str in = fz_dup(data + 1, size - 1);
  mdr_authority a;
  int valid;
  mdr_reason why;
  parse(in, trim, &a, &valid, &why);
  if (valid) {
    FZ_CHECK(a.host_len > 0 && a.host_len <= MDR_HOST_MAX);
    FZ_CHECK(strlen(a.host) == a.host_len);
    for (size_t i = 0; i < a.host_len; i++) FZ_CHECK(!fz_is_upper((unsigned char)a.host[i]));
    FZ_CHECK(a.host[a.host_len - 1] != '.');
    if (a.kind == MDR_HOST_IPV6) {
      FZ_CHECK(a.host[0] == '[' && a.host[a.host_len - 1] == ']');
    } else {
      FZ_CHECK(memchr(a.host, ':', a.host_len) == NULL && a.host[0] != '[');
      if (a.kind == MDR_HOST_IPV4) check_ipv4(a.host, a.host_len);
    }
    /* idempotent */
    char buf[MDR_HOST_MAX + 16];
    int n = a.port ? snprintf(buf, sizeof buf, "%s:%u", a.host, a.port)
                   : snprintf(buf, sizeof buf, "%s", a.host);
    FZ_CHECK(n > 0 && (size_t)n < sizeof buf);
    mdr_str again = fz_dup(buf, (size_t)n);
    mdr_authority b;
    int vb;
    mdr_reason wb;
    parse(again, 0, &b, &vb, &wb);
    FZ_CHECK(vb == 1 && same(&a, &b));
    fz_free(again);
  } else {
    FZ_CHECK(why != MDR_REASON_SERVE_HANDSHAKE_VHOST);
  }
  /* case-insensitive */
  {
    mdr_str up = fz_dup_upper(in, 0, in.len);
    mdr_authority b;
    int vb;
    mdr_reason wb;
    parse(up, trim, &b, &vb, &wb);
    FZ_CHECK(vb == valid && wb == why);
    if (valid) FZ_CHECK(same(&a, &b));
    fz_free(up);
  }
  /* OWS trimming for Host values */
  if (trim) {
    char *w = malloc(in.len + 3);
    FZ_CHECK(w != NULL);
    w[0] = ' ';
    w[1] = '\t';
    if (in.len) memcpy(w + 2, in.ptr, in.len);
    w[in.len + 2] = ' ';
    mdr_str ws = { w, in.len + 3 };
    mdr_authority b;
    int vb;
    mdr_reason wb;
    parse(ws, 1, &b, &vb, &wb);
    FZ_CHECK(vb == valid && wb == why);
    if (valid) FZ_CHECK(same(&a, &b));
    free(w);
  } else if (in.len && in.ptr[0] != ' ' && in.ptr[0] != '\t' && in.ptr[in.len - 1] != ' ' &&
             in.ptr[in.len - 1] != '\t') {
    /* nothing to trim: trimming changes nothing */
    mdr_authority b;
    int vb;
    mdr_reason wb;
    parse(in, 1, &b, &vb, &wb);
    FZ_CHECK(vb == valid && wb == why);
    if (valid) FZ_CHECK(same(&a, &b));
  }
  fz_free(in);
  return 0;
}
