// The one include of the ONNX Runtime C++ API in this library. ORT_API_MANUAL_INIT: the header's static
// initialisation would need OrtGetApiBase from libonnxruntime at load time; we receive the API in
// RegisterCustomOps instead (Ort::InitApi there), so the library links against no ORT binary.
#pragma once

#define ORT_API_MANUAL_INIT
#include "onnxruntime_cxx_api.h"
#undef ORT_API_MANUAL_INIT
