#include "recipe/yaml_node.hpp"

#include <yaml.h>

#include <deque>
#include <map>

namespace echo::recipe::yaml {

struct NodeData {
  NodeType type = NodeType::Undefined;
  struct Mark mark;
  std::string scalar;
  std::vector<const NodeData*> items; // sequence elements, or mapping key, value, key, value...
};

struct Document {
  std::deque<NodeData> nodes; // stable addresses
  const NodeData* root = nullptr;
};

namespace {

const std::string k_empty;

// libyaml counts columns in characters; diagnostics also need the byte offset.
struct Positions {
  std::string_view text;
  std::vector<std::size_t> line_starts;
  explicit Positions(std::string_view t) : text(t) {
    line_starts.push_back(0);
    for (std::size_t i = 0; i < t.size(); ++i)
      if (t[i] == '\n') line_starts.push_back(i + 1);
  }
  struct Mark mark(const yaml_mark_t& m) const {
    struct Mark out;
    out.line = static_cast<int>(m.line);
    out.column = static_cast<int>(m.column);
    if (m.line >= line_starts.size()) {
      out.pos = static_cast<long>(text.size());
      return out;
    }
    std::size_t p = line_starts[m.line];
    for (std::size_t c = 0; c < m.column && p < text.size() && text[p] != '\n'; ++c) {
      ++p;
      while (p < text.size() && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) ++p;
    }
    out.pos = static_cast<long>(p);
    return out;
  }
};

bool is_null_scalar(const yaml_event_t& e) {
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  std::string_view v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

class Builder {
public:
  Builder(std::string_view text, Document& doc) : m_pos(text), m_doc(doc) {
    yaml_parser_initialize(&m_parser);
    yaml_parser_set_input_string(&m_parser, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Builder() { yaml_parser_delete(&m_parser); }
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  void run() {
    std::vector<NodeData*> stack;
    int documents = 0;
    for (;;) {
      yaml_event_t e;
      if (!yaml_parser_parse(&m_parser, &e)) fail();
      struct Guard {
        yaml_event_t* e;
        ~Guard() { yaml_event_delete(e); }
      } guard{&e};
      switch (e.type) {
      case YAML_STREAM_END_EVENT: return;
      case YAML_DOCUMENT_START_EVENT:
        if (++documents > 1)
          throw Exception(m_pos.mark(e.start_mark), "a recipe file holds one YAML document, found a second one");
        break;
      case YAML_SCALAR_EVENT: {
        NodeData& n = add(e.start_mark, is_null_scalar(e) ? NodeType::Null : NodeType::Scalar);
        n.scalar.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        anchor(e.data.scalar.anchor, &n);
        attach(stack, &n);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        bool seq = e.type == YAML_SEQUENCE_START_EVENT;
        NodeData& n = add(e.start_mark, seq ? NodeType::Sequence : NodeType::Map);
        anchor(seq ? e.data.sequence_start.anchor : e.data.mapping_start.anchor, &n);
        attach(stack, &n);
        stack.push_back(&n);
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: stack.pop_back(); break;
      case YAML_ALIAS_EVENT: {
        auto it = m_anchors.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (it == m_anchors.end())
          throw Exception(m_pos.mark(e.start_mark), std::string("unknown alias '*") +
                                                         reinterpret_cast<const char*>(e.data.alias.anchor) + "'");
        attach(stack, it->second);
        break;
      }
      default: break;
      }
    }
  }

private:
  yaml_parser_t m_parser;
  Positions m_pos;
  Document& m_doc;
  std::map<std::string, const NodeData*> m_anchors;

  NodeData& add(const yaml_mark_t& m, NodeType t) {
    NodeData& n = m_doc.nodes.emplace_back();
    n.type = t;
    n.mark = m_pos.mark(m);
    return n;
  }
  void anchor(const yaml_char_t* name, const NodeData* n) {
    if (name) m_anchors[reinterpret_cast<const char*>(name)] = n;
  }
  void attach(std::vector<NodeData*>& stack, const NodeData* n) {
    if (stack.empty()) m_doc.root = n;
    else stack.back()->items.push_back(n);
  }
  [[noreturn]] void fail() {
    std::string msg = m_parser.problem ? m_parser.problem : "invalid YAML";
    if (m_parser.context) msg += std::string(" (") + m_parser.context + ")";
    throw Exception(m_pos.mark(m_parser.problem_mark), msg);
  }
};

} // namespace

NodeType Node::Type() const noexcept { return m_data ? m_data->type : NodeType::Undefined; }

struct Mark Node::mark() const noexcept { return m_data ? m_data->mark : yaml::Mark{}; }

const std::string& Node::Scalar() const noexcept {
  return m_data && m_data->type == NodeType::Scalar ? m_data->scalar : k_empty;
}

Node Node::operator[](std::string_view key) const {
  if (!IsMap()) return {};
  for (std::size_t i = 0; i + 1 < m_data->items.size(); i += 2)
    if (m_data->items[i]->type == NodeType::Scalar && m_data->items[i]->scalar == key) return {m_doc, m_data->items[i + 1]};
  return {};
}

std::size_t Node::size() const noexcept {
  if (!m_data) return 0;
  return m_data->type == NodeType::Map ? m_data->items.size() / 2 : m_data->items.size();
}

Node::iterator Node::begin() const { return iterator(this, 0); }
Node::iterator Node::end() const { return iterator(this, (IsMap() || IsSequence()) ? size() : 0); }

Item Node::iterator::operator*() const {
  Item it;
  const NodeData* d = m_owner->m_data;
  if (d->type == NodeType::Map) {
    it.first = Node(m_owner->m_doc, d->items[2 * m_i]);
    it.second = Node(m_owner->m_doc, d->items[2 * m_i + 1]);
  } else {
    static_cast<Node&>(it) = Node(m_owner->m_doc, d->items[m_i]);
  }
  return it;
}

Node Load(std::string_view text) {
  auto doc = std::make_shared<Document>();
  Builder(text, *doc).run();
  return Node(doc, doc->root);
}

} // namespace echo::recipe::yaml
