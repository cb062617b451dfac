# Writes OUTPUT, a C++ file defining station::api::openapi_document() that returns INPUT's text.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," content "${content}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include \"api/v1.h\"\n"
  "namespace station::api {\nnamespace {\nconstexpr char kDocument[] = {${content} 0};\n}\n"
  "std::string_view openapi_document() { return {kDocument, sizeof(kDocument) - 1}; }\n}\n")
