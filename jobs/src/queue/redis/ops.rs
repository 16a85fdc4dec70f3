//! The [`Queue`] operations of [`RedisQueue`]: argument building and reply decoding around the
//! scripts of `scripts.rs`.

use std::time::Duration;

use async_trait::async_trait;
use futures::future::try_join_all;
use redis::Value;

use crate::clock::now_ms;
use crate::ids::{JobId, TenantId};
use crate::queue::{
    AckStatus, Enqueued, JobFilter, JobRecord, JobState, LeaseRef, LeaseStatus, LeaseToken, Leased,
    NewJob, Outcome, Page, Queue, QueueDepth, QueueError, WorkerId,
};

use super::codec::{self, Decoded};
use super::keys::index_member;
use super::scripts::{COMPLETE, ENQUEUE, FETCH, OLDEST_READY, PURGE, RENEW};
use super::wait::{self, Plan};
use super::{Inner, RedisQueue};

/// Most jobs one fetch may lease.
const MAX_FETCH: usize = 1_000;
/// Due delayed jobs promoted per fetch.
const PROMOTE_LIMIT: usize = 1_000;
/// Expired leases reclaimed per fetch.
const RECLAIM_LIMIT: usize = 100;
/// Stale ready entries (cancelled or purged jobs) one fetch may skip.
const SKIP_LIMIT: usize = 1_000;
/// Leases renewed per script call.
const RENEW_CHUNK: usize = 500;
/// Tenants whose ready lists `depth` reads (the gauges sample every few seconds; past this many
/// tenants with ready work the backlog is undercounted rather than the read unbounded).
const DEPTH_TENANTS: usize = 1_000;
/// Jobs one purge call may delete.
const MAX_PURGE: usize = 10_000;
/// Longest stored error message, in bytes.
const MAX_ERROR_LEN: usize = 8 * 1024;

/// A hash reply that must not be empty.
pub(super) fn decoded(v: &Value) -> Result<Decoded, QueueError> {
    codec::decode(v)?.ok_or_else(|| QueueError::Corrupt("job hash vanished".into()))
}

/// An error message cut to [`MAX_ERROR_LEN`] bytes at a character boundary.
fn bounded(error: &str) -> &str {
    if error.len() <= MAX_ERROR_LEN {
        return error;
    }
    let mut end = MAX_ERROR_LEN;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    &error[..end]
}

impl RedisQueue {
    /// The default connection handle (a cheap clone of the shared manager).
    pub(super) fn conn(&self) -> redis::aio::ConnectionManager {
        self.inner.conn.clone()
    }

    /// Sends a just-leased job whose hash cannot be decoded to `dead` (fenced by the token it
    /// was just given), so it is kept for inspection instead of failing every fetch.
    async fn bury(&self, queue: &str, raw: &Value, error: &QueueError) {
        tracing::error!(queue, error = %error, "burying a leased job that cannot be decoded");
        let (Some(id), Some(token)) = (codec::raw_field(raw, "id"), codec::raw_field(raw, "lt"))
        else {
            return;
        };
        let lease = LeaseRef {
            queue: queue.to_owned(),
            id: JobId::from_trusted(id),
            token: LeaseToken(token),
        };
        let dead = Outcome::Dead {
            error: error.to_string(),
        };
        if let Err(e) = self.complete(&lease, dead).await {
            tracing::error!(queue, error = %e, "could not bury an undecodable job");
        }
    }
}

/// The `ENQUEUE` script's keys and arguments for one job.
struct EnqueueCall {
    keys: [String; 5],
    args: Vec<String>,
    state: JobState,
    run_at: i64,
    now: i64,
}

impl EnqueueCall {
    fn to_cmd(&self) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(ENQUEUE.get_hash())
            .arg(self.keys.len())
            .arg(&self.keys[..])
            .arg(&self.args[..]);
        cmd
    }
}

impl RedisQueue {
    /// The `ENQUEUE` script call for `job`.
    fn enqueue_call(&self, job: &NewJob) -> EnqueueCall {
        let keys = self.inner.keys(&job.queue);
        let now = now_ms();
        let run_at = job.run_at.unwrap_or(now);
        let state = if run_at > now {
            JobState::Scheduled
        } else {
            JobState::Queued
        };
        let mut args = vec![
            job.id.as_str().to_owned(),
            state.as_str().to_owned(),
            run_at.to_string(),
            index_member(now, job.id.as_str()),
            job.tenant.as_str().to_owned(),
        ];
        args.extend(codec::encode_new(job, state, run_at, now));
        EnqueueCall {
            keys: [
                keys.job(job.id.as_str()),
                keys.tenant_ready(job.tenant.as_str()),
                keys.delayed(),
                keys.index(job.tenant.as_str()),
                keys.turns(),
            ],
            args,
            state,
            run_at,
            now,
        }
    }
}

/// The enqueue script's reply as the contract's answer.
fn enqueue_reply(
    job: NewJob,
    state: JobState,
    run_at: i64,
    now: i64,
    reply: &Value,
) -> Result<Enqueued, QueueError> {
    if let Value::Int(1) = reply {
        let job = codec::record_of_new(job, state, run_at, now);
        return Ok(Enqueued { job, created: true });
    }
    let existing = decoded(reply)?.record;
    if existing.tenant != job.tenant {
        // The id belongs to another tenant's job: refuse without revealing it.
        return Err(QueueError::InvalidState(existing.state));
    }
    Ok(Enqueued {
        job: existing,
        created: false,
    })
}

#[async_trait]
impl Queue for RedisQueue {
    async fn enqueue(&self, job: NewJob) -> Result<Enqueued, QueueError> {
        self.inner.note_queue(&job.queue);
        let call = self.enqueue_call(&job);
        let reply: Value = ENQUEUE
            .key(&call.keys[..])
            .arg(&call.args[..])
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        enqueue_reply(job, call.state, call.run_at, call.now, &reply)
    }

    /// One pipeline of `EVALSHA` calls (one round trip, each call atomic on its own queue's
    /// keys). If the pipeline fails as a whole (for instance the script cache was flushed by a
    /// Redis restart), the jobs are enqueued one by one, which loads the script; enqueue is
    /// idempotent on the id, so jobs the failed pipeline did store are simply found.
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Vec<Result<Enqueued, QueueError>> {
        if jobs.len() <= 1 {
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                out.push(self.enqueue(job).await);
            }
            return out;
        }
        let mut pipe = redis::pipe();
        let mut calls = Vec::with_capacity(jobs.len());
        for job in &jobs {
            self.inner.note_queue(&job.queue);
            let call = self.enqueue_call(job);
            pipe.add_command(call.to_cmd());
            calls.push(call);
        }
        let mut conn = self.conn();
        let mut sent = pipe.query_async::<Vec<Value>>(&mut conn).await;
        if let Err(e) = &sent
            && e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
        {
            // The script cache was flushed (a Redis restart): load it and send again. Calls
            // of the first pipeline that did run stored their job; enqueue is idempotent.
            sent = match ENQUEUE.load_async(&mut conn).await {
                Ok(_) => pipe.query_async::<Vec<Value>>(&mut conn).await,
                Err(e) => Err(e),
            };
        }
        match sent {
            Ok(replies) if replies.len() == jobs.len() => jobs
                .into_iter()
                .zip(calls)
                .zip(replies)
                .map(|((job, c), reply)| enqueue_reply(job, c.state, c.run_at, c.now, &reply))
                .collect(),
            Ok(replies) => {
                let why = format!("{} replies to {} enqueues", replies.len(), jobs.len());
                jobs.iter()
                    .map(|_| Err(QueueError::Corrupt(why.clone())))
                    .collect()
            }
            Err(e) => {
                let msg = match self.inner.unavailable(e) {
                    QueueError::Unavailable(m) => m,
                    other => other.to_string(),
                };
                jobs.iter()
                    .map(|_| Err(QueueError::Unavailable(msg.clone())))
                    .collect()
            }
        }
    }

    async fn fetch(
        &self,
        queue: &str,
        worker: &WorkerId,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Leased>, QueueError> {
        self.inner.note_queue(queue);
        let keys = self.inner.keys(queue);
        let seed = format!("{:016x}", rand::random::<u64>());
        let reply: Value = FETCH
            .key(keys.ready())
            .key(keys.delayed())
            .key(keys.leased())
            .key(keys.expire())
            .key(keys.turns())
            .key(keys.running())
            .arg(keys.job_prefix())
            .arg(keys.tenant_ready_prefix())
            .arg(max.min(MAX_FETCH))
            .arg(Inner::ms(lease))
            .arg(&worker.0)
            .arg(Inner::ms(self.inner.retention.cancelled))
            .arg(seed)
            .arg(PROMOTE_LIMIT)
            .arg(RECLAIM_LIMIT)
            .arg(SKIP_LIMIT)
            .arg(self.inner.tenant_concurrency)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        let mut leased = Vec::new();
        for item in codec::as_array(&reply)? {
            match decoded(item) {
                Ok(Decoded {
                    record,
                    lease_token: Some(token),
                    bury,
                }) => {
                    let lease = LeaseRef {
                        queue: queue.to_owned(),
                        id: record.id.clone(),
                        token: LeaseToken(token),
                    };
                    leased.push(Leased {
                        job: record,
                        lease,
                        bury,
                    });
                }
                // A poison record must not fail the batch nor come back forever: bury it.
                Ok(Decoded { record, .. }) => {
                    tracing::error!(queue, id = %record.id, "leased job has no lease token");
                }
                Err(e) => self.bury(queue, item, &e).await,
            }
        }
        Ok(leased)
    }

    async fn wait_for_work(&self, queue: &str, timeout: Duration) -> Result<(), QueueError> {
        let keys = self.inner.keys(queue);
        let turns = keys.turns();
        let mut pipe = redis::pipe();
        pipe.cmd("TIME");
        // Tenants with ready jobs, and what an older version left in the legacy list.
        pipe.cmd("LLEN").arg(&turns);
        pipe.cmd("LLEN").arg(keys.ready());
        pipe.cmd("ZRANGE")
            .arg(keys.delayed())
            .arg(0)
            .arg(0)
            .arg("WITHSCORES");
        pipe.cmd("ZRANGE")
            .arg(keys.leased())
            .arg(0)
            .arg(0)
            .arg("WITHSCORES");
        type Probe = ((i64, i64), i64, i64, Vec<(String, f64)>, Vec<(String, f64)>);
        let blocking = &self.inner.blocking;
        let probe: Result<Probe, _> = pipe.query_async(&mut self.conn()).await;
        let result = match probe {
            Ok(((secs, micros), tenants, legacy, delayed, leased)) => {
                let len = tenants + legacy;
                let first = |v: &[(String, f64)]| v.first().map(|(_, s)| *s);
                // Due times are the server's: compare them with its clock, not this host's.
                let now = secs * 1000 + micros / 1000;
                match wait::plan(now, timeout, len, first(&delayed), first(&leased)) {
                    Plan::Now => Ok(()),
                    Plan::Block(wait) => blocking.wait_non_empty(&turns, wait).await,
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                blocking.succeeded();
                Ok(())
            }
            Err(e) => {
                blocking.back_off(timeout).await;
                Err(self.inner.unavailable(e))
            }
        }
    }

    async fn renew(
        &self,
        leases: &[LeaseRef],
        lease: Duration,
    ) -> Result<Vec<LeaseStatus>, QueueError> {
        let lease_ms = Inner::ms(lease);
        // Group by queue, keeping each lease's position for the answer.
        let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, l) in leases.iter().enumerate() {
            match groups.iter_mut().find(|(q, _)| *q == l.queue) {
                Some((_, idx)) => idx.push(i),
                None => groups.push((&l.queue, vec![i])),
            }
        }
        let calls = groups.iter().flat_map(|(queue, idx)| {
            let keys = self.inner.keys(queue);
            idx.chunks(RENEW_CHUNK).map(move |chunk| {
                let mut inv = RENEW.key(keys.leased());
                inv.arg(keys.job_prefix()).arg(lease_ms);
                for &i in chunk {
                    inv.arg(leases[i].id.as_str()).arg(&leases[i].token.0);
                }
                let mut conn = self.conn();
                async move {
                    let reply: Vec<i64> = inv.invoke_async(&mut conn).await?;
                    Ok::<_, redis::RedisError>((chunk, reply))
                }
            })
        });
        let answers = try_join_all(calls)
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        let mut statuses = vec![LeaseStatus::Lost; leases.len()];
        for (chunk, reply) in answers {
            for (&i, answer) in chunk.iter().zip(reply) {
                statuses[i] = match answer {
                    1 => LeaseStatus::Held,
                    2 => LeaseStatus::CancelRequested,
                    _ => LeaseStatus::Lost,
                };
            }
        }
        Ok(statuses)
    }

    async fn complete(&self, lease: &LeaseRef, outcome: Outcome) -> Result<AckStatus, QueueError> {
        let keys = self.inner.keys(&lease.queue);
        let retention = &self.inner.retention;
        let (kind, error, after) = match &outcome {
            Outcome::Succeeded => ("succeeded", "", Inner::ms(retention.succeeded)),
            Outcome::Retry { error, delay } => ("retry", bounded(error), Inner::ms(*delay)),
            Outcome::Dead { error } => ("dead", bounded(error), Inner::ms(retention.dead)),
            Outcome::Released => ("released", "", 0),
            Outcome::Deferred { delay } => ("deferred", "", Inner::ms(*delay)),
            Outcome::Cancelled { reason } => {
                ("cancelled", bounded(reason), Inner::ms(retention.cancelled))
            }
        };
        let applied: i64 = COMPLETE
            .key(keys.job(lease.id.as_str()))
            .key(keys.turns())
            .key(keys.delayed())
            .key(keys.leased())
            .key(keys.expire())
            .key(keys.running())
            .arg(lease.id.as_str())
            .arg(&lease.token.0)
            .arg(Inner::ms(retention.cancelled))
            .arg(kind)
            .arg(error)
            .arg(after)
            .arg(keys.tenant_ready_prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        Ok(match applied {
            1 => AckStatus::Applied,
            2 => AckStatus::Cancelled,
            _ => AckStatus::Stale,
        })
    }

    async fn get(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>, QueueError> {
        self.get_job(tenant, id).await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<JobRecord>, QueueError> {
        self.list_jobs(tenant, filter, cursor, limit).await
    }

    async fn retry_dead(&self, tenant: &TenantId, id: &JobId) -> Result<JobRecord, QueueError> {
        self.retry_dead_job(tenant, id).await
    }

    async fn cancel(&self, tenant: &TenantId, id: &JobId) -> Result<JobRecord, QueueError> {
        self.cancel_job(tenant, id).await
    }

    async fn purge_expired(&self, queue: &str, max: usize) -> Result<usize, QueueError> {
        let keys = self.inner.keys(queue);
        let deleted: i64 = PURGE
            .key(keys.expire())
            .arg(keys.job_prefix())
            .arg(keys.index_prefix())
            .arg(0)
            .arg(max.min(MAX_PURGE))
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        Ok(usize::try_from(deleted).unwrap_or(0))
    }

    async fn ping(&self) -> Result<(), QueueError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn())
            .await
            .map(|_| ())
            .map_err(|e| self.inner.unavailable(e))
    }

    /// Three O(log n) reads in one pipeline, then the ready lists' lengths and the oldest
    /// runnable job's age (one script, over the first [`DEPTH_TENANTS`] tenants of the ring).
    /// `ready` may include a few cancelled jobs whose stale entries fetch has not skipped yet.
    async fn depth(&self, queue: &str) -> Result<Option<QueueDepth>, QueueError> {
        let keys = self.inner.keys(queue);
        let now = now_ms();
        let (due, delayed, running): (u64, u64, u64) = redis::pipe()
            .zcount(keys.delayed(), "-inf", now)
            .zcount(keys.delayed(), format!("({now}"), "+inf")
            .zcard(keys.leased())
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        let (oldest, ready): (i64, u64) = OLDEST_READY
            .key(keys.ready())
            .key(keys.delayed())
            .key(keys.turns())
            .arg(keys.job_prefix())
            .arg(keys.tenant_ready_prefix())
            .arg(DEPTH_TENANTS)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.inner.unavailable(e))?;
        Ok(Some(QueueDepth {
            ready: ready + due,
            delayed,
            running,
            oldest_ready_age_ms: u64::try_from(oldest).ok(),
        }))
    }
}
