// A CPU stand-in for TensorRT's IExprBuilder/IDimensionExpr (their methods forward to apiv implementation objects,
// which a test can supply). Expressions render as text ("27*N", "min(Nb,5000)", "size#2") so tests can assert the
// output shapes and the size-tensor bounds a plugin declares.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "NvInferRuntime.h"

namespace tsp3d_test {

class FakeExpr final : public nvinfer1::IDimensionExpr {
 public:
  FakeExpr(std::string text, bool constant, int64_t value, bool size_tensor)
      : text_(std::move(text)), impl_(constant, value, size_tensor) {
    mImpl = &impl_;
  }
  ~FakeExpr() noexcept override = default;
  const std::string& text() const { return text_; }

 private:
  struct Impl final : nvinfer1::apiv::VDimensionExpr {
    Impl(bool c, int64_t v, bool s) : constant(c), value(v), size_tensor(s) {}
    bool isConstant() const override { return constant; }
    int64_t getConstantValue() const override { return constant ? value : std::numeric_limits<int64_t>::min(); }
    bool isSizeTensor() const override { return size_tensor; }
    bool constant;
    int64_t value;
    bool size_tensor;
  };
  std::string text_;
  Impl impl_;
};

struct DeclaredSize {
  int32_t output_index;
  std::string opt;
  std::string upper;
};

class FakeExprBuilder final : public nvinfer1::IExprBuilder {
 public:
  FakeExprBuilder() : impl_(this) { mImpl = &impl_; }
  ~FakeExprBuilder() noexcept override = default;

  const FakeExpr* symbol(const std::string& name, bool size_tensor = false) {
    return make(name, false, 0, size_tensor);
  }
  const FakeExpr* value(int64_t v) { return make(std::to_string(v), true, v, false); }
  static const std::string& text(const nvinfer1::IDimensionExpr* e) { return static_cast<const FakeExpr*>(e)->text(); }
  const std::vector<DeclaredSize>& declared() const { return declared_; }

 private:
  const FakeExpr* make(const std::string& t, bool c, int64_t v, bool s) {
    exprs_.push_back(std::make_unique<FakeExpr>(t, c, v, s));
    return exprs_.back().get();
  }

  struct Impl final : nvinfer1::apiv::VExprBuilder {
    explicit Impl(FakeExprBuilder* o) : owner(o) {}
    const nvinfer1::IDimensionExpr* constant(int64_t v) override { return owner->value(v); }
    const nvinfer1::IDimensionExpr* operation(nvinfer1::DimensionOperation op, const nvinfer1::IDimensionExpr& a,
                                              const nvinfer1::IDimensionExpr& b) override {
      using Op = nvinfer1::DimensionOperation;
      const std::string& x = text(&a);
      const std::string& y = text(&b);
      if (a.isConstant() && b.isConstant()) {
        const int64_t u = a.getConstantValue(), w = b.getConstantValue();
        switch (op) {
          case Op::kSUM: return owner->value(u + w);
          case Op::kPROD: return owner->value(u * w);
          case Op::kMIN: return owner->value(u < w ? u : w);
          case Op::kMAX: return owner->value(u > w ? u : w);
          default: break;
        }
      }
      switch (op) {
        case Op::kSUM: return owner->make(x + "+" + y, false, 0, false);
        case Op::kPROD: return owner->make(x + "*" + y, false, 0, false);
        case Op::kMIN: return owner->make("min(" + x + "," + y + ")", false, 0, false);
        case Op::kMAX: return owner->make("max(" + x + "," + y + ")", false, 0, false);
        case Op::kSUB: return owner->make(x + "-" + y, false, 0, false);
        default: return owner->make("op(" + x + "," + y + ")", false, 0, false);
      }
    }
    const nvinfer1::IDimensionExpr* declareSizeTensor(int32_t index, const nvinfer1::IDimensionExpr& opt,
                                                      const nvinfer1::IDimensionExpr& upper) override {
      owner->declared_.push_back({index, text(&opt), text(&upper)});
      return owner->make("size#" + std::to_string(index), false, 0, true);
    }
    FakeExprBuilder* owner;
  };

  std::deque<std::unique_ptr<FakeExpr>> exprs_;
  std::vector<DeclaredSize> declared_;
  Impl impl_;
};

}  // namespace tsp3d_test
