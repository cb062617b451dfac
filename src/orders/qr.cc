#include "orders/qr.h"

#include <cassert>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <png.h>
#include <qrencode.h>

namespace station::orders {
namespace {

constexpr std::size_t kTextBytesMax = 512;
constexpr int kQuietZoneModules = 4;

struct QrDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrPtr = std::unique_ptr<QRcode, QrDeleter>;

Result<QrPtr> encode(std::string_view text) {
  if (text.empty() || text.size() > kTextBytesMax) {
    return Status(ErrorCode::kValidationFailed,
                  fmt::format("QR text must be 1 to {} bytes", kTextBytesMax));
  }
  std::string copy(text);  // libqrencode wants a NUL-terminated string
  QrPtr code(QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M));
  if (!code) return Status(ErrorCode::kInternal, "libqrencode could not encode the text");
  return code;
}

bool dark(const QRcode& code, int x, int y) {
  return (code.data[static_cast<std::size_t>(y) * static_cast<std::size_t>(code.width) +
                    static_cast<std::size_t>(x)] &
          1) != 0;
}

void append_png_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}

}  // namespace

Result<std::string> qr_png(std::string_view text, QrImageOptions options) {
  if (options.module_pixels < 1 || options.module_pixels > 32) {
    return Status(ErrorCode::kValidationFailed, "module_pixels must be 1 to 32");
  }
  STATION_ASSIGN_OR_RETURN(auto code, encode(text));
  const int modules = code->width + 2 * kQuietZoneModules;
  const int side = modules * options.module_pixels;

  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return Status(ErrorCode::kInternal, "libpng could not start");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    return Status(ErrorCode::kInternal, "libpng could not start");
  }
  std::vector<png_byte> row(static_cast<std::size_t>(side));
  // libpng reports errors by longjmp; nothing with a destructor is created after this point.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return Status(ErrorCode::kInternal, "libpng failed to write the image");
  }
  png_set_write_fn(png, &out, append_png_bytes, nullptr);
  png_set_IHDR(png, info, static_cast<png_uint_32>(side), static_cast<png_uint_32>(side), 8,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < side; ++y) {
    const int module_y = y / options.module_pixels - kQuietZoneModules;
    for (int x = 0; x < side; ++x) {
      const int module_x = x / options.module_pixels - kQuietZoneModules;
      bool inside = module_x >= 0 && module_y >= 0 && module_x < code->width &&
                    module_y < code->width;
      row[static_cast<std::size_t>(x)] = inside && dark(*code, module_x, module_y) ? 0 : 255;
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

Result<std::string> qr_svg(std::string_view text) {
  STATION_ASSIGN_OR_RETURN(auto code, encode(text));
  const int modules = code->width + 2 * kQuietZoneModules;
  // One path of unit squares: small, and crisp at any size with shape-rendering crispEdges.
  std::string path;
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width; ++x) {
      if (dark(*code, x, y)) {
        path += fmt::format("M{},{}h1v1h-1z", x + kQuietZoneModules, y + kQuietZoneModules);
      }
    }
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {0}\" width=\"{1}\" "
      "height=\"{1}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"eSIM activation "
      "code\">\n<rect width=\"{0}\" height=\"{0}\" fill=\"#fff\"/>\n<path fill=\"#000\" "
      "d=\"{2}\"/>\n</svg>\n",
      modules, modules * 8, path);
}

}  // namespace station::orders
