//! What an attempt's answer means, as the README documents it for the apps that receive
//! tasks: any 2xx is done; `429` or `503` with `Retry-After` is "come back then" (capped at a
//! day) and slows the whole queue meanwhile; `489` is "do not retry" (the task ends `dead`
//! now); everything else (other statuses, timeouts, connection errors) is retried by the
//! queue's policy. A destination the operator does not allow is never retried.

use std::time::Duration;

/// The status an app answers to stop retrying a task (no standard status says that; 489 is
/// unassigned and easy to return from any framework).
pub const DO_NOT_RETRY: u16 = 489;

/// How an attempt ended, before the queue's policy is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Delivered.
    Done,
    /// The app asked to be called again after this long (and the queue should slow down).
    ComeBackAfter { delay: Duration, why: String },
    /// Retry per the queue's policy.
    Retry { why: String },
    /// Never retry.
    Stop { why: String },
}

/// What an answer's status and `Retry-After` mean.
pub fn judge(status: u16, retry_after: Option<Duration>) -> Verdict {
    match status {
        200..=299 => Verdict::Done,
        DO_NOT_RETRY => Verdict::Stop {
            why: format!("the endpoint answered {DO_NOT_RETRY}: do not retry"),
        },
        429 | 503 => match retry_after {
            Some(delay) => Verdict::ComeBackAfter {
                // Already capped at a day by the client (`outbound::response`).
                delay,
                why: format!("the endpoint answered {status} with Retry-After"),
            },
            None => Verdict::Retry {
                why: format!("the endpoint answered {status}"),
            },
        },
        other => Verdict::Retry {
            why: format!("the endpoint answered {other}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_grammar() {
        assert_eq!(judge(200, None), Verdict::Done);
        assert_eq!(judge(204, Some(Duration::from_secs(5))), Verdict::Done);
        assert!(matches!(judge(489, None), Verdict::Stop { .. }));
        assert!(matches!(judge(500, None), Verdict::Retry { .. }));
        assert!(matches!(judge(429, None), Verdict::Retry { .. }));
        assert!(matches!(judge(302, None), Verdict::Retry { .. }));
        assert_eq!(
            judge(503, Some(Duration::from_secs(3))),
            Verdict::ComeBackAfter {
                delay: Duration::from_secs(3),
                why: "the endpoint answered 503 with Retry-After".into()
            }
        );
    }
}
