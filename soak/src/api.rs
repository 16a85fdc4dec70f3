//! The tenant's HTTP client, written for a server that comes and goes: every call returns what
//! happened instead of panicking, and creations are retried with the same `Idempotency-Key`
//! (as a careful client does) until they are accepted, refused, or a deadline passes.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

/// How a creation ended.
#[derive(Debug)]
pub enum Created {
    /// A 2xx: the resource as the API returned it.
    Accepted(Value),
    /// A 4xx that retrying cannot change (a bug in the soak or a refusal worth reading).
    Refused(Answer),
    /// Every attempt failed (connection errors, 5xx, 429) until the deadline.
    GaveUp(String),
}

/// A client of one tenant.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Api {
    /// A client of the API at `base` with the tenant's `key` (or none, for public routes).
    pub fn new(base: &str, key: Option<String>) -> anyhow::Result<Api> {
        Ok(Api {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()?,
            base: base.to_owned(),
            key,
        })
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One request; `Err` for a transport failure (refused connection, reset, timeout).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Result<Answer, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.key {
            req = req.bearer_auth(key);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, body, text })
    }

    /// GET `path`, retried through outages for up to a minute; `Err` if it never got a 2xx.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let mut last = String::new();
        for _ in 0..120 {
            match self.call(Method::GET, path, None, &[]).await {
                Ok(a) if (200..300).contains(&a.status) => return Ok(a.body),
                Ok(a) if a.status == 404 => anyhow::bail!("GET {path}: 404"),
                Ok(a) => last = format!("{}: {}", a.status, a.text),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        anyhow::bail!("GET {path} kept failing: {last}")
    }

    /// GET `path`'s raw bytes, retried through outages like [`Api::get`].
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let mut last = String::new();
        for _ in 0..120 {
            let mut req = self.http.get(format!("{}{path}", self.base));
            if let Some(key) = &self.key {
                req = req.bearer_auth(key);
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => match r.bytes().await {
                    Ok(b) => return Ok(b.to_vec()),
                    Err(e) => last = e.to_string(),
                },
                Ok(r) if r.status().as_u16() == 404 => anyhow::bail!("GET {path}: 404"),
                Ok(r) => last = format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        anyhow::bail!("GET {path} kept failing: {last}")
    }

    /// Every item of a listing, following `next_cursor` (`path` may carry a query already).
    pub async fn list_all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(c) => format!("{path}{sep}limit=100&cursor={c}"),
                None => format!("{path}{sep}limit=100"),
            };
            let body = self.get(&page).await?;
            items.extend(body["data"].as_array().cloned().unwrap_or_default());
            match body["next_cursor"].as_str() {
                Some(c) if body["has_more"] != false => cursor = Some(c.to_owned()),
                _ => return Ok(items),
            }
        }
    }

    /// Creates something with `Idempotency-Key: key`, retrying transport failures, 5xx, 429 and
    /// 409 (the key's first request still in progress) until `within` has passed.
    pub async fn create(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        key: &str,
        within: Duration,
    ) -> Created {
        let deadline = tokio::time::Instant::now() + within;
        let mut pause = Duration::from_millis(250);
        loop {
            let last = match self
                .call(
                    method.clone(),
                    path,
                    Some(body),
                    &[("idempotency-key", key.to_owned())],
                )
                .await
            {
                Ok(a) if (200..300).contains(&a.status) => return Created::Accepted(a.body),
                Ok(a) if matches!(a.status, 409 | 429) || a.status >= 500 => {
                    format!("{}: {}", a.status, a.text)
                }
                Ok(a) => return Created::Refused(a),
                Err(e) => e,
            };
            if tokio::time::Instant::now() + pause > deadline {
                return Created::GaveUp(last);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}
