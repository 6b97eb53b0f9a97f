#pragma once
// A small read-only YAML document model built from libyaml's event parser. yaml-cpp parsed our recipes about
// 12x slower (1.2M instructions per small recipe, 80% in its regex scanner), which alone broke the 0.5 s budget
// for 10,000 recipes; libyaml is the reference C implementation and gives byte-exact marks for diagnostics.
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace echo::recipe::yaml {

/// Position in the source: byte offset and 0-based line and column (in characters).
struct Mark {
  long pos = -1;
  int line = -1;
  int column = -1;
};

enum class NodeType { Undefined, Null, Scalar, Sequence, Map };

/// A syntax error with its position.
struct Exception : std::runtime_error {
  Exception(Mark m, std::string message) : std::runtime_error(message), mark(m), msg(std::move(message)) {}
  Mark mark;
  std::string msg;
};

struct NodeData;
struct Document;
class Node;

/// What iterating a node yields: for a sequence the element itself; for a mapping `first` (key) and `second`.
struct Item;

/// A handle to a node of a parsed document (or an undefined node: a missing key). Cheap to copy.
class Node {
public:
  Node() = default;
  Node(std::shared_ptr<const Document> doc, const NodeData* data) : m_doc(std::move(doc)), m_data(data) {}

  NodeType Type() const noexcept;
  bool IsDefined() const noexcept { return m_data != nullptr; }
  bool IsNull() const noexcept { return Type() == NodeType::Null; }
  bool IsScalar() const noexcept { return Type() == NodeType::Scalar; }
  bool IsSequence() const noexcept { return Type() == NodeType::Sequence; }
  bool IsMap() const noexcept { return Type() == NodeType::Map; }
  explicit operator bool() const noexcept { return IsDefined(); }
  struct Mark mark() const noexcept;
  /// The scalar's value ("" for anything else).
  const std::string& Scalar() const noexcept;
  /// Mapping lookup by key (first match); an undefined node when absent or not a mapping.
  Node operator[](std::string_view key) const;
  /// Number of elements (sequence) or pairs (mapping).
  std::size_t size() const noexcept;

  class iterator;
  iterator begin() const;
  iterator end() const;

private:
  std::shared_ptr<const Document> m_doc;
  const NodeData* m_data = nullptr;
};

struct Item : Node {
  Node first, second;
};

class Node::iterator {
public:
  iterator(const Node* owner, std::size_t i) : m_owner(owner), m_i(i) {}
  Item operator*() const;
  iterator& operator++() {
    ++m_i;
    return *this;
  }
  bool operator!=(const iterator& o) const { return m_i != o.m_i; }

private:
  const Node* m_owner;
  std::size_t m_i;
};

/// Parses one YAML document (the first; further documents are an error). Throws Exception with the position.
Node Load(std::string_view text);

} // namespace echo::recipe::yaml
