//! End-to-end tests: the real binaries, over HTTP, on both deployments.

mod admin;
mod bad_input;
mod cancel;
mod cancel_running;
mod chains;
mod clock_skew;
mod crash_recovery;
mod dashboard;
mod documents;
mod email;
mod embedded;
mod events;
mod fairness;
mod http_tasks;
mod idempotency;
mod lifecycle;
mod metrics;
mod openapi;
mod payments;
mod payments_ledger;
mod public_limits;
mod queue_data_loss;
mod reports;
mod request_limits;
mod rolling_restart;
mod schedules;
mod secrets_in_logs;
mod tenancy;
mod webhooks;

/// Expands to one `#[tokio::test]` per mode, calling `$body(mode)`.
#[macro_export]
macro_rules! in_both_modes {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$body(longshore_tests::Mode::Embedded).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn production() {
                super::$body(longshore_tests::Mode::Production).await
            }
        }
    };
}
