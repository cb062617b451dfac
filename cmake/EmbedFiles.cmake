# Writes OUTPUT, a C++ file defining `std::string_view FUNCTION(std::string_view name)` in
# `namespace NAMESPACE` (as declared in HEADER): the text of the file called `name` (its path
# relative to BASE, '/'-separated) among INPUTS (absolute paths separated by '|'), or an
# empty view when there is none. Used to ship a folder of page templates and static assets
# inside the binary.
#   cmake -DINPUTS=a|b -DBASE=dir -DOUTPUT=... -DNAMESPACE=station::web -DFUNCTION=embedded_file
#         -DHEADER=web/assets.h -P EmbedFiles.cmake
string(REPLACE "|" ";" INPUTS "${INPUTS}")
set(body "")
set(table "")
set(index 0)
foreach(input ${INPUTS})
  file(RELATIVE_PATH name ${BASE} ${input})
  file(READ ${input} content HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," content "${content}")
  string(APPEND body "constexpr char kFile${index}[] = {${content} 0};\n")
  string(APPEND table "    {\"${name}\", {kFile${index}, sizeof(kFile${index}) - 1}},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE ${OUTPUT} "// Generated from the files under ${BASE}; do not edit.\n"
  "#include \"${HEADER}\"\n#include <array>\n#include <utility>\n"
  "namespace ${NAMESPACE} {\nnamespace {\n${body}"
  "constexpr std::array<std::pair<std::string_view, std::string_view>, ${index}> kFiles = {{\n"
  "${table}}};\n}  // namespace\n"
  "std::string_view ${FUNCTION}(std::string_view name) {\n"
  "  for (const auto& [file, text] : kFiles) {\n    if (file == name) return text;\n  }\n"
  "  return {};\n}\n"
  "std::vector<std::string_view> ${FUNCTION}_names() {\n"
  "  std::vector<std::string_view> names;\n"
  "  for (const auto& entry : kFiles) names.push_back(entry.first);\n  return names;\n}\n"
  "}  // namespace ${NAMESPACE}\n")
