//! The API's HTML pages (the operators' dashboard and the public pages: certificate
//! verification, unsubscribe), rendered with minijinja from templates under `api/templates/`,
//! embedded in the binary at compile time.
//!
//! Auto-escaping is on for every `.html` template: each value a page shows is escaped by the
//! engine, so no handler builds HTML by hand or escapes anything itself.

use std::sync::LazyLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// Every template, by name (its path under `api/templates/`).
const TEMPLATES: &[(&str, &str)] = &[
    (
        "public/verify.html",
        include_str!("../templates/public/verify.html"),
    ),
    (
        "public/unsubscribe.html",
        include_str!("../templates/public/unsubscribe.html"),
    ),
    (
        "dashboard/layout.html",
        include_str!("../templates/dashboard/layout.html"),
    ),
    (
        "dashboard/login.html",
        include_str!("../templates/dashboard/login.html"),
    ),
    (
        "dashboard/error.html",
        include_str!("../templates/dashboard/error.html"),
    ),
    (
        "dashboard/overview.html",
        include_str!("../templates/dashboard/overview.html"),
    ),
    (
        "dashboard/queues_table.html",
        include_str!("../templates/dashboard/queues_table.html"),
    ),
    (
        "dashboard/jobs.html",
        include_str!("../templates/dashboard/jobs.html"),
    ),
    (
        "dashboard/job.html",
        include_str!("../templates/dashboard/job.html"),
    ),
    (
        "dashboard/tenants.html",
        include_str!("../templates/dashboard/tenants.html"),
    ),
    (
        "dashboard/tenant.html",
        include_str!("../templates/dashboard/tenant.html"),
    ),
    (
        "dashboard/tenant_picker.html",
        include_str!("../templates/dashboard/tenant_picker.html"),
    ),
    (
        "dashboard/operations.html",
        include_str!("../templates/dashboard/operations.html"),
    ),
    (
        "dashboard/operation.html",
        include_str!("../templates/dashboard/operation.html"),
    ),
    (
        "dashboard/operation_progress.html",
        include_str!("../templates/dashboard/operation_progress.html"),
    ),
    (
        "dashboard/schedules.html",
        include_str!("../templates/dashboard/schedules.html"),
    ),
    (
        "dashboard/webhooks.html",
        include_str!("../templates/dashboard/webhooks.html"),
    ),
    (
        "dashboard/events.html",
        include_str!("../templates/dashboard/events.html"),
    ),
    (
        "dashboard/audit.html",
        include_str!("../templates/dashboard/audit.html"),
    ),
];

/// Why a page could not be rendered: a bug in a template or in what a handler passed it.
#[derive(Debug, thiserror::Error)]
#[error("template {name}: {source}")]
pub struct RenderError {
    name: String,
    #[source]
    source: minijinja::Error,
}

static ENGINE: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // Escape everything in HTML templates, whatever the file name's other conventions.
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // A misspelt variable is an error, not an empty string.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        // Every template is parsed by the unit test below; a failure here is a build bug.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "template does not parse");
        }
    }
    env
});

/// Renders the template `name` with `ctx`.
pub fn render(name: &str, ctx: minijinja::Value) -> Result<String, RenderError> {
    let wrap = |source| RenderError {
        name: name.to_owned(),
        source,
    };
    ENGINE
        .get_template(name)
        .map_err(wrap)?
        .render(ctx)
        .map_err(wrap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn values_are_escaped() {
        let html = render(
            "public/unsubscribe.html",
            minijinja::context! { title => "<script>alert(1)</script>", state => "invalid" },
        )
        .unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }
}
