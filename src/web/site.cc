#include "web/site.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "web/assets.h"

namespace station::web {

using nlohmann::json;

namespace {

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
constexpr std::int64_t kLanguageCookieSeconds = 365 * 24 * 3600;

std::string_view media_type_of(std::string_view name) {
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// The path as a link: each segment percent-encoded, '/' kept.
std::string url_encode_path(std::string_view path) {
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out += url_encode(path.substr(start, slash - start));
    if (slash < path.size()) out += '/';
    start = slash + 1;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Site>> Site::create(Sessions& sessions, SiteOptions options) {
  STATION_ASSIGN_OR_RETURN(auto catalogue, Catalogue::load());
  std::unique_ptr<Site> site(new Site(sessions, std::move(options), std::move(catalogue)));
  for (std::string_view name : embedded_file_names()) {
    if (!name.starts_with("templates/")) continue;
    auto parsed = Template::parse(embedded_file(name));
    if (!parsed.is_ok()) {
      return Status(ErrorCode::kInternal, fmt::format("{}: {}", name, parsed.status().message()));
    }
    site->templates_.emplace(std::string(name), std::move(parsed).value());
  }
  if (!site->templates_.contains(site->options_.layout)) {
    return Status(ErrorCode::kInternal, "the layout template is missing");
  }
  return site;
}

Result<Visit> Site::visit(const http::Request& request) {
  Visit visit;
  visit.path = request.path;
  visit.language_link_base = url_encode_path(request.path) + "?";
  for (const auto& [name, value] : request.query) {
    if (name == "lang") continue;
    visit.language_link_base += url_encode(name) + "=" + url_encode(value) + "&";
  }
  if (auto id = cookie_value(request, options_.session_cookie)) {
    STATION_ASSIGN_OR_RETURN(visit.session, sessions_.find(*id));
  }
  std::optional<Language> chosen;
  if (auto asked = request.query_param("lang")) {
    chosen = parse_language(*asked);
    if (chosen) remember_language(visit, *chosen);
  }
  if (!chosen) {
    if (auto cookie = cookie_value(request, options_.language_cookie))
      chosen = parse_language(*cookie);
  }
  visit.language_chosen = chosen.has_value();
  visit.language = chosen.value_or(negotiate_language(request.header("accept-language")));
  return visit;
}

void Site::remember_language(Visit& visit, Language language) const {
  visit.language = language;
  visit.language_chosen = true;
  visit.set_cookies.push_back(
      set_cookie(options_.language_cookie, language_tag(language),
                 {kLanguageCookieSeconds, true, options_.secure_transport}));
}

Status Site::ensure_session(Visit& visit) {
  if (visit.session) return Status::ok();
  STATION_ASSIGN_OR_RETURN(auto session, sessions_.create(PrincipalKind::kVisitor, std::nullopt));
  visit.set_cookies.push_back(set_cookie(options_.session_cookie, session.cookie_value,
                                         {-1, true, options_.secure_transport}));
  visit.session = std::move(session);
  return Status::ok();
}

Status Site::sign_in(Visit& visit, PrincipalKind kind, Id principal_id) {
  STATION_ASSIGN_OR_RETURN(
      auto session,
      sessions_.replace(visit.session ? visit.session->cookie_value : "", kind, principal_id));
  visit.set_cookies.push_back(set_cookie(options_.session_cookie, session.cookie_value,
                                         {-1, true, options_.secure_transport}));
  visit.session = std::move(session);
  return Status::ok();
}

Status Site::sign_out(Visit& visit) {
  if (visit.session) STATION_RETURN_IF_ERROR(sessions_.destroy(visit.session->cookie_value));
  visit.session.reset();
  visit.set_cookies.push_back(
      set_cookie(options_.session_cookie, "", {0, true, options_.secure_transport}));
  return Status::ok();
}

Result<Form> Site::checked_form(const http::Request& request, const Visit& visit) const {
  STATION_ASSIGN_OR_RETURN(auto form, parse_form(request));
  if (!visit.session || !Sessions::csrf_matches(*visit.session, form_value(form, "csrf"))) {
    return Status(ErrorCode::kForbidden,
                  "the form's security token is missing or out of date; reload the page");
  }
  return form;
}

Result<std::string> Site::render(std::string_view template_path, const json& context) const {
  auto it = templates_.find(template_path);
  if (it == templates_.end()) {
    return Status(ErrorCode::kInternal, fmt::format("no template {}", template_path));
  }
  return it->second.render(context);
}

void Site::finish(const Visit& visit, http::Response& response) const {
  response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "same-origin");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  response.headers.emplace_back("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  if (options_.secure_transport) {
    response.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  }
  for (const auto& cookie : visit.set_cookies) response.headers.emplace_back("Set-Cookie", cookie);
}

http::Response Site::page(const Visit& visit, std::string_view name, json context,
                          const json& layout, int status) const {
  context["t"] = catalogue_.messages(visit.language);
  context["lang"] = language_tag(visit.language);
  context["csrf"] = visit.session ? visit.session->csrf_token : "";
  context["path"] = visit.path;
  http::Response response;
  auto body = render(fmt::format("templates/{}.html", name), context);
  json frame = layout;
  frame["t"] = context["t"];
  frame["lang"] = context["lang"];
  frame["csrf"] = context["csrf"];
  frame["path"] = visit.path;
  frame["body"] = body.is_ok() ? *body : "";
  frame["title"] = context.value("title", "");
  auto html = body.is_ok() ? render(options_.layout, frame) : body.status();
  if (!html.is_ok()) {
    spdlog::error("page {}: {}", name, html.status().to_string());
    response.status = 500;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "internal error";
  } else {
    response.status = status;
    response.content_type = "text/html; charset=utf-8";
    response.body = std::move(html).value();
  }
  finish(visit, response);
  return response;
}

http::Response Site::redirect(const Visit& visit, std::string_view location) const {
  http::Response response;
  response.status = 303;
  response.content_type = "text/plain; charset=utf-8";
  response.headers.emplace_back("Location", std::string(location));
  finish(visit, response);
  return response;
}

http::Response Site::error_page(const Visit& visit, const Status& status,
                                const json& layout) const {
  const ErrorInfo& info = error_info(status.code());
  std::string key = fmt::format("error_{}", info.name);
  std::string message = catalogue_.text(visit.language, key);
  json context = {
      {"title", catalogue_.text(visit.language, "error_title")},
      {"code", info.name},
      {"http_status", info.http_status},
      {"message", message == key ? catalogue_.text(visit.language, "error_generic") : message}};
  return page(visit, "error", std::move(context), layout, info.http_status);
}

http::Response Site::static_file(std::string_view name) const {
  std::string path = fmt::format("static/{}", name);
  std::string_view text = embedded_file(path);
  http::Response response;
  Visit none;
  if (text.empty() || name.find('/') != std::string_view::npos) {
    response.status = 404;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "not found";
  } else {
    response.content_type = std::string(media_type_of(name));
    response.body = std::string(text);
    response.headers.emplace_back("Cache-Control", "public, max-age=300");
  }
  finish(none, response);
  return response;
}

http::Response Site::file(const Visit& visit, std::string content_type, std::string body) const {
  http::Response response;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  finish(visit, response);
  return response;
}

}  // namespace station::web
