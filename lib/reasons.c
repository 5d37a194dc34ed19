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

const char *mdr_alert_name(unsigned alert) {
  switch (alert) {
  case MDR_ALERT_UNRECOGNIZED_NAME: return "unrecognized_name";
  case MDR_ALERT_MISSING_EXTENSION: return "missing_extension";
  case MDR_ALERT_NO_APPLICATION_PROTOCOL: return "no_application_protocol";
  case MDR_ALERT_DECODE_ERROR: return "decode_error";
  default: return "unknown_alert";
  }
}
