// Output shapes and size-tensor bounds (through the fake IExprBuilder), and format/type support, of every plugin.
#include "fake_expr_builder.h"
#include "test_support.h"

using namespace tsp3d_test;
using nvinfer1::DataType;
using nvinfer1::DimsExprs;

namespace {

// Input shapes (symbolic) for getOutputShapes.
struct Shapes {
  FakeExprBuilder b;
  std::vector<DimsExprs> in;
  std::vector<DimsExprs> out;
  void add(std::initializer_list<const nvinfer1::IDimensionExpr*> dims) {
    DimsExprs d{};
    d.nbDims = static_cast<int32_t>(dims.size());
    int32_t i = 0;
    for (auto* e : dims) d.d[i++] = e;
    in.push_back(d);
  }
  int32_t run(nvinfer1::IPluginV3* p) {
    out.assign(build(p)->getNbOutputs(), DimsExprs{});
    return build(p)->getOutputShapes(in.data(), static_cast<int32_t>(in.size()), nullptr, 0, out.data(),
                                     static_cast<int32_t>(out.size()), b);
  }
  std::string dims(int32_t i) const {
    std::string s = "[";
    for (int32_t k = 0; k < out[i].nbDims; ++k) s += (k ? "," : "") + FakeExprBuilder::text(out[i].d[k]);
    return s + "]";
  }
};

void test_voxelize_shapes() {
  Shapes s;
  s.add({s.b.symbol("N"), s.b.value(6)});
  Plugin p = make("Voxelize");  // capacity 5000
  CHECK_EQ(s.run(p.get()), 0);
  CHECK_EQ(s.dims(0), std::string("[size#2,4]"));
  CHECK_EQ(s.dims(1), std::string("[size#2]"));
  CHECK_EQ(s.out[2].nbDims, 0);
  CHECK_EQ(s.b.declared().size(), size_t{1});
  CHECK_EQ(s.b.declared()[0].output_index, 2);
  CHECK_EQ(s.b.declared()[0].upper, std::string("min(5000,N)"));  // min(capacity, natural)
  CHECK_EQ(s.b.declared()[0].opt, std::string("5000"));

  Fields natural;
  natural.f32("voxel_size", 0.05f);
  Plugin q = create("Voxelize", natural);
  Shapes t;
  t.add({t.b.symbol("N"), t.b.value(3)});
  CHECK_EQ(t.run(q.get()), 0);
  CHECK_EQ(t.b.declared()[0].upper, std::string("N"));
  CHECK_EQ(t.b.declared()[0].opt, std::string("N"));

  Shapes bad;  // D < 3
  bad.add({bad.b.symbol("N"), bad.b.value(2)});
  logs().clear();
  CHECK_EQ(bad.run(q.get()), -1);
  CHECK(logs().error_has({"Voxelize node 'node_0'", "D >= 3"}));
}

void test_coord_set_shapes() {
  Plugin up = make("CoordsUp");
  Shapes s;
  s.add({s.b.symbol("N"), s.b.value(4)});
  CHECK_EQ(s.run(up.get()), 0);
  CHECK_EQ(s.dims(0), std::string("[size#1,4]"));
  CHECK_EQ(s.b.declared()[0].output_index, 1);
  CHECK_EQ(s.b.declared()[0].upper, std::string("27*N"));

  Plugin down = make("CoordsDown");
  Shapes d;
  d.add({d.b.symbol("N"), d.b.value(4)});
  CHECK_EQ(d.run(down.get()), 0);
  CHECK_EQ(d.b.declared()[0].upper, std::string("N"));

  // Chained data-dependent input without a capacity: tuned at 1 row, with a warning.
  Shapes chained;
  chained.add({chained.b.symbol("M", true), chained.b.value(4)});
  logs().clear();
  CHECK_EQ(chained.run(down.get()), 0);
  CHECK_EQ(chained.b.declared()[0].opt, std::string("1"));
  CHECK_EQ(chained.b.declared()[0].upper, std::string("M"));
  CHECK(!logs().warnings.empty());

  Shapes wrong;  // coords must be [N, 4]
  wrong.add({wrong.b.symbol("N"), wrong.b.value(3)});
  logs().clear();
  CHECK_EQ(wrong.run(down.get()), -1);
  CHECK(logs().error_has({"CoordsDown", "must be 4"}));
}

void test_append_missing_shapes() {
  Plugin natural = make("AppendMissing");
  Shapes s;
  s.add({s.b.symbol("Na"), s.b.value(4)});
  s.add({s.b.symbol("Nb"), s.b.value(4)});
  CHECK_EQ(s.run(natural.get()), 0);
  CHECK_EQ(s.dims(0), std::string("[size#2,4]"));
  CHECK_EQ(s.dims(1), std::string("[size#3]"));
  CHECK_EQ(s.b.declared().size(), size_t{2});
  CHECK_EQ(s.b.declared()[0].upper, std::string("Na+Nb"));
  CHECK_EQ(s.b.declared()[1].upper, std::string("Nb"));

  Fields f;
  f.i32("capacity", 100);
  Plugin capped = create("AppendMissing", f);
  Shapes t;
  t.add({t.b.symbol("Na"), t.b.value(4)});
  t.add({t.b.symbol("Nb"), t.b.value(4)});
  CHECK_EQ(t.run(capped.get()), 0);
  CHECK_EQ(t.b.declared()[0].upper, std::string("min(100,Na+Nb)"));
  CHECK_EQ(t.b.declared()[0].opt, std::string("100"));
  CHECK_EQ(t.b.declared()[1].upper, std::string("min(100,Nb)"));

  Fields hinted;  // the bundle's typical count tunes both size tensors
  hinted.i32("capacity", 100).i32("opt_rows", 40);
  Plugin typical = create("AppendMissing", hinted);
  Shapes h;
  h.add({h.b.symbol("Na", true), h.b.value(4)});
  h.add({h.b.symbol("Nb", true), h.b.value(4)});
  CHECK_EQ(h.run(typical.get()), 0);
  CHECK_EQ(h.b.declared()[0].opt, std::string("40"));
  CHECK_EQ(h.b.declared()[1].opt, std::string("40"));
}

// Upper bound min(capacity, natural) and the auto-tuning value from the opt_rows hint, capped by the capacity.
void test_tight_bounds_and_opt_hint() {
  Fields f;
  f.i32("stride", 4).i32("capacity", 8192).i32("opt_rows", 3000);
  Plugin up = create("CoordsUp", f);
  Shapes s;
  s.add({s.b.symbol("M", true), s.b.value(4)});
  CHECK_EQ(s.run(up.get()), 0);
  CHECK_EQ(s.b.declared()[0].upper, std::string("min(8192,27*M)"));
  CHECK_EQ(s.b.declared()[0].opt, std::string("3000"));

  Shapes constant;  // natural bound known at build time: folded
  constant.add({constant.b.value(100), constant.b.value(4)});
  CHECK_EQ(constant.run(up.get()), 0);
  CHECK_EQ(constant.b.declared()[0].upper, std::string("2700"));

  Fields over;  // a hint above the capacity is capped
  over.f32("threshold", 0.5f).i32("capacity", 500).i32("opt_rows", 900);
  Plugin prune = create("Prune", over);
  Shapes p;
  p.add({p.b.symbol("N", true)});
  CHECK_EQ(p.run(prune.get()), 0);
  CHECK_EQ(p.b.declared()[0].upper, std::string("min(500,N)"));
  CHECK_EQ(p.b.declared()[0].opt, std::string("500"));

  Fields capped;  // capacity, no hint: tuned for the capacity (opt must not depend on a size tensor)
  capped.f32("threshold", 0.5f).i32("capacity", 500);
  Plugin plain = create("Prune", capped);
  Shapes q;
  q.add({q.b.symbol("N", true)});
  CHECK_EQ(q.run(plain.get()), 0);
  CHECK_EQ(q.b.declared()[0].opt, std::string("500"));

  Fields negative;
  negative.f32("threshold", 0.5f).i32("opt_rows", -1);
  Plugin bad = create("Prune", negative);
  Shapes r;
  r.add({r.b.symbol("N")});
  logs().clear();
  CHECK_EQ(r.run(bad.get()), -1);
  CHECK(logs().error_has({"Prune node 'node_0'", "opt_rows"}));
}

void test_table_and_prune_shapes() {
  for (int32_t k : {1, 2, 3}) {
    Fields f;
    f.i32("kernel_size", k).i32("offset_stride", 1);
    Plugin p = create("KernelMap", f);
    Shapes s;
    s.add({s.b.symbol("N"), s.b.value(4)});
    s.add({s.b.symbol("M"), s.b.value(4)});
    CHECK_EQ(s.run(p.get()), 0);
    CHECK_EQ(s.dims(0), "[M," + std::to_string(k * k * k) + "]");
  }
  Plugin lookup = make("Lookup");
  Shapes l;
  l.add({l.b.symbol("Q"), l.b.value(4)});
  l.add({l.b.symbol("N"), l.b.value(4)});
  CHECK_EQ(l.run(lookup.get()), 0);
  CHECK_EQ(l.dims(0), std::string("[Q]"));

  Plugin prune = make("Prune");
  Shapes s;
  s.add({s.b.symbol("N")});
  CHECK_EQ(s.run(prune.get()), 0);
  CHECK_EQ(s.dims(0), std::string("[size#1]"));
  CHECK_EQ(s.b.declared()[0].upper, std::string("N"));
  Shapes bad;
  bad.add({bad.b.symbol("N"), bad.b.value(1)});
  logs().clear();
  CHECK_EQ(bad.run(prune.get()), -1);
  CHECK(logs().error_has({"Prune", "rank 1"}));
}

void test_conv_shapes() {
  Plugin conv = make("SparseConv");
  Shapes s;
  s.add({s.b.symbol("N"), s.b.value(32)});
  s.add({s.b.symbol("M"), s.b.value(27)});
  s.add({s.b.value(27), s.b.value(32), s.b.value(64)});
  s.add({s.b.value(64)});
  CHECK_EQ(s.run(conv.get()), 0);
  CHECK_EQ(s.dims(0), std::string("[M,64]"));

  Shapes mismatch;  // weight built for 16 input channels
  mismatch.add({mismatch.b.symbol("N"), mismatch.b.value(32)});
  mismatch.add({mismatch.b.symbol("M"), mismatch.b.value(27)});
  mismatch.add({mismatch.b.value(27), mismatch.b.value(16), mismatch.b.value(64)});
  logs().clear();
  CHECK_EQ(mismatch.run(conv.get()), -1);
  CHECK(logs().error_has({"SparseConv node 'node_0'", "feats [N, Cin]"}));

  Plugin int8 = make("SparseConvInt8");
  Shapes q;
  q.add({q.b.symbol("N"), q.b.value(32)});
  q.add({});  // scalar feats_scale
  q.add({q.b.symbol("M"), q.b.value(8)});
  q.add({q.b.value(8), q.b.value(32), q.b.value(16)});
  q.add({q.b.value(16)});
  CHECK_EQ(q.run(int8.get()), 0);
  CHECK_EQ(q.dims(0), std::string("[M,16]"));
  Shapes vec_scale;  // a per-channel feats_scale is not supported
  vec_scale.add({vec_scale.b.symbol("N"), vec_scale.b.value(32)});
  vec_scale.add({vec_scale.b.value(32)});
  vec_scale.add({vec_scale.b.symbol("M"), vec_scale.b.value(8)});
  vec_scale.add({vec_scale.b.value(8), vec_scale.b.value(32), vec_scale.b.value(16)});
  vec_scale.add({vec_scale.b.value(16)});
  logs().clear();
  CHECK_EQ(vec_scale.run(int8.get()), -1);
  CHECK(logs().error_has({"SparseConvInt8", "feats_scale must be a scalar"}));

  Plugin pool = make("SparseMaxPool");
  Shapes m;
  m.add({m.b.symbol("N"), m.b.value(64)});
  m.add({m.b.symbol("M"), m.b.value(8)});
  CHECK_EQ(m.run(pool.get()), 0);
  CHECK_EQ(m.dims(0), std::string("[M,64]"));
}

// SparseConvInt8 refuses K * Cin > 131071 (tsp3d/int8_math.h) at build time when the weight's extents are
// constants; a symbolic Cin is left to enqueue (sync_test.cpp).
void test_int8_reduction_bound() {
  Plugin int8 = make("SparseConvInt8");
  auto shapes_for = [&](Shapes& s, int64_t k, const nvinfer1::IDimensionExpr* cin) {
    s.add({s.b.symbol("N"), cin});
    s.add({});
    s.add({s.b.symbol("M"), s.b.value(k)});
    s.add({s.b.value(k), cin, s.b.value(4)});
    s.add({s.b.value(4)});
    return s.run(int8.get());
  };
  Shapes at_bound;  // 1 * 131071: |acc| <= 131071 * 128 * 128 < 2^31
  CHECK_EQ(shapes_for(at_bound, 1, at_bound.b.value(131071)), 0);
  Shapes over;  // 8 * 16384 = 131072
  logs().clear();
  CHECK_EQ(shapes_for(over, 8, over.b.value(16384)), -1);
  CHECK(logs().error_has({"SparseConvInt8 node 'node_0'", "getOutputShapes", "invalid argument",
                          "K * Cin = 131072 is over 131071: the int32 accumulation could overflow"}));
  Shapes symbolic;
  CHECK_EQ(shapes_for(symbolic, 8, symbolic.b.symbol("C")), 0);
}

// supportsFormatCombination over explicit type lists (inputs then outputs).
bool supported(nvinfer1::IPluginV3* p, std::vector<DataType> types, int32_t nb_in, int32_t pos,
               nvinfer1::TensorFormat format = nvinfer1::TensorFormat::kLINEAR) {
  std::vector<nvinfer1::DynamicPluginTensorDesc> io;
  for (size_t i = 0; i < types.size(); ++i) {
    io.push_back(desc(types[i], {8, 4}, static_cast<int32_t>(i) == pos ? format : nvinfer1::TensorFormat::kLINEAR));
  }
  return build(p)->supportsFormatCombination(pos, io.data(), nb_in, static_cast<int32_t>(types.size()) - nb_in);
}

void test_formats_and_types() {
  const DataType F = DataType::kFLOAT, H = DataType::kHALF, I = DataType::kINT32, B = DataType::kINT8;
  Plugin conv = make("SparseConv");
  CHECK(supported(conv.get(), {F, I, F, F, F}, 4, 0));
  CHECK(supported(conv.get(), {H, I, H, H, H}, 4, 4));
  CHECK(!supported(conv.get(), {B, I, B, B, B}, 4, 0));
  CHECK(!supported(conv.get(), {F, I, H, F, F}, 4, 2));  // weight must follow feats
  CHECK(!supported(conv.get(), {F, F, F, F}, 3, 1));     // nbr is int32
  CHECK(supported(conv.get(), {H, I, H, H}, 3, 3));      // no bias
  CHECK(!supported(conv.get(), {F, I, F, F, F}, 4, 0, nvinfer1::TensorFormat::kHWC8));
  DataType out[2];
  const DataType half_in[] = {H, I, H, H};
  CHECK_EQ(build(conv.get())->getOutputDataTypes(out, 1, half_in, 4), 0);
  CHECK(out[0] == H);
  const DataType mixed[] = {H, I, F};
  logs().clear();
  CHECK_EQ(build(conv.get())->getOutputDataTypes(out, 1, mixed, 3), -1);
  CHECK(logs().error_has({"weight must have the type of feats"}));

  Plugin int8 = make("SparseConvInt8");
  CHECK(supported(int8.get(), {B, F, I, B, F, F, F}, 6, 6));
  CHECK(supported(int8.get(), {B, F, I, B, F, F}, 5, 3));
  CHECK(!supported(int8.get(), {F, F, I, B, F, F}, 5, 0));
  const DataType int8_in[] = {B, F, I, B, F};
  CHECK_EQ(build(int8.get())->getOutputDataTypes(out, 1, int8_in, 5), 0);
  CHECK(out[0] == F);

  Plugin vox = make("Voxelize");
  CHECK(supported(vox.get(), {F, I, I, I}, 1, 0));
  CHECK(!supported(vox.get(), {H, I, I, I}, 1, 0));
  CHECK(supported(vox.get(), {F, I, I, I}, 1, 3));
  CHECK(!supported(vox.get(), {F, I, I, F}, 1, 3));
  DataType vox_out[3];
  const DataType vox_in[] = {F};
  CHECK_EQ(build(vox.get())->getOutputDataTypes(vox_out, 3, vox_in, 1), 0);
  CHECK(vox_out[0] == I && vox_out[1] == I && vox_out[2] == I);

  Plugin prune = make("Prune");
  CHECK(supported(prune.get(), {H, I, I}, 1, 0));
  CHECK(!supported(prune.get(), {I, I, I}, 1, 0));
  Plugin pool = make("SparseMaxPool");
  CHECK(supported(pool.get(), {H, I, H}, 2, 2));
  CHECK(!supported(pool.get(), {H, I, F}, 2, 2));
  Plugin append = make("AppendMissing");
  CHECK(supported(append.get(), {I, I, I, I, I, I}, 2, 5));
  CHECK(!supported(append.get(), {I, F, I, I, I, I}, 2, 1));
}

}  // namespace

void tsp3d_test::add_shape_and_format_tests(std::vector<std::pair<const char*, void (*)()>>& tests) {
  tests.insert(tests.end(), {{"voxelize_shapes", test_voxelize_shapes},
                             {"coord_set_shapes", test_coord_set_shapes},
                             {"append_missing_shapes", test_append_missing_shapes},
                             {"tight_bounds_and_opt_hint", test_tight_bounds_and_opt_hint},
                             {"table_and_prune_shapes", test_table_and_prune_shapes},
                             {"conv_shapes", test_conv_shapes},
                             {"int8_reduction_bound", test_int8_reduction_bound},
                             {"formats_and_types", test_formats_and_types}});
}
