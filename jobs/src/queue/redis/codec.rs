//! The job hash: short field names (one hash per job, so names are stored once per job) and
//! conversion between Redis replies and [`JobRecord`].
//!
//! | field | JobRecord     | field | JobRecord                         |
//! |-------|---------------|-------|-----------------------------------|
//! | `id`  | id            | `ca`  | created_at (ms)                   |
//! | `tn`  | tenant        | `ua`  | updated_at (ms)                   |
//! | `ty`  | job_type      | `sa`  | started_at (ms, optional)         |
//! | `q`   | queue         | `fa`  | finished_at (ms, optional)        |
//! | `p`   | payload JSON  | `le`  | last_error (optional)             |
//! | `s`   | state name    | `ri`  | request_id (optional)             |
//! | `a`   | attempts      | `w`   | worker (optional)                 |
//! | `ma`  | max_attempts  | `lt`  | lease token (while running)       |
//! | `ra`  | run_at (ms)   | `lu`  | lease expiry, ms (while running)  |
//! |       |               | `bu`  | burial reason (leased for burial) |
//! |       |               | `cr`  | cancel_requested_at (ms, optional)|
//!
//! Optional fields are absent rather than empty. The Lua scripts use the same names.

use redis::Value;

use crate::ids::{JobId, TenantId};
use crate::queue::{JobRecord, JobState, NewJob, QueueError};

/// A decoded job hash: the record plus the lease fields the record type does not carry.
#[derive(Debug)]
pub(super) struct Decoded {
    pub(super) record: JobRecord,
    pub(super) lease_token: Option<String>,
    /// Why the job is leased for burial (`bu`; see [`crate::queue::Leased::bury`]).
    pub(super) bury: Option<String>,
}

/// The field/value pairs of a new job's hash (flattened, ready for HSET).
pub(super) fn encode_new(job: &NewJob, state: JobState, run_at: i64, now: i64) -> Vec<String> {
    let mut out = Vec::with_capacity(30);
    let mut put = |f: &str, v: String| {
        out.push(f.to_owned());
        out.push(v);
    };
    put("id", job.id.as_str().to_owned());
    put("tn", job.tenant.as_str().to_owned());
    put("ty", job.job_type.clone());
    put("q", job.queue.clone());
    put("p", job.payload.to_string());
    put("s", state.as_str().to_owned());
    put("a", "0".to_owned());
    put("ma", job.max_attempts.to_string());
    put("ra", run_at.to_string());
    put("ca", now.to_string());
    put("ua", now.to_string());
    if let Some(r) = &job.request_id {
        put("ri", r.clone());
    }
    out
}

/// The record a fresh enqueue stored (what [`encode_new`] wrote), without a round trip.
pub(super) fn record_of_new(job: NewJob, state: JobState, run_at: i64, now: i64) -> JobRecord {
    JobRecord {
        id: job.id,
        tenant: job.tenant,
        job_type: job.job_type,
        queue: job.queue,
        payload: job.payload,
        state,
        attempts: 0,
        max_attempts: job.max_attempts,
        run_at,
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
        last_error: None,
        request_id: job.request_id,
        worker: None,
        cancel_requested_at: None,
    }
}

/// Decodes an HGETALL reply (flat array, or a map under RESP3). `None` for an empty reply
/// (no such hash).
pub(super) fn decode(value: &Value) -> Result<Option<Decoded>, QueueError> {
    let mut f = Fields::default();
    match value {
        Value::Array(items) if items.is_empty() => return Ok(None),
        Value::Map(pairs) if pairs.is_empty() => return Ok(None),
        Value::Nil => return Ok(None),
        Value::Array(items) => {
            for pair in items.chunks(2) {
                if let [k, v] = pair {
                    f.set(as_bytes(k)?, as_bytes(v)?)?;
                }
            }
        }
        Value::Map(pairs) => {
            for (k, v) in pairs {
                f.set(as_bytes(k)?, as_bytes(v)?)?;
            }
        }
        other => return Err(corrupt(format!("expected a hash, got {other:?}"))),
    }
    f.finish().map(Some)
}

/// One field of a raw HGETALL reply, read without decoding the rest (for damaged records).
pub(super) fn raw_field(value: &Value, name: &str) -> Option<String> {
    let items = match value {
        Value::Array(items) => items,
        _ => return None,
    };
    items.chunks(2).find_map(|pair| match pair {
        [k, v] if as_bytes(k).ok()? == name.as_bytes() => as_str(v).ok().map(str::to_owned),
        _ => None,
    })
}

/// Bytes of a string reply.
pub(super) fn as_bytes(v: &Value) -> Result<&[u8], QueueError> {
    match v {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.as_bytes()),
        other => Err(corrupt(format!("expected a string, got {other:?}"))),
    }
}

/// UTF-8 text of a string reply.
pub(super) fn as_str(v: &Value) -> Result<&str, QueueError> {
    std::str::from_utf8(as_bytes(v)?).map_err(|_| corrupt("text is not UTF-8".into()))
}

/// The elements of an array reply.
pub(super) fn as_array(v: &Value) -> Result<&[Value], QueueError> {
    match v {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(&[]),
        other => Err(corrupt(format!("expected an array, got {other:?}"))),
    }
}

/// An integer reply.
pub(super) fn as_int(v: &Value) -> Result<i64, QueueError> {
    match v {
        Value::Int(n) => Ok(*n),
        other => as_str(other)?
            .parse()
            .map_err(|_| corrupt(format!("expected an integer, got {other:?}"))),
    }
}

fn corrupt(msg: String) -> QueueError {
    QueueError::Corrupt(msg)
}

#[derive(Default)]
struct Fields {
    id: Option<String>,
    tenant: Option<String>,
    job_type: Option<String>,
    queue: Option<String>,
    payload: Option<serde_json::Value>,
    state: Option<JobState>,
    attempts: Option<u32>,
    max_attempts: Option<u32>,
    run_at: Option<i64>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    last_error: Option<String>,
    request_id: Option<String>,
    worker: Option<String>,
    lease_token: Option<String>,
    bury: Option<String>,
    cancel_requested_at: Option<i64>,
}

impl Fields {
    fn set(&mut self, name: &[u8], raw: &[u8]) -> Result<(), QueueError> {
        let text = || {
            std::str::from_utf8(raw)
                .map(str::to_owned)
                .map_err(|_| corrupt("field is not UTF-8".into()))
        };
        let num = || -> Result<i64, QueueError> {
            let s = std::str::from_utf8(raw).map_err(|_| corrupt("bad number".into()))?;
            s.parse()
                .map_err(|_| corrupt(format!("bad number `{s}` in field")))
        };
        let small = || -> Result<u32, QueueError> {
            u32::try_from(num()?.max(0)).map_err(|_| corrupt("count out of range".into()))
        };
        match name {
            b"id" => self.id = Some(text()?),
            b"tn" => self.tenant = Some(text()?),
            b"ty" => self.job_type = Some(text()?),
            b"q" => self.queue = Some(text()?),
            b"p" => {
                let payload = serde_json::from_slice(raw)
                    .map_err(|e| corrupt(format!("payload is not JSON: {e}")))?;
                self.payload = Some(payload);
            }
            b"s" => self.state = Some(text()?.parse().map_err(corrupt)?),
            b"a" => self.attempts = Some(small()?),
            b"ma" => self.max_attempts = Some(small()?),
            b"ra" => self.run_at = Some(num()?),
            b"ca" => self.created_at = Some(num()?),
            b"ua" => self.updated_at = Some(num()?),
            b"sa" => self.started_at = Some(num()?),
            b"fa" => self.finished_at = Some(num()?),
            b"le" => self.last_error = Some(text()?),
            b"ri" => self.request_id = Some(text()?),
            b"w" => self.worker = Some(text()?),
            b"lt" => self.lease_token = Some(text()?),
            b"bu" => self.bury = Some(text()?),
            b"cr" => self.cancel_requested_at = Some(num()?),
            _ => {} // `lu` and fields of later versions
        }
        Ok(())
    }

    fn finish(self) -> Result<Decoded, QueueError> {
        fn need<T>(v: Option<T>, name: &str) -> Result<T, QueueError> {
            v.ok_or_else(|| corrupt(format!("job hash lacks `{name}`")))
        }
        let created_at = need(self.created_at, "ca")?;
        let record = JobRecord {
            id: JobId::from_trusted(need(self.id, "id")?),
            tenant: TenantId::from_trusted(need(self.tenant, "tn")?),
            job_type: need(self.job_type, "ty")?,
            queue: need(self.queue, "q")?,
            payload: need(self.payload, "p")?,
            state: need(self.state, "s")?,
            attempts: self.attempts.unwrap_or(0),
            max_attempts: need(self.max_attempts, "ma")?,
            run_at: self.run_at.unwrap_or(created_at),
            created_at,
            updated_at: self.updated_at.unwrap_or(created_at),
            started_at: self.started_at,
            finished_at: self.finished_at,
            last_error: self.last_error,
            request_id: self.request_id,
            worker: self.worker,
            cancel_requested_at: self.cancel_requested_at,
        };
        Ok(Decoded {
            record,
            lease_token: self.lease_token,
            bury: self.bury,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(pairs: &[String]) -> Value {
        Value::Array(
            pairs
                .iter()
                .map(|s| Value::BulkString(s.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn a_new_job_round_trips_through_its_hash() {
        let job = NewJob {
            id: JobId::new(),
            tenant: TenantId::new(),
            job_type: "diagnostic.noop".into(),
            queue: "default".into(),
            payload: serde_json::json!({"a": [1, "x"]}),
            max_attempts: 5,
            run_at: None,
            request_id: Some("req_1".into()),
        };
        let pairs = encode_new(&job, JobState::Queued, 10, 10);
        let decoded = decode(&hash(&pairs)).unwrap().unwrap();
        assert_eq!(decoded.record, record_of_new(job, JobState::Queued, 10, 10));
        assert_eq!(decoded.lease_token, None);
    }

    #[test]
    fn empty_replies_are_none_and_broken_hashes_are_corrupt() {
        assert!(decode(&Value::Array(vec![])).unwrap().is_none());
        let broken = hash(&["id".into(), "job_1".into(), "s".into(), "weird".into()]);
        assert!(matches!(decode(&broken), Err(QueueError::Corrupt(_))));
        let missing = hash(&["id".into(), "job_1".into()]);
        assert!(matches!(decode(&missing), Err(QueueError::Corrupt(_))));
    }
}
