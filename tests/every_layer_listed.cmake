# cmake -DSOURCE_DIR=<repository> -P every_layer_listed.cmake
# Every header of include/cyclegan/layers/ (but bind_check.hpp, the layers' shared checks) must be
# included by tests/support/every_layer.hpp, which runs each layer on every backend.
file(GLOB headers RELATIVE ${SOURCE_DIR}/include ${SOURCE_DIR}/include/cyclegan/layers/*.hpp)
file(READ ${SOURCE_DIR}/tests/support/every_layer.hpp listed)
set(missing "")
foreach(h IN LISTS headers)
  if(h STREQUAL "cyclegan/layers/bind_check.hpp")
    continue()
  endif()
  string(FIND "${listed}" "#include <${h}>" at)
  if(at EQUAL -1)
    list(APPEND missing ${h})
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "tests/support/every_layer.hpp does not run these layers on every backend: ${missing}; "
                      "include each and add its layers to test::for_each_layer")
endif()
