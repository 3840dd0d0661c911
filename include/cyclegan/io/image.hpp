#pragma once
// Image files and the image type, as <cyclegan/io/image.hpp> has always offered them: they live in
// include/cyclegan/image/ now (the type, channel conversion, CHW conversion, and the files with
// their decoders one file each), and this header includes what it used to hold.
#include "../image/channels.hpp"
#include "../image/chw.hpp"
#include "../image/file.hpp"
#include "../image/image.hpp"
