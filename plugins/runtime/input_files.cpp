#include "input_files.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "trt_loader.h"

namespace tsp3d {
namespace runtime {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw RuntimeError("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Matrix raw_rows(const std::string& path, const std::string& bytes, int64_t cols) {
  if (cols < 1) throw RuntimeError(path + ": the number of float32 columns must be >= 1, got " + std::to_string(cols));
  const int64_t row_bytes = 4 * cols;
  if (bytes.empty() || static_cast<int64_t>(bytes.size()) % row_bytes != 0) {
    throw RuntimeError(path + ": " + std::to_string(bytes.size()) + " bytes is not a positive multiple of " +
                       std::to_string(row_bytes) + " (float32 rows of " + std::to_string(cols) + " values)");
  }
  Matrix m;
  m.rows = static_cast<int64_t>(bytes.size()) / row_bytes;
  m.cols = cols;
  m.data.resize(static_cast<size_t>(m.rows * cols));
  std::memcpy(m.data.data(), bytes.data(), bytes.size());
  return m;
}

// ---- PLY --------------------------------------------------------------------------------------------------

struct PlyProperty {
  std::string name, type;
};

int type_size(const std::string& t) {
  if (t == "char" || t == "uchar" || t == "int8" || t == "uint8") return 1;
  if (t == "short" || t == "ushort" || t == "int16" || t == "uint16") return 2;
  if (t == "int" || t == "uint" || t == "float" || t == "int32" || t == "uint32" || t == "float32") return 4;
  if (t == "double" || t == "float64") return 8;
  return 0;
}

double read_binary(const char* p, const std::string& t) {
  if (t == "char" || t == "int8") return *reinterpret_cast<const int8_t*>(p);
  if (t == "uchar" || t == "uint8") return *reinterpret_cast<const uint8_t*>(p);
  int16_t s;
  uint16_t us;
  int32_t i;
  uint32_t ui;
  float f;
  double d;
  if (t == "short" || t == "int16") return std::memcpy(&s, p, 2), s;
  if (t == "ushort" || t == "uint16") return std::memcpy(&us, p, 2), us;
  if (t == "int" || t == "int32") return std::memcpy(&i, p, 4), i;
  if (t == "uint" || t == "uint32") return std::memcpy(&ui, p, 4), ui;
  if (t == "float" || t == "float32") return std::memcpy(&f, p, 4), f;
  return std::memcpy(&d, p, 8), d;
}

bool integer_type(const std::string& t) { return t != "float" && t != "float32" && t != "double" && t != "float64"; }

Matrix read_ply(const std::string& path, const std::string& bytes) {
  size_t pos = 0;
  auto next_line = [&]() {
    const size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) throw RuntimeError(path + ": truncated PLY header");
    std::string line = bytes.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  };
  if (next_line() != "ply") throw RuntimeError(path + ": not a PLY file (no 'ply' magic)");
  std::string format;
  int64_t vertices = -1;
  bool in_vertex = false, vertex_seen = false;
  std::vector<PlyProperty> props;
  for (std::string line = next_line(); line != "end_header"; line = next_line()) {
    std::istringstream ls(line);
    std::string word;
    ls >> word;
    if (word == "format") {
      ls >> format;
    } else if (word == "element") {
      std::string name;
      int64_t count = 0;
      ls >> name >> count;
      if (name == "vertex" && !vertex_seen) {
        if (vertices != -1 || !props.empty()) throw RuntimeError(path + ": the vertex element must come first");
        vertices = count;
        in_vertex = vertex_seen = true;
      } else {
        in_vertex = false;
      }
    } else if (word == "property" && in_vertex) {
      PlyProperty p;
      ls >> p.type;
      if (p.type == "list") throw RuntimeError(path + ": list properties on vertices are not supported");
      ls >> p.name;
      if (type_size(p.type) == 0) throw RuntimeError(path + ": unknown PLY type '" + p.type + "'");
      props.push_back(p);
    }
  }
  if (vertices <= 0) throw RuntimeError(path + ": no vertices");
  int idx[6] = {-1, -1, -1, -1, -1, -1};
  const char* wanted[6] = {"x", "y", "z", "red", "green", "blue"};
  for (size_t i = 0; i < props.size(); ++i) {
    for (int k = 0; k < 6; ++k) {
      if (props[i].name == wanted[k]) idx[k] = static_cast<int>(i);
    }
  }
  if (idx[0] < 0 || idx[1] < 0 || idx[2] < 0) throw RuntimeError(path + ": vertices lack x, y or z");
  const bool color = idx[3] >= 0 && idx[4] >= 0 && idx[5] >= 0;
  Matrix m;
  m.rows = vertices;
  m.cols = color ? 6 : 3;
  m.data.resize(static_cast<size_t>(m.rows * m.cols));
  std::vector<double> row(props.size());
  auto emit = [&](int64_t r) {
    for (int k = 0; k < m.cols; ++k) {
      double v = row[idx[k]];
      if (k >= 3 && integer_type(props[idx[k]].type)) v /= 255.0;
      m.data[static_cast<size_t>(r * m.cols + k)] = static_cast<float>(v);
    }
  };
  if (format == "ascii") {
    std::istringstream body(bytes.substr(pos));
    for (int64_t r = 0; r < vertices; ++r) {
      for (double& v : row) {
        if (!(body >> v)) throw RuntimeError(path + ": truncated vertex data at vertex " + std::to_string(r));
      }
      emit(r);
    }
  } else if (format == "binary_little_endian") {
    size_t stride = 0;
    for (const PlyProperty& p : props) stride += type_size(p.type);
    if (bytes.size() - pos < stride * static_cast<size_t>(vertices)) {
      throw RuntimeError(path + ": truncated vertex data (" + std::to_string(vertices) + " vertices declared)");
    }
    for (int64_t r = 0; r < vertices; ++r) {
      const char* p = bytes.data() + pos + stride * static_cast<size_t>(r);
      for (size_t i = 0; i < props.size(); ++i) {
        row[i] = read_binary(p, props[i].type);
        p += type_size(props[i].type);
      }
      emit(r);
    }
  } else {
    throw RuntimeError(path + ": PLY format '" + format + "' is not supported (ascii, binary_little_endian)");
  }
  return m;
}

// ---- NPY --------------------------------------------------------------------------------------------------

Matrix read_npy(const std::string& path, const std::string& bytes) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw RuntimeError(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw RuntimeError(path + ": truncated .npy header");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    throw RuntimeError(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (bytes.size() < offset + header_len) throw RuntimeError(path + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  auto field = [&](const std::string& key) {
    const size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) throw RuntimeError(path + ": .npy header lacks '" + key + "'");
    return header.substr(header.find(':', k) + 1);
  };
  const std::string descr = field("descr");
  if (descr.find("'<f4'") == std::string::npos && descr.find("'float32'") == std::string::npos) {
    throw RuntimeError(path + ": text features must be little-endian float32 ('<f4'), header: " + header);
  }
  std::string order = field("fortran_order");
  order = order.substr(order.find_first_not_of(" "));
  if (order.compare(0, 4, "True") == 0) throw RuntimeError(path + ": Fortran-ordered arrays are not supported");
  const std::string shape_text = field("shape");
  const std::string inner = shape_text.substr(shape_text.find('(') + 1, shape_text.find(')') - shape_text.find('(') - 1);
  std::vector<int64_t> shape;
  std::istringstream ss(inner);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" ") != std::string::npos) shape.push_back(std::stoll(item));
  }
  Matrix m;
  if (shape.size() == 1) {
    m.rows = 1;
    m.cols = shape[0];
  } else if (shape.size() == 2) {
    m.rows = shape[0];
    m.cols = shape[1];
  } else {
    throw RuntimeError(path + ": text features must have rank 1 or 2, got shape (" + inner + ")");
  }
  const size_t need = static_cast<size_t>(m.rows * m.cols) * 4;
  const size_t data_at = offset + header_len;
  if (m.rows < 1 || m.cols < 1 || bytes.size() - data_at != need) {
    throw RuntimeError(path + ": " + std::to_string(bytes.size() - data_at) + " data bytes for shape (" + inner + ")");
  }
  m.data.resize(static_cast<size_t>(m.rows * m.cols));
  std::memcpy(m.data.data(), bytes.data() + data_at, need);
  return m;
}

}  // namespace

Matrix read_points(const std::string& path, int64_t bin_cols) {
  const std::string bytes = read_all(path);
  Matrix m = ends_with(path, ".ply") ? read_ply(path, bytes) : raw_rows(path, bytes, bin_cols);
  if (m.cols < 3) throw RuntimeError(path + ": points need at least x, y, z");
  return m;
}

Matrix read_features(const std::string& path, int64_t raw_cols) {
  const std::string bytes = read_all(path);
  return ends_with(path, ".npy") ? read_npy(path, bytes) : raw_rows(path, bytes, raw_cols);
}

}  // namespace runtime
}  // namespace tsp3d
