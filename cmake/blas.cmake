# Optional BLAS under Eigen's dense matrix products (EIGEN_USE_BLAS): every Map * Map product of the
# CPU backend's convolutions (backend/cpu/conv.hpp) then becomes one sgemm_ call, threaded by the
# BLAS library instead of by Eigen over OpenMP. OFF keeps Eigen's own GEMM, which needs nothing
# installed; see docs/performance.md for what each engine measured.
#
#   cmake -DCYCLEGAN_BLAS=OpenBLAS ...                      # finds the library
#   cmake -DCYCLEGAN_BLAS=OpenBLAS -DCYCLEGAN_BLAS_LIBRARY=/path/to/libopenblas.so.0 ...
#
# Debian installs OpenBLAS and BLIS in one directory per threading variant (openblas-openmp,
# openblas-pthread, blis-openmp, ...); the OpenMP variants are searched first, since our own loops
# run on OpenMP and a pthread BLAS keeps a second pool of threads spinning beside it. A library
# outside the default search path is found at run time through the RUNPATH CMake adds.
set(CYCLEGAN_BLAS OFF CACHE STRING "BLAS under Eigen's matrix products: OFF (Eigen's own GEMM), OpenBLAS or BLIS")
set_property(CACHE CYCLEGAN_BLAS PROPERTY STRINGS OFF OpenBLAS BLIS)

# Adds EIGEN_USE_BLAS and the BLAS library to <target>'s usage requirements (INTERFACE for an
# interface library, PUBLIC otherwise); does nothing when CYCLEGAN_BLAS is OFF.
function(cyclegan_use_blas target)
  if(CYCLEGAN_BLAS STREQUAL "OFF")
    return()
  elseif(CYCLEGAN_BLAS STREQUAL "OpenBLAS")
    set(names libopenblas.so.0 openblas)
    set(suffixes openblas-openmp openblas-pthread openblas)
  elseif(CYCLEGAN_BLAS STREQUAL "BLIS")
    set(names libblis.so.4 blis)
    set(suffixes blis-openmp blis-pthread blis)
  else()
    message(FATAL_ERROR "CYCLEGAN_BLAS must be OFF, OpenBLAS or BLIS, not '${CYCLEGAN_BLAS}'")
  endif()
  # A library found for another CYCLEGAN_BLAS value is forgotten (one set with -D is kept).
  if(DEFINED CACHE{_CYCLEGAN_BLAS_FOUND_FOR} AND NOT _CYCLEGAN_BLAS_FOUND_FOR STREQUAL CYCLEGAN_BLAS)
    unset(CYCLEGAN_BLAS_LIBRARY CACHE)
  endif()
  # NAMES_PER_DIR: the first directory in the order above wins, whichever name it holds.
  find_library(CYCLEGAN_BLAS_LIBRARY NAMES ${names} NAMES_PER_DIR PATH_SUFFIXES ${suffixes}
               DOC "The BLAS library behind EIGEN_USE_BLAS")
  if(NOT CYCLEGAN_BLAS_LIBRARY)
    message(FATAL_ERROR "CYCLEGAN_BLAS=${CYCLEGAN_BLAS}: library not found; install it "
                        "(Debian: libopenblas0-openmp or libblis4-openmp) or set CYCLEGAN_BLAS_LIBRARY")
  endif()
  set(_CYCLEGAN_BLAS_FOUND_FOR ${CYCLEGAN_BLAS} CACHE INTERNAL "")
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    set(scope INTERFACE)
  else()
    set(scope PUBLIC)
  endif()
  target_compile_definitions(${target} ${scope} EIGEN_USE_BLAS)
  target_link_libraries(${target} ${scope} ${CYCLEGAN_BLAS_LIBRARY})
  message(STATUS "cyclegan: Eigen's products on ${CYCLEGAN_BLAS} (${CYCLEGAN_BLAS_LIBRARY}) for ${target}")
endfunction()
