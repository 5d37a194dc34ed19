/* Fuzz target: the vhosts-file parser (mdr_table_parse).
 * Invariants: the parser returns 0 with a table, or MDR_ERR_CONFIG with a
 * one-line message "SOURCE:LINE: WHAT" (NUL-terminated, no newline) whose
 * line is within the input, or MDR_ERR_UNSUPPORTED (parser not built);
 * every allocation is freed (LeakSanitizer); and on a table it built:
 *  - every listener and vhost can be found by its name, the listener default
 *    listens on its listener;
 *  - the handshake step on every TLS listener, for every vhost's canonical
 *    name, is consistent (fz_check_handshake);
 *  - every origin of every TLS connection (each listener x each handshake
 *    vhost x HTTP/2 and /3), given as ORIGIN and as :authority, is served or
 *    redirected, never 421. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static void check_table(const mdr_table *t) {
  size_t nl = mdr_table_listener_count(t), nv = mdr_table_vhost_count(t);
  for (mdr_index l = 0; l < nl; l++) {
    mdr_listener_info li;
    FZ_CHECK(mdr_table_listener_info(t, l, &li) == 0);
    mdr_index back;
    FZ_CHECK(mdr_table_find_listener(t, li.name, &back) == 0 && back == l);
    if (li.default_vhost != MDR_NONE) FZ_CHECK(mdr_vhost_on_listener(t, li.default_vhost, l));
    if (li.tls && li.default_vhost == MDR_NONE)
      FZ_CHECK(li.no_sni == MDR_NO_SNI_REJECT && li.unknown_sni == MDR_UNKNOWN_SNI_REJECT);
  }
  for (mdr_index v = 0; v < nv; v++) {
    mdr_vhost_info vi;
    FZ_CHECK(mdr_table_vhost_info(t, v, &vi) == 0);
    mdr_index back;
    FZ_CHECK(mdr_table_find_vhost(t, vi.name, &back) == 0 && back == v);
    FZ_CHECK(vi.canonical.len > 0);
    for (mdr_index l = 0; l < nl; l++) {
      mdr_listener_info li;
      mdr_table_listener_info(t, l, &li);
      if (!li.tls || !mdr_vhost_on_listener(t, v, l)) continue;
      FZ_CHECK(vi.cert.len > 0);
      mdr_handshake_result hs;
      FZ_CHECK(mdr_handshake(t, l, 1, vi.canonical.ptr, vi.canonical.len, &hs) == 0);
      fz_check_handshake(t, l, 1, vi.canonical.ptr, vi.canonical.len, &hs);
    }
  }
  /* the origin-set contract (bounded: small tables only) */
  if (nl * nv <= 256) {
    for (mdr_index l = 0; l < nl; l++) {
      mdr_listener_info li;
      mdr_table_listener_info(t, l, &li);
      if (!li.tls) continue;
      for (mdr_index h = 0; h < nv; h++) {
        if (!mdr_vhost_on_listener(t, h, l)) continue;
        fz_check_origin_set(t, l, h, MDR_HTTP_2);
        fz_check_origin_set(t, l, h, MDR_HTTP_3);
      }
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 16384) return 0;
  mdr_str text = fz_dup(data, size);
  mdr_table *t = NULL;
  mdr_error err;
  memset(&err, 0x5a, sizeof err);
  int rc = mdr_table_parse(text.ptr, text.len, (mdr_str)MDR_STR_LIT("fuzz.vhosts"), NULL, &t, &err);
  if (rc == 0) {
    FZ_CHECK(t != NULL);
    check_table(t);
    mdr_table_unref(t);
  } else {
    FZ_CHECK(t == NULL);
    FZ_CHECK(rc == MDR_ERR_CONFIG || rc == MDR_ERR_UNSUPPORTED || rc == MDR_ERR_LIMIT ||
             rc == MDR_ERR_IO);
    if (rc == MDR_ERR_CONFIG) {
      FZ_CHECK(err.code == MDR_ERR_CONFIG);
      FZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
      FZ_CHECK(memchr(err.token, '\0', sizeof err.token) != NULL);
      FZ_CHECK(strchr(err.message, '\n') == NULL);
      FZ_CHECK(strncmp(err.message, "fuzz.vhosts:", 12) == 0);
      size_t lines = 1;
      for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
      FZ_CHECK(err.line >= 1 && err.line <= lines);
    }
  }
  fz_free(text);
  return 0;
}
