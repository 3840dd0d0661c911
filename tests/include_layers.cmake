# cmake -DSOURCE_DIR=<repository> -P include_layers.cmake
# The folders of include/cyclegan/ include one another in one direction only (docs/architecture.md):
# image/ (the image type, its operations, the decoders) includes core/ and itself, nothing else;
# data/ and io/ build on image/ and never include each other (io/image_tensor.hpp included
# data/preprocess.hpp once, and data/ included io/image.hpp: a folder cycle). Every include in
# quotes ("../x/y.hpp") or of the library (<cyclegan/x/y.hpp>) is resolved to its folder.
set(root ${SOURCE_DIR}/include/cyclegan)

# The folders each folder must not include; image/ is checked the other way round, by what it may.
set(image_may core image)
set(data_must_not io)
set(io_must_not data)

set(problems "")
set(checked 0)
foreach(folder image data io)
  file(GLOB_RECURSE headers ${root}/${folder}/*.hpp)
  foreach(h IN LISTS headers)
    math(EXPR checked "${checked} + 1")
    file(STRINGS ${h} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
    get_filename_component(dir ${h} DIRECTORY)
    file(RELATIVE_PATH name ${root} ${h})
    foreach(line IN LISTS lines)
      if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
        get_filename_component(target ${dir}/${CMAKE_MATCH_1} ABSOLUTE)
      elseif(line MATCHES "#[ \t]*include[ \t]*<cyclegan/([^>]+)>")
        set(target ${root}/${CMAKE_MATCH_1})
      else()
        continue()  # the standard library, Eigen, stb, libtiff
      endif()
      file(RELATIVE_PATH into ${root} ${target})
      string(REGEX REPLACE "/.*" "" into_folder "${into}")
      if(into_folder STREQUAL into)
        set(into_folder "(the top level)")  # cyclegan.hpp, io.hpp, translator.hpp
      endif()
      if(folder STREQUAL "image")
        list(FIND image_may "${into_folder}" allowed)
        if(allowed EQUAL -1)
          list(APPEND problems "${name} includes ${into}: image/ includes only core/ and image/")
        endif()
      else()
        list(FIND ${folder}_must_not "${into_folder}" forbidden)
        if(NOT forbidden EQUAL -1)
          list(APPEND problems "${name} includes ${into}: ${folder}/ must not include ${${folder}_must_not}/")
        endif()
      endif()
    endforeach()
  endforeach()
endforeach()

if(checked LESS 15)
  message(FATAL_ERROR "found only ${checked} headers in include/cyclegan/{image,data,io}: has the layout moved? "
                      "update tests/include_layers.cmake")
endif()
if(problems)
  string(REPLACE ";" "\n  " text "${problems}")
  message(FATAL_ERROR "include/cyclegan/ folders include each other the wrong way (docs/architecture.md):\n  ${text}")
endif()
message(STATUS "include_layers: ${checked} headers of image/, data/ and io/ include only what their layer allows")
