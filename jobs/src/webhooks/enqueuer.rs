//! Enqueueing the apply jobs of rows intake committed, merging consecutive insert batches.

use tokio::sync::mpsc;

use super::Hooks;
use crate::ids::{TenantId, WebhookEventId};
use crate::intent::{Intent, Next};

/// New rows of one tenant that Longshore acts on, committed by one insert, waiting for their
/// apply job.
pub(super) struct Stored {
    pub tenant: TenantId,
    pub events: Vec<WebhookEventId>,
    pub request_id: Option<String>,
}

/// Committed batches waiting for the enqueuer, at most.
pub(super) const DEPTH: usize = 64;
/// Longest wait for more committed rows before enqueueing, while intake is busy.
const LINGER: std::time::Duration = std::time::Duration::from_millis(5);

/// Enqueues the apply jobs of committed rows, merging the rows of consecutive insert batches
/// into one job per tenant (up to [`Intent::MAX_EVENTS_PER_APPLY`] rows).
///
/// Each job costs the queue an enqueue, a fetch and an acknowledgement, and the worker a job
/// run, whatever its size; under load the inserts are small (a few dozen rows, as many as the
/// requests in flight), so merging several cuts that cost per event several times. It waits for
/// more rows only while intake is busy (rows came in less than [`LINGER`] after the previous
/// round), so a lone delivery is enqueued at once. A row whose enqueue fails, or that is still
/// waiting here when the process stops, stays `received`: the sweeper enqueues it.
pub(super) async fn run(hooks: Hooks, mut stored: mpsc::Receiver<Stored>) {
    // When the previous round finished gathering.
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        let mut got: Vec<Stored> = Vec::new();
        if stored.recv_many(&mut got, DEPTH).await == 0 {
            return;
        }
        let now = tokio::time::Instant::now();
        let busy = last.is_some_and(|t| now - t < LINGER);
        if busy {
            let deadline = now + LINGER;
            let mut rows: usize = got.iter().map(|s| s.events.len()).sum();
            while rows < Intent::MAX_EVENTS_PER_APPLY {
                match tokio::time::timeout_at(deadline, stored.recv()).await {
                    Ok(Some(s)) => {
                        rows += s.events.len();
                        got.push(s);
                    }
                    _ => break,
                }
            }
        }
        last = Some(tokio::time::Instant::now());
        let intents = merge(&got)
            .into_iter()
            .map(|s| {
                Next::new(
                    &s.tenant,
                    Intent::ApplyEvents { events: s.events },
                    s.request_id,
                )
            })
            .collect::<Vec<_>>();
        for r in hooks.out.dispatch_many(intents).await {
            if let Err(e) = r {
                // Stored durably: the sweeper enqueues each row once the queue is back.
                tracing::warn!(error = %e, "enqueue after intake failed; the sweeper will retry");
            }
        }
    }
}

/// One entry per tenant and job: the rows of each tenant in arrival order, split into jobs of
/// at most [`Intent::MAX_EVENTS_PER_APPLY`] rows; each job keeps the request id of its first row.
pub(super) fn group<'a>(
    rows: impl IntoIterator<Item = (&'a TenantId, &'a WebhookEventId, Option<&'a String>)>,
) -> Vec<Stored> {
    let mut jobs: Vec<Stored> = Vec::new();
    for (tenant, event, request_id) in rows {
        let open = jobs
            .iter_mut()
            .rev()
            .find(|j| &j.tenant == tenant)
            .filter(|j| j.events.len() < Intent::MAX_EVENTS_PER_APPLY);
        match open {
            Some(j) => j.events.push(event.clone()),
            None => jobs.push(Stored {
                tenant: tenant.clone(),
                events: vec![event.clone()],
                request_id: request_id.cloned(),
            }),
        }
    }
    jobs
}

/// [`group`] over the rows of several committed batches.
fn merge(got: &[Stored]) -> Vec<Stored> {
    group(got.iter().flat_map(|s| {
        s.events
            .iter()
            .map(move |e| (&s.tenant, e, s.request_id.as_ref()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(tenant: &TenantId, n: usize) -> Stored {
        Stored {
            tenant: tenant.clone(),
            events: (0..n).map(|_| WebhookEventId::new()).collect(),
            request_id: None,
        }
    }

    #[test]
    fn merging_keeps_each_tenants_rows_in_order_in_jobs_of_at_most_the_job_limit() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let got = vec![
            stored(&a, 100),
            stored(&b, 3),
            stored(&a, 60),
            stored(&b, 2),
        ];
        let order: Vec<(TenantId, WebhookEventId)> = got
            .iter()
            .flat_map(|s| s.events.iter().map(|e| (s.tenant.clone(), e.clone())))
            .collect();
        let jobs = merge(&got);

        let sizes: Vec<(bool, usize)> = jobs
            .iter()
            .map(|j| (j.tenant == a, j.events.len()))
            .collect();
        assert_eq!(sizes, vec![(true, 128), (false, 5), (true, 32)]);
        for tenant in [&a, &b] {
            let merged: Vec<&WebhookEventId> = jobs
                .iter()
                .filter(|j| &j.tenant == tenant)
                .flat_map(|j| &j.events)
                .collect();
            let arrived: Vec<&WebhookEventId> = order
                .iter()
                .filter(|(t, _)| t == tenant)
                .map(|(_, e)| e)
                .collect();
            assert_eq!(merged, arrived, "every row once, in arrival order");
        }
    }
}
