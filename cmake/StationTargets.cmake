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
  if(STATION_SANITIZE)
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
