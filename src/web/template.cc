#include "web/template.h"

#include <fmt/format.h>

#include <cassert>

#include "web/html.h"

namespace station::web {

using nlohmann::json;

struct Template::Node {
  enum class Kind { kText, kEscaped, kRaw, kSection, kInverted };
  Kind kind = Kind::kText;
  std::string text;  // literal text, or the name
  std::vector<Node> children;
};

namespace {

using Node = Template::Node;

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Looks `name` up through the context stack, innermost first.
const json* lookup(const std::vector<const json*>& stack, std::string_view name) {
  if (name == ".") return stack.back();
  auto dot = name.find('.');
  std::string head(name.substr(0, dot));
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    if (!(*it)->is_object()) continue;
    auto found = (*it)->find(head);
    if (found == (*it)->end()) continue;
    const json* value = &*found;
    while (dot != std::string_view::npos) {
      name.remove_prefix(dot + 1);
      dot = name.find('.');
      if (!value->is_object()) return nullptr;
      auto member = value->find(std::string(name.substr(0, dot)));
      if (member == value->end()) return nullptr;
      value = &*member;
    }
    return value;
  }
  return nullptr;
}

bool truthy(const json* value) {
  if (value == nullptr || value->is_null()) return false;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_string()) return !value->get_ref<const std::string&>().empty();
  if (value->is_array()) return !value->empty();
  return true;
}

std::string text_of(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

Status render_nodes(const std::vector<Node>& nodes, std::vector<const json*>& stack,
                    std::string& out) {
  for (const Node& node : nodes) {
    switch (node.kind) {
      case Node::Kind::kText:
        out += node.text;
        break;
      case Node::Kind::kEscaped:
      case Node::Kind::kRaw: {
        const json* value = lookup(stack, node.text);
        if (value == nullptr) {
          return Status(ErrorCode::kInternal,
                        fmt::format("template value '{}' missing", node.text));
        }
        out += node.kind == Node::Kind::kRaw ? text_of(*value) : html_escape(text_of(*value));
        break;
      }
      case Node::Kind::kSection: {
        const json* value = lookup(stack, node.text);
        if (!truthy(value)) break;
        if (value->is_array()) {
          for (const json& element : *value) {
            stack.push_back(&element);
            Status status = render_nodes(node.children, stack, out);
            stack.pop_back();
            if (!status.is_ok()) return status;
          }
        } else {
          stack.push_back(value);
          Status status = render_nodes(node.children, stack, out);
          stack.pop_back();
          if (!status.is_ok()) return status;
        }
        break;
      }
      case Node::Kind::kInverted:
        if (truthy(lookup(stack, node.text))) break;
        if (Status status = render_nodes(node.children, stack, out); !status.is_ok()) {
          return status;
        }
        break;
    }
  }
  return Status::ok();
}

}  // namespace

Result<Template> Template::parse(std::string_view text) {
  // Open sections as a stack of (node list being filled, name); the bottom is the root.
  std::vector<Node> root;
  std::vector<std::pair<std::vector<Node>*, Node*>> open;  // (list, section node)
  std::vector<Node>* current = &root;
  std::size_t pos = 0;
  auto error = [&](std::string_view what) {
    return Status(ErrorCode::kValidationFailed, fmt::format("template: {} at byte {}", what, pos));
  };
  while (pos < text.size()) {
    std::size_t start = text.find("{{", pos);
    if (start == std::string_view::npos) start = text.size();
    if (start > pos)
      current->push_back(Node{Node::Kind::kText, std::string(text.substr(pos, start - pos)), {}});
    if (start == text.size()) break;
    pos = start;
    bool triple = text.substr(start, 3) == "{{{";
    std::string_view closer = triple ? "}}}" : "}}";
    std::size_t body_start = start + (triple ? 3 : 2);
    std::size_t end = text.find(closer, body_start);
    if (end == std::string_view::npos) return error("unclosed tag");
    std::string_view tag = trim(text.substr(body_start, end - body_start));
    pos = end + closer.size();
    if (tag.empty()) return error("empty tag");
    if (triple) {
      current->push_back(Node{Node::Kind::kRaw, std::string(tag), {}});
      continue;
    }
    char sigil = tag.front();
    std::string name(trim(tag.substr(1)));
    if (sigil == '!') continue;
    if (sigil == '#' || sigil == '^') {
      if (open.size() >= kTemplateDepthMax) return error("sections nested too deep");
      current->push_back(
          Node{sigil == '#' ? Node::Kind::kSection : Node::Kind::kInverted, name, {}});
      open.emplace_back(current, &current->back());
      current = &current->back().children;
      continue;
    }
    if (sigil == '/') {
      if (open.empty() || open.back().second->text != name) return error("unmatched section end");
      current = open.back().first;
      open.pop_back();
      continue;
    }
    current->push_back(Node{Node::Kind::kEscaped, std::string(tag), {}});
  }
  if (!open.empty()) return error("section '" + open.back().second->text + "' not closed");
  return Template(std::make_shared<const std::vector<Node>>(std::move(root)));
}

Result<std::string> Template::render(const json& context) const {
  assert(nodes_);
  std::vector<const json*> stack{&context};
  std::string out;
  STATION_RETURN_IF_ERROR(render_nodes(*nodes_, stack, out));
  return out;
}

}  // namespace station::web
