#include "web/template.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "web/assets.h"
#include "web/i18n.h"

namespace station::web {
namespace {

using nlohmann::json;

std::string render(std::string_view text, const json& context) {
  auto parsed = Template::parse(text);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  if (!parsed.is_ok()) return "";
  auto out = parsed->render(context);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? *out : "";
}

TEST(TemplateTest, VariablesAreEscapedUnlessTripled) {
  json context = {{"name", "<b>李雷</b>"}, {"count", 3}};
  EXPECT_EQ(render("Hi {{name}} ({{ count }})", context), "Hi &lt;b&gt;李雷&lt;/b&gt; (3)");
  EXPECT_EQ(render("{{{name}}}", context), "<b>李雷</b>");
}

TEST(TemplateTest, DottedNamesAndTheContextStack) {
  json context = {{"t", {{"hello", "你好"}}}, {"user", {{"name", "Li"}}}, {"items", {1, 2}}};
  EXPECT_EQ(render("{{t.hello}} {{user.name}}", context), "你好 Li");
  EXPECT_EQ(render("{{#user}}{{name}}/{{t.hello}}{{/user}}", context), "Li/你好");
  EXPECT_EQ(render("{{#items}}[{{.}}]{{/items}}", context), "[1][2]");
}

TEST(TemplateTest, SectionsAndInvertedSections) {
  json context = {{"yes", true},     {"no", false}, {"empty", json::array()},
                  {"none", nullptr}, {"text", ""},  {"rows", {{{"a", "x"}}, {{"a", "y"}}}}};
  EXPECT_EQ(render("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#missing}}M{{/missing}}", context), "Y");
  EXPECT_EQ(render("{{^no}}1{{/no}}{{^empty}}2{{/empty}}{{^none}}3{{/none}}{{^text}}4{{/text}}"
                   "{{^yes}}5{{/yes}}",
                   context),
            "1234");
  EXPECT_EQ(render("{{#rows}}<{{a}}>{{/rows}}", context), "<x><y>");
  EXPECT_EQ(render("a{{! a comment }}b", context), "ab");
}

TEST(TemplateTest, AMissingVariableIsAnErrorNotAnEmptyString) {
  auto parsed = Template::parse("{{typo}}");
  ASSERT_TRUE(parsed.is_ok());
  auto out = parsed->render(json::object());
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kInternal);
  EXPECT_NE(out.status().message().find("typo"), std::string::npos);
}

TEST(TemplateTest, MalformedTemplatesAreRefused) {
  for (std::string_view bad : {"{{name", "{{#a}}x", "{{#a}}x{{/b}}", "x{{/a}}", "{{}}", "{{{x}}"}) {
    auto parsed = Template::parse(bad);
    EXPECT_FALSE(parsed.is_ok()) << bad;
    if (!parsed.is_ok()) {
      EXPECT_EQ(parsed.status().code(), ErrorCode::kValidationFailed);
    }
  }
  std::string deep;
  for (std::size_t i = 0; i <= kTemplateDepthMax; ++i) deep += "{{#a}}";
  EXPECT_FALSE(Template::parse(deep).is_ok());
}

// Every embedded template parses, and every message it names ({{t.key}}) is in the catalogue,
// so a page can never show a raw key in either language.
TEST(TemplateTest, EmbeddedTemplatesParseAndUseKnownMessages) {
  auto catalogue = Catalogue::load();
  ASSERT_TRUE(catalogue.is_ok()) << catalogue.status().to_string();
  const json& messages = catalogue->messages(Language::kEn);
  std::regex message_ref(R"(\{\{\s*t\.([a-z0-9_]+)\s*\}\})");
  int templates = 0;
  for (std::string_view name : embedded_file_names()) {
    if (!name.starts_with("templates/")) continue;
    ++templates;
    std::string text(embedded_file(name));
    EXPECT_TRUE(Template::parse(text).is_ok()) << name;
    for (std::sregex_iterator it(text.begin(), text.end(), message_ref), end; it != end; ++it) {
      EXPECT_TRUE(messages.contains((*it)[1].str())) << name << " uses t." << (*it)[1].str();
    }
    // Pages carry no inline script or style: the CSP allows neither.
    EXPECT_EQ(text.find("<script>"), std::string::npos) << name;
    EXPECT_EQ(text.find(" style="), std::string::npos) << name;
    EXPECT_EQ(text.find(" onclick="), std::string::npos) << name;
  }
  EXPECT_GE(templates, 10);
}

// Every POST form carries the CSRF token.
TEST(TemplateTest, EveryPostFormCarriesTheCsrfToken) {
  std::regex form(R"(<form method="post"[^>]*>([\s\S]*?)</form>)");
  for (std::string_view name : embedded_file_names()) {
    if (!name.starts_with("templates/")) continue;
    std::string text(embedded_file(name));
    for (std::sregex_iterator it(text.begin(), text.end(), form), end; it != end; ++it) {
      EXPECT_NE((*it)[1].str().find(R"(name="csrf" value="{{csrf}}")"), std::string::npos) << name;
    }
  }
}

}  // namespace
}  // namespace station::web
