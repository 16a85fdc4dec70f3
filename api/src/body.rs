//! `JsonBody<T>`: the JSON request body extractor every endpoint uses.
//!
//! poem-openapi's `Json<T>` reads bodies with no size limit and reports syntax and type errors
//! alike as 400 text. This one enforces the size limit while reading (chunked bodies too: 413),
//! answers 400 for malformed JSON and 422 naming the field for wrong types, and keeps a hash of
//! the raw bytes for idempotency checks. The OpenAPI schema is `T`'s.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use poem::{Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::problem::ApiError;
use longshore_jobs::validation::{Invalid, decode, refuse_nul};

/// The largest body accepted, set once per app as request data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body decoded into `T`, with the SHA-256 of its raw bytes.
pub struct JsonBody<T> {
    pub value: T,
    pub sha256: String,
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = request
            .data::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(1024 * 1024);
        let bytes = read_limited(body.take()?, limit).await?;
        let value = parse(&bytes)?;
        Ok(JsonBody {
            value,
            sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: Type + DeserializeOwned + Send);

/// How much of an oversized body is still read (and dropped) before the 413 goes out.
const DRAIN_BYTES: usize = 16 * 1024 * 1024;
/// How long an oversized body is drained at most.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads a body of at most `limit` bytes; a larger one is `413`.
///
/// An HTTP/1.1 client writes its whole body before it reads the answer. A server that answers
/// 413 and closes with the rest unread makes the kernel reset the connection, and the client sees
/// a broken pipe instead of the 413. So the rest is drained (bounded in bytes and time, as
/// nginx's lingering close is) before answering.
pub async fn read_limited(body: poem::Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut stream = body.into_bytes_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("could not read the body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            drain(stream, buf.len() + chunk.len()).await;
            return Err(ApiError::payload_too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Drops what is left of an oversized body so the client can read the answer.
pub async fn drain_oversized(body: poem::Body) {
    drain(body.into_bytes_stream(), 0).await;
}

async fn drain(
    mut stream: impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin,
    mut read: usize,
) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while read <= DRAIN_BYTES {
            match stream.next().await {
                Some(Ok(chunk)) => read += chunk.len(),
                _ => break,
            }
        }
    })
    .await;
}

/// Decodes JSON bytes: syntax errors are 400, shape errors 422 with the field's path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; JSON expected",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid(Invalid::one(
            "",
            "the body must be a JSON object",
        )));
    }
    refuse_nul(&value).map_err(ApiError::invalid)?;
    decode("", &value).map_err(ApiError::invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Probe {
        count: u32,
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_name_the_field() {
        assert_eq!(parse::<Probe>(b"{nope").unwrap_err().status().as_u16(), 400);
        let e = parse::<Probe>(br#"{"count": "three"}"#).unwrap_err();
        assert_eq!(e.status().as_u16(), 422);
        assert_eq!(e.problem().errors.unwrap()[0].field, "count");
        let e = parse::<Probe>(b"{}").unwrap_err();
        assert_eq!(e.status().as_u16(), 422);
        assert_eq!(e.problem().errors.unwrap()[0].field, "count");
    }

    #[test]
    fn a_nul_character_anywhere_is_422_naming_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Mail {
            subject: String,
        }
        let e = parse::<Mail>(br#"{"subject": "a\u0000b"}"#).unwrap_err();
        assert_eq!(e.status().as_u16(), 422);
        assert_eq!(e.problem().errors.unwrap()[0].field, "subject");
        assert!(parse::<Mail>(br#"{"subject": "a\u0001b"}"#).is_ok());
    }
}
