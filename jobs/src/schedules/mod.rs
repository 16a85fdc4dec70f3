//! Schedules: cron expressions in a time zone that produce periodic reports.
//!
//! Where to start: [`cron`] (parsing and the pure next-time function, with the daylight-saving
//! rules in its doc), [`model`], [`input`] (the `422` rules), [`service`] (what the API calls),
//! [`period`] (what a run reports on) and [`repo`] (SQL). The loop that fires schedules is
//! [`crate::scheduler`].

pub mod cron;
#[cfg(test)]
mod cron_props;
pub mod input;
pub mod model;
pub mod period;
pub mod repo;
pub mod service;
