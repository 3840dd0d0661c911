# ctest -R compiled_kernels: what cyclegan_kernels compiles once (include/cyclegan/backend/cpu/compiled.hpp,
# core/compiled.hpp). A program's object file (examples/train.cpp, which builds every model the
# programs offer, by name) must define none of the CPU backend's entry points for float or double,
# only refer to them, and the library must define each one the program refers to; nor may it
# compile a network built by name (an AnyLayer<cpu> wrapper's vtable), stb's decoders
# (decode_image, write_image), the model's constructor, training step and checkpoints, or the file
# code listed below. An entry point added to backend/cpu/ but not to compiled.hpp's list shows up
# here by name, through a second object file that runs every layer (LAYERS_OBJECT), where its header
# still holds its definition; one added to a header that only declares (conv, norm, optim) fails to
# link first, naming it.
#   cmake -DNM=nm "-DOBJECT=train.cpp.o[;train_cuda.cu.o]" -DLAYERS_OBJECT=test_compose.cpp.o -DLIBRARY=libcyclegan_kernels.a -P check_symbols.cmake
foreach(var NM OBJECT LIBRARY)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_symbols.cmake needs -D${var}=...")
  endif()
endforeach()

# An entry point: a function template of namespace cyclegan (not of cpu_detail) whose first template
# argument is the element type and whose first parameter is the CPU device.
set(entry "(void|double) cyclegan::([a-z0-9_]+)<(float|double)(, [^>]*)?>\\(cyclegan::basic_cpu<(float|double)>&")

function(entry_points file kinds out)
  execute_process(COMMAND ${NM} -C ${file} OUTPUT_VARIABLE text RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} ${file} failed: ${err}")
  endif()
  # nm's lines as a CMake list: its brackets (operator[], [abi:cxx11], a CUDA object's stubs) and
  # semicolons would otherwise join or split the list's items.
  string(REPLACE "[" "(" text "${text}")
  string(REPLACE "]" ")" text "${text}")
  string(REPLACE ";" "," text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(found)
  foreach(line IN LISTS lines)
    if(line MATCHES " [${kinds}] ${entry}")
      list(APPEND found "${CMAKE_MATCH_2}<${CMAKE_MATCH_3}${CMAKE_MATCH_4}>")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES found)
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# Also compiled in the library: the networks built by name, the image codecs, and the model the
# program trains (CycleGAN of networks by name and the run-time GAN loss): its constructor, its
# single-process step and its checkpoints' saving and loading; and the file code a program runs per
# epoch (the report's chart, safetensors' header, the dataset's listing: CYCLEGAN_COMPILED_FUNCTION).
execute_process(COMMAND ${NM} -C --defined-only ${OBJECT} OUTPUT_VARIABLE text)
set(any_model_type "cyclegan::CycleGAN<cyclegan::AnyGenerator<cyclegan::basic_cpu<float> >, cyclegan::AnyDiscriminator<cyclegan::basic_cpu<float> >, cyclegan::GANLoss, cyclegan::Adam, cyclegan::L1Loss>")
set(any_model "${any_model_type}::")
set(compiled_by_library "vtable for cyclegan::AnyLayer<cyclegan::basic_cpu<float> >::Model<|cyclegan::decode_image\\(|cyclegan::write_image\\(|cyclegan::AnyGenerator<cyclegan::basic_cpu<float> >::build|${any_model}CycleGAN\\(cyclegan::basic_cpu|${any_model}train_step<cyclegan::SingleProcess>\\(|_checkpoint<${any_model_type}, cyclegan::SingleProcess>\\(|cyclegan::report::line_chart(\\[abi:cxx11\\])?\\(|cyclegan::safetensors::serialize_header(\\[abi:cxx11\\])?\\(|cyclegan::list_images\\(")
# The names alone first: a pattern that starts with [^\n]* retries at every character of a line,
# which on a CUDA object's symbols (lines of thousands of characters) took minutes. Whole lines,
# for the message, only when there is one.
string(REGEX MATCH "(${compiled_by_library})" any_compiled_again "${text}")
if(any_compiled_again)
  string(REGEX MATCHALL "[^\n]*(${compiled_by_library})[^\n]*" compiled_again "${text}")
  string(REPLACE ";" "\n  " names "${compiled_again}")
  message(FATAL_ERROR "compiled again in the program, though cyclegan_kernels has them:\n  ${names}")
endif()

entry_points("${OBJECT}" "TW" defined_in_program)
# And a file that runs every layer the library has (tests/support/every_layer.hpp, through
# test_compose.cpp) on cpu and cpu64: a layer's kernel left out of the list is named here.
if(DEFINED LAYERS_OBJECT)
  entry_points("${LAYERS_OBJECT}" "TW" defined_in_layers)
  entry_points("${LAYERS_OBJECT}" "U" used_by_layers)
  list(APPEND defined_in_program ${defined_in_layers})
endif()
entry_points("${OBJECT}" "U" used_by_program)
entry_points("${LIBRARY}" "TW" defined_in_library)

if(defined_in_program)
  string(REPLACE ";" "\n  " names "${defined_in_program}")
  message(FATAL_ERROR "compiled again in the program (add them to include/cyclegan/backend/cpu/compiled.hpp):\n  ${names}")
endif()
# That the programs take them from the library at all (CYCLEGAN_COMPILED_KERNELS is set for them):
# the training program refers to its model's step, which the library compiles, and the file that
# runs every layer to the layers' entry points.
list(LENGTH used_by_program n_used)
list(LENGTH used_by_layers n_used_by_layers)
execute_process(COMMAND ${NM} -C --undefined-only ${OBJECT} OUTPUT_VARIABLE undefined)
string(FIND "${undefined}" "${any_model}train_step<cyclegan::SingleProcess>(" step_at)
if(step_at EQUAL -1 OR (DEFINED LAYERS_OBJECT AND n_used_by_layers EQUAL 0))
  message(FATAL_ERROR "the program does not refer to its model's training step in the library, or the layers' "
                      "file refers to ${n_used_by_layers} compiled entry points: is CYCLEGAN_COMPILED_KERNELS set for them?")
endif()
set(missing ${used_by_program} ${used_by_layers})
list(REMOVE_ITEM missing ${defined_in_library})
if(missing)
  string(REPLACE ";" "\n  " names "${missing}")
  message(FATAL_ERROR "the program refers to entry points the library does not define:\n  ${names}")
endif()
list(LENGTH defined_in_library n_lib)
message(STATUS "the program refers to ${n_used} compiled entry points and the layers' file to ${n_used_by_layers}, defining "
               "none; the library defines ${n_lib}")
