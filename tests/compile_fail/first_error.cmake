# cmake -DBUILD_DIR=... -DTARGET=... -DEXPECT=... -P first_error.cmake
# Builds TARGET, which must fail, and passes when the first error the compiler prints (the first
# line with "error:", GCC's and Clang's spelling) contains EXPECT: the sentence a user reads first.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it composes something wrong and must not")
endif()
string(REGEX MATCH "[^\n]*error: [^\n]*" first "${out}")
string(FIND "${first}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the first error of ${TARGET} is\n  ${first}\nwhich does not say\n  ${EXPECT}\n(whole output follows)\n${out}")
endif()
message(STATUS "first error of ${TARGET}: ${first}")
