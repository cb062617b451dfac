# Writes OUTPUT, a C++ file defining `std::string_view FUNCTION()` in `namespace NAMESPACE` (as
# declared in HEADER) that returns INPUT's text, so data kept in the repo (the OpenAPI document,
# the device catalogue) ships inside the binary.
#   cmake -DINPUT=... -DOUTPUT=... -DNAMESPACE=station::api -DFUNCTION=openapi_document
#         -DHEADER=api/v1.h -P EmbedText.cmake
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," content "${content}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include \"${HEADER}\"\n"
  "namespace ${NAMESPACE} {\nnamespace {\nconstexpr char kText[] = {${content} 0};\n}\n"
  "std::string_view ${FUNCTION}() { return {kText, sizeof(kText) - 1}; }\n}\n")
