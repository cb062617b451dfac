# Uniform targets: every library, test and tool gets the same warnings and sanitizer flags from
# this one list, so no folder drifts.

set(STATION_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
    -Wno-missing-field-initializers)

set(STATION_SANITIZER_FLAGS)
if(STATION_SANITIZE)
  set(STATION_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
endif()
# A fuzzing build (clang) instruments the libraries for coverage as well as the fuzz targets, so
# that libFuzzer is guided by the branches of the parsers it feeds, not only by the harness's.
# Undefined behaviour aborts, as in the sanitizer build: otherwise UBSan only prints, the run
# goes on, and libFuzzer neither stops nor keeps the input.
if(STATION_FUZZ)
  list(APPEND STATION_SANITIZER_FLAGS -fsanitize=fuzzer-no-link,address,undefined
       -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
endif()
# clang 14's UBSan check of indirect calls ("function") cannot lay out its data beside the split
# parts of a coroutine ("cannot represent a difference across sections"); the other checks stay.
if(STATION_SANITIZER_FLAGS AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  list(APPEND STATION_SANITIZER_FLAGS -fno-sanitize=function)
endif()

function(station_apply_flags target)
  target_compile_options(${target} PRIVATE ${STATION_WARNINGS} ${STATION_SANITIZER_FLAGS})
  target_link_options(${target} PRIVATE ${STATION_SANITIZER_FLAGS})
endfunction()

# station_library(NAME SRCS ... DEPS ...): a static library for one domain under src/.
function(station_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  station_apply_flags(${name})
  if(STATION_SANITIZE OR STATION_FUZZ)
    target_compile_options(${name} PUBLIC ${STATION_SANITIZER_FLAGS})
    target_link_options(${name} PUBLIC ${STATION_SANITIZER_FLAGS})
  endif()
endfunction()

# station_test(NAME SRCS ... DEPS ... [LABELS ...]): a GoogleTest binary registered with CTest.
function(station_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  station_apply_flags(${name})
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
