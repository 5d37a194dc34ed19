/* Fuzz target: the handshake step (mdr_handshake) on raw SNI bytes.
 * Input: one byte choosing the listener and whether SNI is present, then the
 * SNI bytes.  Invariants (fz_check_handshake): an accepted connection names a
 * vhost on the listener; only a valid SNI can match; the normalised SNI
 * hands back the same answer; upper-casing the SNI changes nothing; and
 * mdr_explain_handshake agrees with the result. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fz_fixture();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 1024) return 0;
  const mdr_table *t = fz_fixture();
  mdr_index l = (data[0] & 0x7f) % (unsigned)mdr_table_listener_count(t);
  int has_sni = !(data[0] & 0x80);
  mdr_str sni = fz_dup(data + 1, size - 1);
  mdr_listener_info li;
  FZ_CHECK(mdr_table_listener_info(t, l, &li) == 0);
  mdr_handshake_result hs;
  int rc = mdr_handshake(t, l, has_sni, sni.ptr, sni.len, &hs);
  if (!li.tls) {
    FZ_CHECK(rc == MDR_ERR_WRONG_LISTENER);
  } else {
    FZ_CHECK(rc == 0);
    fz_check_handshake(t, l, has_sni, sni.ptr, sni.len, &hs);
    /* The handshake's explanation agrees with it. */
    mdr_explanation e;
    FZ_CHECK(mdr_explain_handshake(t, l, has_sni, sni.ptr, sni.len, &hs, &e) == 0);
    FZ_CHECK(e.rule == 0 && e.reason == hs.reason && e.listener == l && e.has_sni == has_sni);
    FZ_CHECK(e.alert == (hs.outcome == MDR_HS_ALERT ? hs.alert : 0));
    FZ_CHECK(e.n_causes >= 1 && e.n_causes <= MDR_EXPLAIN_MAX_CAUSES);
    for (size_t i = 0; i < e.n_causes; i++) FZ_CHECK(e.causes[i] < MDR_CAUSE_COUNT_);
    mdr_str up = fz_dup_upper(sni, 0, sni.len);
    mdr_handshake_result hu;
    FZ_CHECK(mdr_handshake(t, l, has_sni, up.ptr, up.len, &hu) == 0);
    FZ_CHECK(hu.outcome == hs.outcome && hu.alert == hs.alert && hu.vhost == hs.vhost &&
             hu.reason == hs.reason && hu.sni_valid == hs.sni_valid &&
             hu.sni_len == hs.sni_len && strcmp(hu.sni, hs.sni) == 0);
    fz_free(up);
  }
  fz_free(sni);
  return 0;
}
