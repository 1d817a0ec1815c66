#include "sieve/convert_onnx/onnx_graph_builder.h"

#include <cstring>

#include "fmt/format.h"

namespace sieve::convert_onnx {
namespace {

void set_type(onnx::ValueInfoProto& value, const std::string& name, onnx::TensorProto::DataType type,
              const std::vector<OnnxDim>& dims) {
  value.set_name(name);
  onnx::TypeProto_Tensor* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(type);
  onnx::TensorShapeProto* shape = tensor->mutable_shape();
  for (const OnnxDim& dim : dims) {
    onnx::TensorShapeProto_Dimension* axis = shape->add_dim();
    if (const auto* size = std::get_if<std::int64_t>(&dim))
      axis->set_dim_value(*size);
    else
      axis->set_dim_param(std::get<std::string>(dim));
  }
}

template <typename T>
std::string bytes_of(std::span<const T> values) {
  std::string bytes(values.size_bytes(), '\0');
  std::memcpy(bytes.data(), values.data(), values.size_bytes());
  return bytes;
}

}  // namespace

std::string OnnxGraphBuilder::fresh_name(std::string_view stem) { return fmt::format("{}_{}", stem, next_id_++); }

std::vector<std::string> OnnxGraphBuilder::nodes(std::string_view op, std::vector<std::string> inputs, int outputs,
                                                 std::vector<OnnxAttribute> attributes) {
  onnx::NodeProto* node = graph_.add_node();
  node->set_op_type(std::string(op));
  node->set_name(fresh_name(op));
  for (std::string& input : inputs) node->add_input(std::move(input));
  std::vector<std::string> names;
  for (int i = 0; i < outputs; ++i) {
    names.push_back(fresh_name(fmt::format("{}_out", op)));
    node->add_output(names.back());
  }
  for (OnnxAttribute& attribute : attributes) {
    onnx::AttributeProto* proto = node->add_attribute();
    proto->set_name(std::move(attribute.name));
    if (const auto* i = std::get_if<std::int64_t>(&attribute.value)) {
      proto->set_type(onnx::AttributeProto::INT);
      proto->set_i(*i);
    } else if (const auto* f = std::get_if<float>(&attribute.value)) {
      proto->set_type(onnx::AttributeProto::FLOAT);
      proto->set_f(*f);
    } else {
      proto->set_type(onnx::AttributeProto::INTS);
      for (const std::int64_t v : std::get<std::vector<std::int64_t>>(attribute.value)) proto->add_ints(v);
    }
  }
  return names;
}

std::string OnnxGraphBuilder::node(std::string_view op, std::vector<std::string> inputs,
                                   std::vector<OnnxAttribute> attributes) {
  return nodes(op, std::move(inputs), 1, std::move(attributes)).front();
}

std::string OnnxGraphBuilder::initializer(std::string name, onnx::TensorProto::DataType type,
                                          std::vector<std::int64_t> dims, std::string bytes) {
  onnx::TensorProto* tensor = graph_.add_initializer();
  tensor->set_name(name);
  tensor->set_data_type(type);
  for (const std::int64_t dim : dims) tensor->add_dims(dim);
  tensor->set_raw_data(std::move(bytes));
  return name;
}

std::string OnnxGraphBuilder::int64s(std::span<const std::int64_t> values) {
  return initializer(fresh_name("const_i64"), onnx::TensorProto::INT64, {static_cast<std::int64_t>(values.size())},
                     bytes_of(values));
}

std::string OnnxGraphBuilder::int64_scalar(std::int64_t value) {
  return initializer(fresh_name("const_i64"), onnx::TensorProto::INT64, {},
                     bytes_of(std::span<const std::int64_t>(&value, 1)));
}

void OnnxGraphBuilder::alias(const std::string& value, const std::string& name) {
  onnx::NodeProto* node = graph_.add_node();
  node->set_op_type("Identity");
  node->set_name(fresh_name("Identity"));
  node->add_input(value);
  node->add_output(name);
}

std::string OnnxGraphBuilder::float_scalar(float value) {
  return initializer(fresh_name("const_f32"), onnx::TensorProto::FLOAT, {},
                     bytes_of(std::span<const float>(&value, 1)));
}

void OnnxGraphBuilder::input(const std::string& name, onnx::TensorProto::DataType type,
                             const std::vector<OnnxDim>& dims) {
  set_type(*graph_.add_input(), name, type, dims);
}

void OnnxGraphBuilder::output(const std::string& name, onnx::TensorProto::DataType type,
                              const std::vector<OnnxDim>& dims) {
  set_type(*graph_.add_output(), name, type, dims);
}

}  // namespace sieve::convert_onnx
