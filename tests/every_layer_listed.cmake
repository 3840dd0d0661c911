# cmake -DSOURCE_DIR=<repository> -P every_layer_listed.cmake
# Every layer template of include/cyclegan/layers/ (a class or struct template whose one parameter
# is the backend, `template <class B>`: Conv2d, ReflectionPad2d, ... — the shared templates behind
# them, with more parameters, are reached through them) must be named, as Name<B>, in
# tests/support/every_layer.hpp's list, which runs each layer on every backend. So a variant added
# to an existing header is caught as well as a new header.
file(GLOB headers ${SOURCE_DIR}/include/cyclegan/layers/*.hpp)
file(READ ${SOURCE_DIR}/tests/support/every_layer.hpp listed)
set(layers "")
foreach(h IN LISTS headers)
  file(READ ${h} text)
  string(REGEX MATCHALL "template <class B>[ \t\r\n]*(class|struct)[ \t]+[A-Za-z0-9_]+" found "${text}")
  foreach(f IN LISTS found)
    string(REGEX REPLACE ".*(class|struct)[ \t]+" "" name "${f}")
    list(APPEND layers ${name})
  endforeach()
endforeach()
list(LENGTH layers count)
if(count LESS 10)
  message(FATAL_ERROR "found only ${count} layer templates in include/cyclegan/layers/ (${layers}): the pattern no longer "
                      "matches how layers are declared; update tests/every_layer_listed.cmake")
endif()
set(missing "")
foreach(name IN LISTS layers)
  string(FIND "${listed}" "${name}<B>" at)
  if(at EQUAL -1)
    list(APPEND missing ${name})
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "tests/support/every_layer.hpp does not run these layers on every backend: ${missing}; "
                      "add an instance of each to test::for_each_layer (and include its header)")
endif()
message(STATUS "every_layer.hpp runs all ${count} layer templates: ${layers}")
