//! Delivering events: the loop every worker runs.

use std::sync::LazyLock;

use tokio::sync::Notify;

/// Wakes this process's courier when it records events.
static RECORDED: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Tells this process's courier that events were recorded (it looks after a short pause, so
/// the recording transaction has committed by then).
pub fn wake() {
    RECORDED.notify_one();
}
