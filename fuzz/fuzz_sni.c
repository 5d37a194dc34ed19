/* Fuzz target: the raw TLS server_name extension parser
 * (mdr_sni_extension_parse), then the handshake step on what it returns.
 * Invariants: a parsed name lies inside the extension and re-encodes to the
 * exact input bytes (so the parse is strict: one host_name entry, exact
 * lengths); the handshake result on every TLS listener of the fixed table is
 * consistent (fz_check_handshake). */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_fixture();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 70000) return 0;
  mdr_str copy = fz_dup(data, size);
  const uint8_t *ext = (const uint8_t *)copy.ptr;
  mdr_str name = { (const char *)1, 1234 };
  int rc = mdr_sni_extension_parse(ext, size, &name);
  if (rc == 0) {
    FZ_CHECK(name.len >= 1 && name.len <= 65535);
    FZ_CHECK(name.ptr == (const char *)ext + 5 && name.len == size - 5);
    /* re-encode: list length, type 0, name length, name */
    uint8_t hdr[5] = { (uint8_t)((name.len + 3) >> 8), (uint8_t)(name.len + 3), 0,
                       (uint8_t)(name.len >> 8), (uint8_t)name.len };
    FZ_CHECK(memcmp(hdr, ext, 5) == 0);
    const mdr_table *t = fz_fixture();
    for (mdr_index l = 0; l < mdr_table_listener_count(t); l++) {
      mdr_handshake_result hs;
      int hr = mdr_handshake(t, l, 1, name.ptr, name.len, &hs);
      mdr_listener_info li;
      mdr_table_listener_info(t, l, &li);
      if (!li.tls) {
        FZ_CHECK(hr == MDR_ERR_WRONG_LISTENER);
        continue;
      }
      FZ_CHECK(hr == 0);
      fz_check_handshake(t, l, 1, name.ptr, name.len, &hs);
    }
  } else {
    FZ_CHECK(rc == MDR_ERR_DECODE);
    FZ_CHECK(name.ptr == NULL && name.len == 0);
  }
  fz_free(copy);
  return 0;
}
