/* Placeholder until the vhosts-file parser lands (helper branch h/config). */
#include "internal.h"

int mdr_table_parse(const char *text, size_t len, mdr_str source, const mdr_parse_options *opts,
                    mdr_table **out, mdr_error *err) {
  (void)text; (void)len; (void)source; (void)opts; (void)err;
  if (out) *out = NULL;
  return MDR_ERR_UNSUPPORTED;
}
