/* Error codes and version. */
#include "internal.h"

const char *mdr_strerror(int code) {
  switch (code) {
  case MDR_OK: return "success";
#define MDR_X_(name, value, text) \
  case value: return text;
    MDR_ERROR_MAP(MDR_X_)
#undef MDR_X_
  default: return "unknown error code";
  }
}

const char *mdr_errname(int code) {
  switch (code) {
  case MDR_OK: return "MDR_OK";
#define MDR_X_(name, value, text) \
  case value: return "MDR_ERR_" #name;
    MDR_ERROR_MAP(MDR_X_)
#undef MDR_X_
  default: return "MDR_ERR_UNKNOWN";
  }
}

const char *mdr_version(void) { return MDR_VERSION; }
unsigned mdr_version_num(void) { return MDR_VERSION_NUM; }
