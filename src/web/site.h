// web/site: the machinery a server-rendered site of Station is made of, shared by the subscriber
// portal and the operator console: the page templates and the message catalogues, the
// visit (who is calling, in which language), session cookies and CSRF checks, and the headers
// every answer carries.
//
// Security headers on every answer: a Content-Security-Policy that allows scripts, styles,
// images and form targets from this origin only and no framing (so the pages carry no inline
// script or style), X-Frame-Options DENY, Referrer-Policy same-origin, nosniff (set by the
// server), Cache-Control no-store on pages (they show personal data), and HSTS when the site is
// served over TLS (SiteOptions::secure_transport, which also makes cookies Secure).
//
// Language: `?lang=` on any page (remembered in a cookie), else the cookie, else the signed-in
// customer's preference (the portal supplies it), else Accept-Language.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "web/forms.h"
#include "web/i18n.h"
#include "web/sessions.h"
#include "web/template.h"

namespace station::web {

struct SiteOptions {
  std::string layout = "templates/layout.html";  // has {{{body}}}
  std::string session_cookie = "station_session";
  std::string language_cookie = "station_lang";
  bool secure_transport = false;
};

// One request as a site sees it.
struct Visit {
  Language language = Language::kEn;
  bool language_chosen = false;  // by ?lang= or the cookie, so a preference does not override it
  std::optional<Session> session;
  std::vector<std::string> set_cookies;  // sent with whatever answers the visit
  std::string path;                      // the request's path, for links back to it
  // This page's address with its query but without `lang`, ending in '?' or '&', so that
  // appending "lang=en" links to the same page in another language.
  std::string language_link_base;

  bool signed_in_as(PrincipalKind kind) const {
    return session && session->kind == kind && session->principal_id.has_value();
  }
};

class Site {
 public:
  // Loads the catalogue and parses every embedded templates/*.html (an error names the file).
  static Result<std::unique_ptr<Site>> create(Sessions& sessions, SiteOptions options);

  // The session from the cookie and the language as the header comment says.
  Result<Visit> visit(const http::Request& request);
  // A visit without a session gets a visitor's, so its forms have a CSRF token.
  Status ensure_session(Visit& visit);
  // Replaces the visit's session with a signed-in one (new id and CSRF token).
  Status sign_in(Visit& visit, PrincipalKind kind, Id principal_id);
  Status sign_out(Visit& visit);
  void remember_language(Visit& visit, Language language) const;

  // Parses a POSTed form and checks its "csrf" field against the visit's session. kForbidden
  // when the token is missing or wrong (nothing may then be done).
  Result<Form> checked_form(const http::Request& request, const Visit& visit) const;

  // The template at templates/<name>.html rendered into the layout. The context gets `t` (the
  // visit's messages), `lang`, `csrf` and `path`; `layout` fills the layout's own members.
  http::Response page(const Visit& visit, std::string_view name, nlohmann::json context,
                      const nlohmann::json& layout, int status = 200) const;
  // 303 See Other (after a POST, so reloading does not repeat it).
  http::Response redirect(const Visit& visit, std::string_view location) const;
  // An error as a page: the problem's HTTP status, its stable code and a translated message.
  http::Response error_page(const Visit& visit, const Status& status,
                            const nlohmann::json& layout) const;
  // An embedded static/<name> file with its media type; 404 when there is none.
  http::Response static_file(std::string_view name) const;
  // A body that is not a page (an image, a CSV file) with the site's headers and cookies.
  http::Response file(const Visit& visit, std::string content_type, std::string body) const;

  const Catalogue& catalogue() const { return catalogue_; }
  std::string text(const Visit& visit, std::string_view key) const {
    return catalogue_.text(visit.language, key);
  }

 private:
  Site(Sessions& sessions, SiteOptions options, Catalogue catalogue)
      : sessions_(sessions), options_(std::move(options)), catalogue_(std::move(catalogue)) {}
  void finish(const Visit& visit, http::Response& response) const;
  Result<std::string> render(std::string_view template_path, const nlohmann::json& context) const;

  Sessions& sessions_;
  SiteOptions options_;
  Catalogue catalogue_;
  std::map<std::string, Template, std::less<>> templates_;  // by embedded file name
};

}  // namespace station::web
