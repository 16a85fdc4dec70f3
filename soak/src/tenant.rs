//! The tenant the load runs as, and what it sets up before the load: a sender default, two
//! gateway endpoints (Standard Webhooks and Stripe), task queues and the task signing secret, an
//! event endpoint subscribed to everything, and the schedules.

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::Api;
use crate::topology::Topology;

/// Recipients the sink refuses with `550`: their emails must end `bounced`, then `suppressed`.
pub const BOUNCES: [&str; 3] = [
    "gone-1@soak.example",
    "gone-2@soak.example",
    "gone-3@soak.example",
];

/// The task queue most tasks go to.
pub const QUEUE: &str = "soak";
/// The queue of tasks answered `429` with `Retry-After` (which holds its whole queue).
pub const POLITE_QUEUE: &str = "soak-polite";

/// A schedule the soak watches (the checks read its cron back from the API).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub id: String,
}

/// What the tenant has once set up.
pub struct Tenant {
    pub api: Api,
    /// The Standard Webhooks gateway endpoint: `/hooks/<id>`.
    pub gateway_id: String,
    pub gateway_secret: String,
    /// The Stripe gateway endpoint (`Stripe-Signature`, Stripe's event shapes).
    pub stripe_id: String,
    pub stripe_secret: String,
    pub schedules: Vec<Schedule>,
}

impl Tenant {
    /// Creates the tenant and its key with the admin commands, then everything the load needs.
    pub async fn set_up(topology: &Topology) -> anyhow::Result<Tenant> {
        let tenant = topology.admin(&["tenants", "create", "Soak Ltd"])?;
        let key = topology.admin(&["keys", "create", "--tenant", &tenant])?;
        anyhow::ensure!(key.starts_with("lsk_"), "unexpected key output: {key}");
        let api = Api::new(&topology.base_url(), Some(key))?;
        send(
            &api,
            Method::PUT,
            "/v1/email-settings",
            json!({"from": "Soak <soak@longshore.example>"}),
        )
        .await?;
        let gateway = send(
            &api,
            Method::POST,
            "/v1/webhook-endpoints",
            json!({"provider": "standard"}),
        )
        .await?;
        let stripe = send(
            &api,
            Method::POST,
            "/v1/webhook-endpoints",
            json!({"provider": "stripe"}),
        )
        .await?;
        let task_secret = send(&api, Method::POST, "/v1/task-signing-secret", Value::Null).await?;
        topology.task_app.set_secret(text(&task_secret, "secret")?);
        let retries = json!({"min_backoff": "0.5s", "max_backoff": "5s", "max_attempts": 200});
        for queue in [QUEUE, POLITE_QUEUE] {
            send(
                &api,
                Method::POST,
                "/v1/queues",
                json!({"name": queue, "retry_config": retries}),
            )
            .await?;
        }
        let endpoint = send(
            &api,
            Method::POST,
            "/v1/event-endpoints",
            json!({"url": topology.event_app.url("/events"), "description": "soak: every event"}),
        )
        .await?;
        topology.event_app.set_secret(text(&endpoint, "secret")?);
        let mut schedules = Vec::new();
        for (name, cron) in [
            ("every minute", "* * * * *"),
            ("every 5 s", "*/5 * * * * *"),
        ] {
            let s = send(
                &api,
                Method::POST,
                "/v1/schedules",
                json!({"name": name, "cron": cron,
                       "report": {"kind": "jobs_health", "period": "since_last_run"}}),
            )
            .await?;
            schedules.push(Schedule {
                id: text(&s, "id")?.to_owned(),
            });
        }
        Ok(Tenant {
            api,
            gateway_id: text(&gateway, "id")?.to_owned(),
            gateway_secret: text(&gateway, "secret")?.to_owned(),
            stripe_id: text(&stripe, "id")?.to_owned(),
            stripe_secret: text(&stripe, "secret")?.to_owned(),
            schedules,
        })
    }

    /// Stops the schedules ticking (before the final checks, so that the ticks to check end).
    pub async fn pause_schedules(&self) -> anyhow::Result<()> {
        for s in &self.schedules {
            send(
                &self.api,
                Method::PATCH,
                &format!("/v1/schedules/{}", s.id),
                json!({"enabled": false}),
            )
            .await?;
        }
        Ok(())
    }
}

/// One setup call that must succeed (the deployment is healthy at this point).
async fn send(api: &Api, method: Method, path: &str, body: Value) -> anyhow::Result<Value> {
    let body = (!body.is_null()).then_some(body);
    let a = api
        .call(method.clone(), path, body.as_ref(), &[])
        .await
        .map_err(|e| anyhow::anyhow!("{method} {path}: {e}"))?;
    anyhow::ensure!(
        (200..300).contains(&a.status),
        "{method} {path}: {} {}",
        a.status,
        a.text
    );
    Ok(a.body)
}

fn text<'a>(v: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    v[field]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no `{field}` in {v}"))
}
