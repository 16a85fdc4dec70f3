//! A client's schedule settings, parsed into trusted types with every field error at once
//! (`422` naming `cron`, `timezone`, `recipients[2]`, …). Creation and changes share the rules.

use chrono_tz::Tz;

use super::cron::CronExpr;
use super::model::{MissedRuns, PeriodKind};
use crate::reports::model::ReportKind;
use crate::tasks::input::{RequestInput, TaskInput};
use crate::tasks::model::TaskTemplate;
use crate::validation::parse_timezone;
use crate::validation::{FieldError, Invalid};

/// Longest schedule name.
pub const MAX_NAME: usize = 200;
/// Most recipients per schedule.
pub const MAX_RECIPIENTS: usize = 50;

/// Settings as received; every field optional (a change sends only what changes).
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub report: Option<(ReportKind, PeriodKind)>,
    pub recipients: Option<Vec<String>>,
    /// An HTTP task each run creates, instead of a report.
    pub task: Option<TaskTemplateInput>,
    pub missed_runs: Option<MissedRuns>,
    pub enabled: Option<bool>,
}

/// A task schedule's template as received: the fields of a task that do not change per run.
#[derive(Debug, Clone, Default)]
pub struct TaskTemplateInput {
    pub queue: Option<String>,
    pub http_request: Option<RequestInput>,
    pub dispatch_deadline: Option<String>,
}

impl TaskTemplateInput {
    /// Checks it as a task would be, naming fields under `task.`.
    fn parse(self) -> Result<TaskTemplate, Invalid> {
        let parsed = TaskInput {
            queue: self.queue,
            name: None,
            http_request: self.http_request,
            schedule_time: None,
            dispatch_deadline: self.dispatch_deadline,
        }
        .parse()
        .map_err(|Invalid(errors)| {
            Invalid(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = format!("task.{}", e.field);
                        e
                    })
                    .collect(),
            )
        })?;
        Ok(TaskTemplate {
            queue: parsed.queue,
            request: parsed.request,
        })
    }
}

/// Settings after parsing: only what was given, each field trusted.
#[derive(Debug, Clone, Default)]
pub struct ParsedInput {
    pub name: Option<String>,
    pub cron: Option<CronExpr>,
    pub timezone: Option<Tz>,
    pub report: Option<(ReportKind, PeriodKind)>,
    pub recipients: Option<Vec<String>>,
    pub task: Option<TaskTemplate>,
    pub missed_runs: Option<MissedRuns>,
    pub enabled: Option<bool>,
}

/// A plausible address: `local@domain.tld`, no spaces, at most 254 characters.
pub fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && s.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'))
}

impl ScheduleInput {
    /// Parses what was given; `required` names fields that must be present (creation).
    pub fn parse(self, required: bool) -> Result<ParsedInput, Invalid> {
        let mut errors = Vec::new();
        let mut missing = |field: &str, present: bool| {
            if required && !present {
                errors.push(FieldError::new(field, "is required"));
            }
        };
        missing("name", self.name.is_some());
        missing("cron", self.cron.is_some());
        if required && self.report.is_none() && self.task.is_none() {
            errors.push(FieldError::new("report", "is required (or `task`)"));
        }
        if self.report.is_some() && self.task.is_some() {
            errors.push(FieldError::new(
                "task",
                "give either report or task, not both",
            ));
        }
        if self.task.is_some() && self.recipients.is_some() {
            errors.push(FieldError::new(
                "recipients",
                "only report schedules have recipients",
            ));
        }
        let task = match self.task.map(TaskTemplateInput::parse) {
            Some(Ok(t)) => Some(t),
            Some(Err(Invalid(e))) => {
                errors.extend(e);
                None
            }
            None => None,
        };
        let name = self.name.map(|n| n.trim().to_owned());
        if let Some(n) = &name
            && (n.is_empty() || n.chars().count() > MAX_NAME)
        {
            errors.push(FieldError::new(
                "name",
                format!("must be 1 to {MAX_NAME} characters"),
            ));
        }
        let cron = match self.cron.as_deref().map(str::parse::<CronExpr>) {
            Some(Ok(c)) => Some(c),
            Some(Err(why)) => {
                errors.push(FieldError::new("cron", why));
                None
            }
            None => None,
        };
        let timezone = match self.timezone.as_deref().map(|z| parse_timezone(z.trim())) {
            Some(Ok(tz)) => Some(tz),
            Some(Err(why)) => {
                errors.push(FieldError::new("timezone", why));
                None
            }
            None => None,
        };
        if let Some(c) = &cron
            && c.next_after(timezone.unwrap_or(Tz::UTC), crate::clock::now())
                .is_none()
        {
            errors.push(FieldError::new("cron", "never fires (no date matches it)"));
        }
        let recipients = self.recipients.map(|list| {
            list.into_iter()
                .map(|r| r.trim().to_owned())
                .collect::<Vec<_>>()
        });
        if let Some(list) = &recipients {
            if list.len() > MAX_RECIPIENTS {
                errors.push(FieldError::new(
                    "recipients",
                    format!("at most {MAX_RECIPIENTS} addresses"),
                ));
            }
            for (i, r) in list.iter().enumerate() {
                if !plausible_email(r) {
                    errors.push(FieldError::new(
                        format!("recipients[{i}]"),
                        "must be an email address like name@example.com",
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(Invalid(errors));
        }
        Ok(ParsedInput {
            name,
            cron,
            timezone,
            report: self.report,
            recipients,
            task,
            missed_runs: self.missed_runs,
            enabled: self.enabled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(input: ScheduleInput, required: bool) -> Vec<String> {
        match input.parse(required) {
            Ok(_) => vec![],
            Err(Invalid(e)) => e.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = ScheduleInput {
            name: Some(" ".into()),
            cron: Some("61 * * * *".into()),
            timezone: Some("Mars/Olympus".into()),
            recipients: Some(vec!["ok@example.com".into(), "nope".into()]),
            ..Default::default()
        };
        assert_eq!(
            fields(bad, true),
            ["report", "name", "cron", "timezone", "recipients[1]"]
        );
        assert_eq!(
            fields(ScheduleInput::default(), true),
            ["name", "cron", "report"]
        );
        assert!(fields(ScheduleInput::default(), false).is_empty());
        let never = ScheduleInput {
            cron: Some("0 0 31 2 *".into()),
            ..Default::default()
        };
        assert_eq!(fields(never, false), ["cron"]);
    }
}
