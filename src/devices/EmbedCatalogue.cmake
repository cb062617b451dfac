# Writes OUTPUT, a C++ file defining station::devices::embedded_catalogue() that returns INPUT's
# text (data/devices.csv); the same technique as cmake/EmbedText.cmake for openapi.json.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," content "${content}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include \"devices/catalogue.h\"\n"
  "namespace station::devices {\nnamespace {\nconstexpr char kCatalogue[] = {${content} 0};\n}\n"
  "std::string_view embedded_catalogue() { return {kCatalogue, sizeof(kCatalogue) - 1}; }\n}\n")
