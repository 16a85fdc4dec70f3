//! HTTP tasks: the tenant's own work, any language. Longshore calls the tenant's endpoint with
//! the task's request, with Cloud Tasks' contract (named queues with retry and rate settings,
//! named tasks, dispatch deadlines, the answer deciding) and its own queue's guarantees
//! (recorded before enqueued, leases, fenced acks, nothing deleted when it dies).
//!
//! - [`model`]: queues, tasks, attempts; [`policy`]: the retry arithmetic; [`input`]: what
//!   clients send, checked; [`response`]: what an answer means;
//! - [`service`]: what the API does; [`deliver`]: one attempt, in a worker;
//! - [`queues`], [`repo`], [`signing_keys`]: the tables.

pub mod deliver;
pub mod input;
pub mod model;
pub mod policy;
pub mod queues;
pub mod repo;
pub mod response;
pub mod service;
pub mod signing_keys;

pub use deliver::Couriers;
pub use service::TasksError;
