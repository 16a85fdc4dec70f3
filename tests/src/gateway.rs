//! A fake payment gateway: creates an endpoint through the API, then signs and delivers events
//! the way Stripe and Standard Webhooks senders do. Signatures are computed here with the `hmac`
//! crate directly, independently of the code under test.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{Client, Reply};

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length works");
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

/// `Stripe-Signature` for `body` signed at `t`.
pub fn stripe_signature(secret: &str, t: i64, body: &[u8]) -> String {
    let message = [format!("{t}.").as_bytes(), body].concat();
    format!(
        "t={t},v1={}",
        hex::encode(hmac(secret.as_bytes(), &message))
    )
}

/// `webhook-signature` for `body` with message id `id`, signed at `t`.
pub fn standard_signature(secret: &str, id: &str, t: i64, body: &[u8]) -> String {
    let key = BASE64
        .decode(secret.trim_start_matches("whsec_"))
        .expect("whsec_ secret is base64");
    let message = [format!("{id}.{t}.").as_bytes(), body].concat();
    format!("v1,{}", BASE64.encode(hmac(&key, &message)))
}

/// One gateway endpoint of a tenant, with its secret.
#[derive(Clone)]
pub struct Gateway {
    pub provider: String,
    pub endpoint_id: String,
    /// The path to post to (`/hooks/whe_…`).
    pub path: String,
    pub secret: String,
    http: Client,
}

impl Gateway {
    /// Creates a `stripe` or `standard` endpoint for `client`'s tenant.
    pub async fn create(client: &Client, base_url: &str, provider: &str) -> Gateway {
        let r = client
            .post("/v1/webhook-endpoints", &json!({"provider": provider}))
            .await;
        assert_eq!(r.status, 201, "create endpoint: {}", r.text);
        let id = r.body["id"].as_str().expect("endpoint id").to_owned();
        Gateway {
            provider: provider.to_owned(),
            path: format!("/hooks/{id}"),
            endpoint_id: id,
            secret: r.body["secret"]
                .as_str()
                .expect("secret shown once")
                .to_owned(),
            http: Client::new(base_url, None),
        }
    }

    /// An event body in this provider's format. `data` is Stripe's `data.object` or the Standard
    /// Webhooks `data`; `created` is the event's creation time (Unix seconds).
    pub fn event(&self, id: &str, event_type: &str, created: i64, data: Value) -> Vec<u8> {
        let body = if self.provider == "stripe" {
            json!({"id": id, "object": "event", "type": event_type, "created": created, "data": {"object": data}})
        } else {
            let at = chrono::DateTime::from_timestamp(created, 0)
                .unwrap_or_default()
                .to_rfc3339();
            json!({"type": event_type, "created_at": at, "data": data})
        };
        body.to_string().into_bytes()
    }

    /// The same endpoint signing with another secret (after a rotation).
    pub fn with_secret(&self, secret: &str) -> Gateway {
        Gateway {
            secret: secret.to_owned(),
            ..self.clone()
        }
    }

    /// Delivers `body`, correctly signed now, as event `id`.
    pub async fn deliver(&self, id: &str, body: &[u8]) -> Reply {
        self.deliver_signed(id, body, body, now_secs()).await
    }

    /// Delivers `sent` with a signature computed over `signed` at `t` (tampering, staleness).
    pub async fn deliver_signed(&self, id: &str, sent: &[u8], signed: &[u8], t: i64) -> Reply {
        let headers = if self.provider == "stripe" {
            vec![(
                "Stripe-Signature".to_owned(),
                stripe_signature(&self.secret, t, signed),
            )]
        } else {
            vec![
                ("webhook-id".to_owned(), id.to_owned()),
                ("webhook-timestamp".to_owned(), t.to_string()),
                (
                    "webhook-signature".to_owned(),
                    standard_signature(&self.secret, id, t, signed),
                ),
            ]
        };
        self.post_raw(sent, &headers).await
    }

    /// Posts `body` with exactly `headers` (plus the JSON content type).
    pub async fn post_raw(&self, body: &[u8], headers: &[(String, String)]) -> Reply {
        let body = body.to_vec();
        self.http
            .send(reqwest::Method::POST, &self.path, |mut r| {
                for (k, v) in headers {
                    r = r.header(k.as_str(), v.as_str());
                }
                r.header("content-type", "application/json").body(body)
            })
            .await
    }
}
