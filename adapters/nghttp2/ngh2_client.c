/*
 * misdirect-nghttp2, client side: built-in ORIGIN receive feeding an
 * mdr_origin_client, and removal of an origin on 421.
 */
#include <misdirect/nghttp2.h>

#include <string.h>

int mdr_ngh2_client_enable_origin(nghttp2_option *opt) {
  if (!opt) return MDR_ERR_INVALID_ARGUMENT;
  nghttp2_option_set_builtin_recv_extension_type(opt, NGHTTP2_ORIGIN);
  return 0;
}

int mdr_ngh2_client_on_frame(mdr_origin_client *c, const nghttp2_frame *frame) {
  if (!c || !frame) return MDR_ERR_INVALID_ARGUMENT;
  if (frame->hd.type != NGHTTP2_ORIGIN) return 0;
  /* RFC 8336 §2.2: ignore on a non-zero stream and with any of the flags
   * reserved for incompatible changes (0x1, 0x2, 0x4, 0x8). */
  if (frame->hd.stream_id != 0) return 0;
  if (frame->hd.flags & MDR_ORIGIN_H2_RESERVED_FLAGS) return 0;
  const nghttp2_ext_origin *ext = frame->ext.payload;
  /* No parsed payload: the frame came through the strict (user extension)
   * path, which mdr_ngh2_origin_rx_unpack already handled. */
  if (!ext) return 0;
  mdr_origin_client_activate(c);
  for (size_t i = 0; i < ext->nov; i++) {
    int rc = mdr_origin_client_add(c, (const char *)ext->ov[i].origin, ext->ov[i].origin_len);
    if (rc < 0) return rc;
  }
  return 1;
}

int mdr_ngh2_client_on_response(mdr_origin_client *c, unsigned status, const char *authority,
                                size_t len) {
  if (!c) return MDR_ERR_INVALID_ARGUMENT;
  if (status != 421) return 0;
  char origin[MDR_ORIGIN_BUFSIZE];
  size_t olen = 0;
  int rc = mdr_origin_from_authority(authority, len, origin, sizeof origin, &olen);
  if (rc != 0) return MDR_ERR_INVALID_ARGUMENT;
  return mdr_origin_client_on_421(c, origin, olen);
}

/* ---- strict receive: ORIGIN as a user extension, decoded by misdirect ---- */

int mdr_ngh2_client_enable_origin_strict(nghttp2_option *opt) {
  if (!opt) return MDR_ERR_INVALID_ARGUMENT;
  nghttp2_option_set_user_recv_extension_type(opt, NGHTTP2_ORIGIN);
  return 0;
}

int mdr_ngh2_origin_rx_init(mdr_ngh2_origin_rx *rx, mdr_origin_client *set) {
  if (!rx || !set) return MDR_ERR_INVALID_ARGUMENT;
  rx->set = set;
  rx->len = 0;
  rx->overflow = 0;
  return 0;
}

int mdr_ngh2_origin_rx_chunk(mdr_ngh2_origin_rx *rx, const nghttp2_frame_hd *hd,
                             const uint8_t *data, size_t len) {
  if (!rx || !hd || (len > 0 && !data)) return MDR_ERR_INVALID_ARGUMENT;
  if (hd->type != NGHTTP2_ORIGIN || rx->overflow) return 0;
  if (len > MDR_NGH2_ORIGIN_MAX_PAYLOAD - rx->len) {
    rx->overflow = 1;
    return 0;
  }
  memcpy(rx->buf + MDR_ORIGIN_H2_HEADER_LEN + rx->len, data, len);
  rx->len += len;
  return 0;
}

int mdr_ngh2_origin_rx_unpack(mdr_ngh2_origin_rx *rx, const nghttp2_frame_hd *hd) {
  if (!rx || !hd || !rx->set) return MDR_ERR_INVALID_ARGUMENT;
  if (hd->type != NGHTTP2_ORIGIN) return 0;
  size_t len = rx->len;
  int overflow = rx->overflow || len != hd->length;
  rx->len = 0;
  rx->overflow = 0;
  if (overflow) return 0;
  /* Rebuild the 9-byte header from what nghttp2 parsed, raw flags included. */
  uint8_t *h = rx->buf;
  h[0] = (uint8_t)(len >> 16);
  h[1] = (uint8_t)(len >> 8);
  h[2] = (uint8_t)len;
  h[3] = hd->type;
  h[4] = hd->flags;
  uint32_t sid = (uint32_t)hd->stream_id & 0x7fffffffu;
  h[5] = (uint8_t)(sid >> 24);
  h[6] = (uint8_t)(sid >> 16);
  h[7] = (uint8_t)(sid >> 8);
  h[8] = (uint8_t)sid;
  mdr_origin_result res;
  int rc = mdr_origin_client_on_h2_frame(rx->set, rx->buf, MDR_ORIGIN_H2_HEADER_LEN + len, &res);
  if (rc < 0) return rc;
  return res.status == MDR_ORIGIN_PROCESSED ? 1 : 0;
}
