#include "web/html.h"

#include <gtest/gtest.h>

namespace station::web {
namespace {

TEST(HtmlEscapeTest, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape(R"(<a href="x" onclick='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(HtmlEscapeTest, LeavesOtherTextAndUtf8Alone) {
  EXPECT_EQ(html_escape("李雷 ¥12.50 ok"), "李雷 ¥12.50 ok");
  EXPECT_EQ(html_escape(""), "");
}

TEST(HtmlEscapeTest, EscapedTextHasNoMarkupLeft) {
  std::string hostile = "\"><script>alert(1)</script><img src=x onerror='a'>";
  std::string escaped = html_escape(hostile);
  EXPECT_EQ(escaped.find('<'), std::string::npos);
  EXPECT_EQ(escaped.find('>'), std::string::npos);
  EXPECT_EQ(escaped.find('"'), std::string::npos);
  EXPECT_EQ(escaped.find('\''), std::string::npos);
}

}  // namespace
}  // namespace station::web
