//! A small HTTP client for the API, returning status, headers and JSON together.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::eventually;

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client of one tenant (or of none).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
}

impl Client {
    /// A client for the API at `base`, authenticating with `key`.
    pub fn new(base: &str, key: Option<String>) -> Self {
        Client {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            base: base.to_owned(),
            key,
        }
    }

    /// The API key, if any.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Sends a request built by `f` and collects the answer.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(key) = &self.key {
            req = req.bearer_auth(key);
        }
        let resp = f(req).send().await.expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, |r| r).await
    }

    /// POST `body` as JSON to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        let body = body.to_string();
        self.send(reqwest::Method::POST, path, |r| {
            r.header("content-type", "application/json").body(body)
        })
        .await
    }

    /// POST with no body.
    pub async fn post_empty(&self, path: &str) -> Reply {
        self.send(reqwest::Method::POST, path, |r| r).await
    }

    /// Submits a job and returns its id (asserting 202).
    pub async fn submit(&self, job: Value) -> String {
        let r = self.post("/v1/jobs", &job).await;
        assert_eq!(r.status, 202, "submit failed: {}", r.text);
        r.body["id"].as_str().expect("job id").to_owned()
    }

    /// Fetches a job (asserting 200).
    pub async fn job(&self, id: &str) -> Value {
        let r = self.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(r.status, 200, "get job failed: {}", r.text);
        r.body
    }

    /// Waits until the job reaches `state`; returns the job.
    pub async fn wait_for_state(&self, id: &str, state: &str, deadline: Duration) -> Value {
        eventually(deadline, &format!("job {id} to be {state}"), || async {
            let r = self.get(&format!("/v1/jobs/{id}")).await;
            (r.status == 200 && r.body["state"] == state).then_some(r.body)
        })
        .await
    }
}
