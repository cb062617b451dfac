// orders/qr: the activation code as a QR code, as PNG and as SVG, for the app, the portal and
// printed cards. Encoding is libqrencode's (error correction M, 8-bit mode, so the '$'
// separators survive); PNG is written by libpng, SVG as one path. Both carry the four-module
// quiet zone the QR standard requires, without which phone cameras often miss the code.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace station::orders {

struct QrImageOptions {
  int module_pixels = 8;  // PNG: pixels per module, 1..32
};

// kValidationFailed for empty text or text beyond 512 bytes (activation codes are far shorter).
Result<std::string> qr_png(std::string_view text, QrImageOptions options = {});
Result<std::string> qr_svg(std::string_view text);

}  // namespace station::orders
