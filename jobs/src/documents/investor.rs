//! Investor-update data: a company's letter for a period, with KPIs and sections of plain
//! paragraphs that wrap and flow onto as many pages as they need (within limits).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fields::Checker;

/// Longest short text (company, period, KPI parts, headings), in characters.
pub const MAX_SHORT: usize = 200;
/// Most KPIs.
pub const MAX_KPIS: usize = 40;
/// Most sections.
pub const MAX_SECTIONS: usize = 60;
/// Longest section body, in characters.
pub const MAX_BODY: usize = 20_000;
/// Longest total of all bodies, in characters (keeps documents within the page limit).
pub const MAX_TOTAL_BODY: usize = 100_000;

/// An investor-update letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct InvestorUpdateData {
    /// The company writing, up to 200 characters.
    pub company: String,
    /// The period covered, e.g. `Q3 2026`, up to 200 characters.
    pub period: String,
    /// The letter's date (`YYYY-MM-DD`), printed and used as the PDF's creation date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_on: Option<NaiveDate>,
    /// Key figures, shown as a table (up to 40).
    #[serde(default)]
    pub kpis: Vec<Kpi>,
    /// The letter's sections, in order (1 to 60).
    pub sections: Vec<Section>,
}

/// A key figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct Kpi {
    /// What is measured, e.g. `ARR`.
    pub name: String,
    /// The value as it should be printed, e.g. `$1.2M`.
    pub value: String,
    /// The change as it should be printed, e.g. `+12% QoQ`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// A section of the letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// The heading, up to 200 characters.
    pub heading: String,
    /// Plain text; blank lines separate paragraphs. Up to 20,000 characters.
    pub body: String,
}

impl InvestorUpdateData {
    /// Field checks beyond the types; field names are relative to the data object.
    pub fn check(&self, c: &mut Checker) {
        c.line("company", &self.company, MAX_SHORT);
        c.line("period", &self.period, MAX_SHORT);
        if c.count("kpis", self.kpis.len(), 0, MAX_KPIS) {
            for (i, k) in self.kpis.iter().enumerate() {
                c.line(&format!("kpis[{i}].name"), &k.name, MAX_SHORT);
                c.line(&format!("kpis[{i}].value"), &k.value, MAX_SHORT);
                c.optional_line(&format!("kpis[{i}].change"), k.change.as_deref(), MAX_SHORT);
            }
        }
        if c.count("sections", self.sections.len(), 1, MAX_SECTIONS) {
            let mut total = 0;
            for (i, s) in self.sections.iter().enumerate() {
                c.line(&format!("sections[{i}].heading"), &s.heading, MAX_SHORT);
                c.paragraphs(&format!("sections[{i}].body"), &s.body, MAX_BODY);
                total += s.body.chars().count();
            }
            if total > MAX_TOTAL_BODY {
                c.fail(
                    "sections",
                    format!("the bodies total {total} characters; at most {MAX_TOTAL_BODY}"),
                );
            }
        }
    }
}
