/* Prints every reason token of MDR_REASON_MAP, one per line, for the
 * coverage test (every reason must have a golden explanation). */
#include <stdio.h>

#include <misdirect/misdirect.h>

int main(void) {
  for (unsigned i = 0; i < MDR_REASON_COUNT_; i++) printf("%s\n", mdr_reason_token((mdr_reason)i));
  return 0;
}
