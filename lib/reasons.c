/* Reason tokens and explanations, from the one list in misdirect.h. */
#include "internal.h"

static const char *const tokens[] = {
#define MDR_X_(e, tok, text) tok,
  MDR_REASON_MAP(MDR_X_)
#undef MDR_X_
};

static const char *const texts[] = {
#define MDR_X_(e, tok, text) text,
  MDR_REASON_MAP(MDR_X_)
#undef MDR_X_
};

const char *mdr_reason_token(mdr_reason r) {
  return ((unsigned)r < MDR_REASON_COUNT_) ? tokens[r] : "unknown";
}

const char *mdr_reason_text(mdr_reason r) {
  return ((unsigned)r < MDR_REASON_COUNT_) ? texts[r] : "unknown reason";
}

int mdr_reason_from_token(mdr_str token, mdr_reason *out) {
  for (unsigned i = 0; i < MDR_REASON_COUNT_; i++) {
    if (mdri_str_eq_lit(token, tokens[i])) {
      if (out) *out = (mdr_reason)i;
      return 0;
    }
  }
  return MDR_ERR_NOT_FOUND;
}

/* Every alert of the IANA "TLS Alerts" registry (RFC 8446 section 6 and
 * the RFCs it cites), so a log names whatever a TLS stack sent or received. */
const char *mdr_alert_name(unsigned alert) {
  switch (alert) {
  case 0: return "close_notify";
  case 10: return "unexpected_message";
  case 20: return "bad_record_mac";
  case 21: return "decryption_failed";
  case 22: return "record_overflow";
  case 30: return "decompression_failure";
  case 40: return "handshake_failure";
  case 41: return "no_certificate";
  case 42: return "bad_certificate";
  case 43: return "unsupported_certificate";
  case 44: return "certificate_revoked";
  case 45: return "certificate_expired";
  case 46: return "certificate_unknown";
  case 47: return "illegal_parameter";
  case 48: return "unknown_ca";
  case 49: return "access_denied";
  case MDR_ALERT_DECODE_ERROR: return "decode_error";
  case 51: return "decrypt_error";
  case 52: return "too_many_cids_requested";
  case 60: return "export_restriction";
  case 70: return "protocol_version";
  case 71: return "insufficient_security";
  case 80: return "internal_error";
  case 86: return "inappropriate_fallback";
  case 90: return "user_canceled";
  case 100: return "no_renegotiation";
  case MDR_ALERT_MISSING_EXTENSION: return "missing_extension";
  case 110: return "unsupported_extension";
  case 111: return "certificate_unobtainable";
  case MDR_ALERT_UNRECOGNIZED_NAME: return "unrecognized_name";
  case 113: return "bad_certificate_status_response";
  case 114: return "bad_certificate_hash_value";
  case 115: return "unknown_psk_identity";
  case 116: return "certificate_required";
  case MDR_ALERT_NO_APPLICATION_PROTOCOL: return "no_application_protocol";
  case 121: return "ech_required";
  default: return "unknown_alert";
  }
}
