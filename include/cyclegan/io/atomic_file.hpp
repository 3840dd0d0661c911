#pragma once
// Atomic file writes live in core/atomic_file.hpp (image/ writes images with them, and image/
// includes core/ only); this header keeps <cyclegan/io/atomic_file.hpp> working.
#include "../core/atomic_file.hpp"
