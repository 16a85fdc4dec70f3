//! What the queue backends read back: stored job records and clients' listing cursors.

use longshore_jobs::job_types::registry;
use longshore_jobs::queue::{redis as redis_queue, sqlite as sqlite_queue};

use crate::input::text;

/// A Redis reply to `HGETALL` of a job hash, in RESP (a damaged or foreign record: another
/// version's fields, a hand edit, a key collision), then the job's payload as its handler
/// decodes it; and the same bytes as a `cursor` query parameter of `GET /v1/jobs` for each
/// backend.
///
/// Asserts that a corrupt record is an error, never a panic (a worker that panics on a record
/// never acknowledges it), and that a cursor the Redis backend accepts is used unchanged as the
/// listing position.
pub fn queue_record(data: &[u8]) {
    if let Ok(reply) = redis::parse_redis_value(data)
        && let Ok(Some(record)) = redis_queue::decode_stored(&reply)
        && let Some(kind) = registry().get(&record.job_type)
    {
        let _ = kind.validate(&record.payload);
    }
    if let Some(cursor) = text(data) {
        if let Some(member) = redis_queue::decode_cursor(cursor) {
            assert_eq!(member, cursor);
        }
        let _ = sqlite_queue::decode_cursor(cursor);
    }
}
