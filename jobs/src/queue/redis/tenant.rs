//! The tenant-facing operations that name a job but not its queue (`get`, `list`,
//! `retry_dead`, `cancel`): each asks every known queue at once (one command or script per
//! queue, concurrently on the multiplexed connection, so one round trip) and merges the answers.
//! Every script still touches one queue's keys only.

use futures::future::try_join_all;
use redis::Value;

use crate::ids::{JobId, TenantId};
use crate::queue::{JobFilter, JobRecord, JobState, Page, QueueError};

use super::codec;
use super::keys::decode_cursor;
use super::list::{self, QueueScan};
use super::ops::decoded;
use super::scripts::{CANCEL, LIST, RETRY_DEAD};
use super::{Inner, RedisQueue};

/// Index members scanned per queue per `list` call, as a multiple of the page size.
const LIST_SCAN_FACTOR: usize = 10;

/// The answer of `cancel`/`retry_dead` scripts run on every queue: the first queue that knows
/// the job decides.
fn first_answer(replies: &[Value]) -> Result<JobRecord, QueueError> {
    for reply in replies {
        match reply {
            Value::Int(0) => continue,
            Value::Array(_) | Value::Map(_) => {
                return decoded(reply).map(|d| d.record);
            }
            other => {
                let state = codec::as_str(other)?;
                let state = state.parse().map_err(QueueError::Corrupt)?;
                return Err(QueueError::InvalidState(state));
            }
        }
    }
    Err(QueueError::NotFound)
}

impl RedisQueue {
    /// Runs `script` on every known queue at once and returns the replies in queue order.
    async fn each_queue<F>(&self, build: F) -> Result<Vec<Value>, QueueError>
    where
        F: Fn(&Inner, &str) -> redis::ScriptInvocation<'static>,
    {
        let queues = self.inner.queues();
        let calls = queues.iter().map(|q| {
            let invocation = build(&self.inner, q);
            let mut conn = self.conn();
            async move { invocation.invoke_async::<Value>(&mut conn).await }
        });
        try_join_all(calls)
            .await
            .map_err(|e| self.inner.unavailable(e))
    }

    /// [`Queue::get`](crate::queue::Queue::get): one pipelined HGETALL per known queue.
    pub(super) async fn get_job(
        &self,
        tenant: &TenantId,
        id: &JobId,
    ) -> Result<Option<JobRecord>, QueueError> {
        let queues = self.inner.queues();
        if queues.is_empty() {
            return Ok(None);
        }
        let mut pipe = redis::pipe();
        for q in queues {
            pipe.cmd("HGETALL")
                .arg(self.inner.keys(&q).job(id.as_str()));
        }
        let replies: Vec<Value> = pipe
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        for reply in &replies {
            if let Some(d) = codec::decode(reply)?
                && d.record.tenant == *tenant
            {
                return Ok(Some(d.record));
            }
        }
        Ok(None)
    }

    /// [`Queue::list`](crate::queue::Queue::list): a bounded index scan per queue, merged.
    pub(super) async fn list_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<JobRecord>, QueueError> {
        let limit = limit.clamp(1, 100);
        let start = match cursor {
            None => "+".to_owned(),
            Some(c) => {
                let member = decode_cursor(c).ok_or(QueueError::InvalidCursor)?;
                format!("({member}")
            }
        };
        let state = filter.state.map(JobState::as_str).unwrap_or("");
        let job_type = filter.job_type.clone().unwrap_or_default();
        let replies = self
            .each_queue(|inner, q| {
                let keys = inner.keys(q);
                let mut inv = LIST.key(keys.index(tenant.as_str()));
                inv.arg(keys.job_prefix())
                    .arg(&start)
                    .arg(limit * LIST_SCAN_FACTOR)
                    .arg(limit + 1)
                    .arg(state)
                    .arg(&job_type)
                    .arg(tenant.as_str());
                inv
            })
            .await?;
        let mut scans = Vec::with_capacity(replies.len());
        for reply in &replies {
            let parts = codec::as_array(reply)?;
            let [exhausted, last, rest @ ..] = parts else {
                return Err(QueueError::Corrupt("short list reply".into()));
            };
            let mut matches = Vec::with_capacity(rest.len() / 2);
            for pair in rest.chunks(2) {
                if let [member, hash] = pair {
                    matches.push((codec::as_str(member)?.to_owned(), decoded(hash)?.record));
                }
            }
            scans.push(QueueScan {
                exhausted: codec::as_int(exhausted)? == 1,
                last: codec::as_str(last)?.to_owned(),
                matches,
            });
        }
        Ok(list::merge(scans, limit))
    }

    /// [`Queue::retry_dead`](crate::queue::Queue::retry_dead), tried on every known queue.
    pub(super) async fn retry_dead_job(
        &self,
        tenant: &TenantId,
        id: &JobId,
    ) -> Result<JobRecord, QueueError> {
        let replies = self
            .each_queue(|inner, q| {
                let keys = inner.keys(q);
                let mut inv = RETRY_DEAD.key(keys.job(id.as_str()));
                inv.key(keys.turns()).key(keys.expire());
                inv.arg(id.as_str())
                    .arg(tenant.as_str())
                    .arg(keys.tenant_ready_prefix());
                inv
            })
            .await?;
        first_answer(&replies)
    }

    /// [`Queue::cancel`](crate::queue::Queue::cancel), tried on every known queue.
    pub(super) async fn cancel_job(
        &self,
        tenant: &TenantId,
        id: &JobId,
    ) -> Result<JobRecord, QueueError> {
        let retention = Inner::ms(self.inner.retention.cancelled);
        let replies = self
            .each_queue(|inner, q| {
                let keys = inner.keys(q);
                let mut inv = CANCEL.key(keys.job(id.as_str()));
                inv.key(keys.delayed()).key(keys.expire());
                inv.arg(id.as_str()).arg(tenant.as_str()).arg(retention);
                inv
            })
            .await?;
        first_answer(&replies)
    }
}
