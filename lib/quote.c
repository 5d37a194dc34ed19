/* Quoting names and tokens for error messages: see quote.h. */
#include "quote.h"

#include <string.h>

const char *mdri_quote(char out[MDRI_QUOTE], const char *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    size_t need = (c < 0x20 || c > 0x7e) ? 4 : 1;
    /* keep room for "..." and the NUL unless this is the last byte */
    size_t room = i + 1 == n ? 1 : 4;
    if (o + need + room > MDRI_QUOTE) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
    if (need == 4) {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = '\0';
  return out;
}
