//! The dashboard's static files, embedded at compile time and served under
//! `/dashboard/assets/` with long cache lifetimes (their URLs change with their content):
//! htmx (vendored, see `api/assets/vendor/README.md`) and the stylesheet.

use std::sync::LazyLock;

use poem::web::Path;
use poem::{Response, handler};
use sha2::{Digest, Sha256};

use super::PageError;

/// The vendored htmx, named by its version.
const HTMX_FILE: &str = "htmx-2.0.11.min.js";
const HTMX_JS: &[u8] = include_bytes!("../../assets/vendor/htmx-2.0.11.min.js");
/// Where pages load htmx from.
pub const HTMX_URL: &str = "/dashboard/assets/htmx-2.0.11.min.js";

const CSS: &[u8] = include_bytes!("../../assets/dashboard.css");

/// Where pages load the stylesheet from: a digest of its content in the query, so a changed
/// stylesheet is fetched again despite the year-long cache lifetime.
pub fn css_url() -> &'static str {
    static URL: LazyLock<String> = LazyLock::new(|| {
        let digest = hex::encode(Sha256::digest(CSS));
        format!("/dashboard/assets/dashboard.css?v={}", &digest[..12])
    });
    &URL
}

#[handler]
pub async fn serve(Path(name): Path<String>) -> Result<Response, PageError> {
    let (body, content_type) = match name.as_str() {
        HTMX_FILE => (HTMX_JS, "text/javascript; charset=utf-8"),
        "dashboard.css" => (CSS, "text/css; charset=utf-8"),
        _ => return Err(PageError::NotFound("no such file")),
    };
    Ok(Response::builder()
        .content_type(content_type)
        .header("Cache-Control", "public, max-age=31536000, immutable")
        .body(body))
}
