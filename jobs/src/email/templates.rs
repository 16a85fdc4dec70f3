//! Per-tenant email templates (minijinja): a subject, an HTML body and/or a text body, stored by
//! name. Templates are compiled when saved (a syntax error is a 422 naming the part) and
//! rendered when an email is created, with undefined variables as errors: a missing variable
//! is a 422 for the sender, never a broken email for the recipient. HTML is auto-escaped.
//!
//! Rendering runs in the API's request, so it is bounded: [`RENDER_FUEL`] steps of the template
//! engine per part (nested loops run out), a nesting depth of [`RECURSION_LIMIT`], and at most
//! [`MAX_RENDERED_BYTES`] of output per part. Past a bound the email is a 422 on `template`.

use std::io;

use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use sqlx::Row;

use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::TenantId;
use crate::validation::{FieldError, Invalid};

/// Longest template name.
pub const MAX_NAME_LEN: usize = 100;
/// Largest template part, in bytes.
pub const MAX_PART_BYTES: usize = 512 * 1024;
/// Engine steps one part may take to render (a loop over a thousand items needs a few tens of
/// thousands; three nested loops over a hundred need more than this).
pub const RENDER_FUEL: u64 = 500_000;
/// Deepest nesting of macros, includes and recursive loops while rendering.
pub const RECURSION_LIMIT: usize = 32;
/// Largest rendered part, in bytes.
pub const MAX_RENDERED_BYTES: usize = 2 * 1024 * 1024;

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a template renders to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
}

/// Checks a template name: letters, digits, `.`, `_`, `-`, 1 to 100 characters.
pub fn check_name(field: &str, name: &str) -> Result<(), Invalid> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Invalid::one(
            field,
            format!("must be 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-'"),
        ))
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_fuel(Some(RENDER_FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env
}

/// Why one part did not render.
enum PartError {
    /// The template itself is too costly to render (fuel, depth or output size).
    Bound(String),
    /// Anything else, usually an undefined variable.
    Render(minijinja::Error),
}

/// Renders one part into at most [`MAX_RENDERED_BYTES`].
fn render_part(
    env: &Environment<'_>,
    name: &str,
    source: &str,
    ctx: minijinja::Value,
) -> Result<String, PartError> {
    let template = env
        .template_from_named_str(name, source)
        .map_err(PartError::Render)?;
    let mut out = BoundedOutput::default();
    match template.render_captured_to(ctx, &mut out) {
        Ok(_) => String::from_utf8(out.bytes)
            .map_err(|_| PartError::Bound("rendered to text that is not UTF-8".into())),
        Err(_) if out.overflowed => Err(PartError::Bound(format!(
            "renders to more than {MAX_RENDERED_BYTES} bytes"
        ))),
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(PartError::Bound(format!(
            "takes more than {RENDER_FUEL} steps to render (loops nested too deep or too long)"
        ))),
        Err(e)
            if e.kind() == ErrorKind::InvalidOperation && e.to_string().contains("recursion") =>
        {
            Err(PartError::Bound(format!(
                "nests deeper than {RECURSION_LIMIT} levels"
            )))
        }
        Err(e) => Err(PartError::Render(e)),
    }
}

/// An output buffer that refuses to grow past [`MAX_RENDERED_BYTES`].
#[derive(Default)]
struct BoundedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for BoundedOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_RENDERED_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("rendered output too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The three parts with the names that pick their escaping (`.html` is HTML-escaped).
fn parts(t: &Template) -> [(&'static str, &'static str, Option<&str>); 3] {
    [
        ("subject", "subject.txt", Some(t.subject.as_str())),
        ("html", "body.html", t.html.as_deref()),
        ("text", "body.txt", t.text.as_deref()),
    ]
}

/// Compiles every part; a syntax error names the part.
pub fn check(t: &Template) -> Result<(), Invalid> {
    let mut errors = Vec::new();
    check_name("name", &t.name)
        .err()
        .into_iter()
        .for_each(|Invalid(e)| errors.extend(e));
    if t.subject.trim().is_empty() {
        errors.push(FieldError::new("subject", "must not be empty"));
    }
    if t.html.is_none() && t.text.is_none() {
        errors.push(FieldError::new(
            "html",
            "a template needs an html or a text body (or both)",
        ));
    }
    let env = environment();
    for (field, name, source) in parts(t) {
        let Some(source) = source else { continue };
        if source.len() > MAX_PART_BYTES {
            errors.push(FieldError::new(
                field,
                format!("must be at most {MAX_PART_BYTES} bytes"),
            ));
        } else if let Err(e) = env.template_from_named_str(name, source) {
            errors.push(FieldError::new(
                field,
                format!("template syntax error: {e}"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Invalid(errors))
    }
}

/// Renders a template with `variables`; an undefined variable is an error naming the part.
pub fn render(t: &Template, variables: &serde_json::Value) -> Result<Rendered, Invalid> {
    let env = environment();
    let ctx = minijinja::Value::from(minijinja::value::Serde(variables));
    let mut errors = Vec::new();
    let mut out: [Option<String>; 3] = [None, None, None];
    for (slot, (field, name, source)) in parts(t).into_iter().enumerate() {
        let Some(source) = source else { continue };
        match render_part(&env, name, source, ctx.clone()) {
            Ok(s) => out[slot] = Some(s),
            Err(PartError::Bound(why)) => errors.push(FieldError::new(
                "template",
                format!("template `{}` ({field}) {why}", t.name),
            )),
            Err(PartError::Render(e)) => errors.push(FieldError::new(
                "variables",
                format!("template `{}` ({field}): {e}", t.name),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Invalid(errors));
    }
    let [subject, html, text] = out;
    Ok(Rendered {
        subject: subject
            .unwrap_or_default()
            .trim()
            .replace(['\r', '\n'], " "),
        html,
        text,
    })
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Template, DbError> {
    Ok(Template {
        name: r.try_get(0)?,
        subject: r.try_get(1)?,
        html: r.try_get(2)?,
        text: r.try_get(3)?,
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
    })
}

const COLUMNS: &str = "name, subject, html, text, created_at, updated_at";

/// One of a tenant's templates.
pub async fn get(db: &Db, tenant: &TenantId, name: &str) -> Result<Option<Template>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM email_templates WHERE tenant_id = $1 AND name = $2"
    )))
    .bind(tenant.as_str())
    .bind(name)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A tenant's templates by name, after `cursor`.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Template>, DbError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM email_templates WHERE tenant_id = $1 AND name > $2 ORDER BY name LIMIT $3"
    )))
    .bind(tenant.as_str())
    .bind(cursor.unwrap_or(""))
    .bind(limit as i64)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Creates a template; false if the name is taken.
pub async fn insert(db: &Db, tenant: &TenantId, t: &Template) -> Result<bool, DbError> {
    let now = now_ms();
    let done = sqlx::query("INSERT INTO email_templates (tenant_id, name, subject, html, text, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id, name) DO NOTHING")
        .bind(tenant.as_str())
        .bind(&t.name)
        .bind(&t.subject)
        .bind(t.html.as_deref())
        .bind(t.text.as_deref())
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Creates or replaces a template; true if it was created.
pub async fn upsert(db: &Db, tenant: &TenantId, t: &Template) -> Result<bool, DbError> {
    if insert(db, tenant, t).await? {
        return Ok(true);
    }
    sqlx::query("UPDATE email_templates SET subject = $1, html = $2, text = $3, updated_at = $4 WHERE tenant_id = $5 AND name = $6")
        .bind(&t.subject)
        .bind(t.html.as_deref())
        .bind(t.text.as_deref())
        .bind(now_ms())
        .bind(tenant.as_str())
        .bind(&t.name)
        .execute(db.pool())
        .await?;
    Ok(false)
}

/// Deletes a template; false if there was none.
pub async fn delete(db: &Db, tenant: &TenantId, name: &str) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM email_templates WHERE tenant_id = $1 AND name = $2")
        .bind(tenant.as_str())
        .bind(name)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn welcome() -> Template {
        Template {
            name: "welcome".into(),
            subject: "Welcome, {{ name }}".into(),
            html: Some(
                "<p>Hello {{ name }}{% if company %} of {{ company }}{% endif %}</p>".into(),
            ),
            text: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn renders_with_escaping_and_optional_checks() {
        let r = render(&welcome(), &serde_json::json!({"name": "Zoë <b>"})).unwrap();
        assert_eq!(r.subject, "Welcome, Zoë <b>");
        assert_eq!(r.html.unwrap(), "<p>Hello Zoë &lt;b&gt;</p>");
    }

    #[test]
    fn a_missing_variable_is_an_error_naming_the_part() {
        let Invalid(errors) = render(&welcome(), &serde_json::json!({})).unwrap_err();
        assert_eq!(errors[0].field, "variables");
        assert!(
            errors[0].message.contains("subject") && errors[0].message.contains("undefined"),
            "{errors:?}"
        );
    }

    fn with_html(html: &str) -> Template {
        Template {
            html: Some(html.into()),
            ..welcome()
        }
    }

    fn bound_error(t: &Template) -> String {
        let started = std::time::Instant::now();
        let Invalid(errors) = render(t, &serde_json::json!({"name": "x"})).unwrap_err();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "a bound stops the render early"
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "template", "{errors:?}");
        errors[0].message.clone()
    }

    #[test]
    fn nested_loops_run_out_of_fuel() {
        let loops = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}\
                     {% endfor %}{% endfor %}{% endfor %}";
        let why = bound_error(&with_html(loops));
        assert!(why.contains("steps"), "{why}");
    }

    #[test]
    fn output_is_bounded() {
        let why = bound_error(&with_html("{{ 'x' * 3000000 }}"));
        assert!(why.contains("bytes"), "{why}");
        let why = bound_error(&with_html(
            "{% for a in range(3000) %}{{ 'y' * 1000 }}{% endfor %}",
        ));
        assert!(why.contains("bytes"), "{why}");
    }

    #[test]
    fn building_huge_strings_runs_out_of_fuel_before_memory_grows() {
        // minijinja charges fuel for the size of what it builds, so repetition and doubling
        // stop long before they allocate much, even with no output written.
        for html in [
            "{% for i in range(20) %}{% set x = 'a' * 50000000 %}{% endfor %}ok",
            "{% set ns = namespace(x='a') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}ok",
        ] {
            let why = bound_error(&with_html(html));
            assert!(why.contains("steps"), "{why}");
        }
    }

    #[test]
    fn recursion_is_bounded() {
        let deep = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
        let why = bound_error(&with_html(deep));
        assert!(why.contains("levels") || why.contains("steps"), "{why}");
    }

    #[test]
    fn ordinary_loops_render() {
        let list = "{% for i in range(1000) %}<li>{{ i }} {{ name }}</li>{% endfor %}";
        let r = render(&with_html(list), &serde_json::json!({"name": "x"})).unwrap();
        assert!(r.html.unwrap().ends_with("<li>999 x</li>"));
    }

    #[test]
    fn syntax_errors_are_found_when_saving() {
        let mut t = welcome();
        t.html = Some("<p>{{ name </p>".into());
        let Invalid(errors) = check(&t).unwrap_err();
        assert_eq!(errors[0].field, "html");
        assert!(check(&welcome()).is_ok());
    }
}
