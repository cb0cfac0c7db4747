//! The settings page for people: `GET /` serves one HTML page, its script and its style
//! from the binary itself. The page uses the same JSON API as any client (`/config`,
//! `/locks`, `/config/{section}/lock`), so a person is refused exactly as a program is,
//! and told why in words taken from the refusal.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lockwarden_std::Principal;

use crate::problem::Problem;

const INDEX_HTML: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

/// Scripts and styles only from this server, no inline code, no framing: owner texts and
/// values come from other clients, and must never run as code.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /`: the page. `/ui/app.js` and `/ui/app.css`: what it loads.
pub(crate) async fn page(request: Request) -> Response {
    let (body, content_type) = match request.uri().path() {
        "/" => (INDEX_HTML, "text/html; charset=utf-8"),
        "/ui/app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "/ui/app.css" => (APP_CSS, "text/css; charset=utf-8"),
        path => return Problem::not_found(path).into_response(),
    };
    match request.method().as_str() {
        "GET" | "HEAD" => {}
        m => {
            return Problem::method_not_allowed(m, request.uri().path(), "GET, HEAD")
                .into_response();
        }
    }
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /session`: who is signed in (`{"user": null}` without `--users`).
pub(crate) async fn session(request: Request) -> Response {
    let user = request
        .extensions()
        .get::<Principal>()
        .map(|p| p.as_str().to_owned());
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::json!({ "user": user }).to_string(),
    )
        .into_response()
}
