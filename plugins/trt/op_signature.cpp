#include "op_signature.h"

#include "op_helpers.h"

namespace tsp3d {
namespace trt {
namespace {

DataType fixed_type(Elem e) {
  switch (e) {
    case Elem::kF32: return DataType::kFLOAT;
    case Elem::kI8: return DataType::kINT8;
    default: return DataType::kINT32;
  }
}

// The first kT input (the one that sets T), or -1.
int32_t type_parameter_input(const Signature& sig) {
  for (int32_t i = 0; i < sig.max_inputs(); ++i) {
    if (sig.inputs[i].elem == Elem::kT) return i;
  }
  return -1;
}

}  // namespace

void output_types_of(const Signature& sig, const DataType* in, int32_t nb_in, DataType* out, int32_t nb_out) {
  const int32_t t = type_parameter_input(sig);
  for (int32_t i = 0; i < nb_in; ++i) {
    const Port& p = sig.inputs[i];
    if (p.elem != Elem::kT) {
      TSP3D_VALIDATE(in[i] == fixed_type(p.elem),
                     p.name << " must be " << type_name(fixed_type(p.elem)) << ", got " << type_name(in[i]));
    } else if (i == t) {
      TSP3D_VALIDATE(is_float(in[i]), p.name << " must be float32 or float16, got " << type_name(in[i]));
    } else {
      TSP3D_VALIDATE(in[i] == in[t], p.name << " must have the type of " << sig.inputs[t].name << " ("
                                            << type_name(in[t]) << "), got " << type_name(in[i]));
    }
  }
  for (int32_t o = 0; o < nb_out; ++o) out[o] = sig.outputs[o] == Elem::kT ? in[t] : fixed_type(sig.outputs[o]);
}

bool supports_type(const Signature& sig, int32_t pos, const DynamicPluginTensorDesc* io, int32_t nb_in) {
  const Elem e = pos < nb_in ? sig.inputs[pos].elem : sig.outputs[pos - nb_in];
  const DataType type = io[pos].desc.type;
  if (e != Elem::kT) return type == fixed_type(e);
  const int32_t t = type_parameter_input(sig);
  return pos == t ? is_float(type) : type == io[t].desc.type;
}

}  // namespace trt
}  // namespace tsp3d
