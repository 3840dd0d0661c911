#pragma once
// Files: images (stb_image, from Debian's libstb-dev), image-folder datasets and their background
// loader, checkpoints, and the HTML reports. Kept out of <cyclegan/cyclegan.hpp> so that the
// library alone needs nothing but Eigen.
#include "cyclegan.hpp"

#include "core/atomic_file.hpp"
#include "data/folder_dataset.hpp"
#include "data/loader.hpp"
#include "data/preprocess.hpp"
#include "image/channels.hpp"
#include "image/chw.hpp"
#include "image/file.hpp"
#include "image/geometry.hpp"
#include "image/image.hpp"
#include "io/checkpoint.hpp"
#include "io/image_tensor.hpp"
#include "io/safetensors.hpp"
#include "report/html_report.hpp"
#include "report/svg_plot.hpp"
#include "report/training_log.hpp"
#include "translator.hpp"
