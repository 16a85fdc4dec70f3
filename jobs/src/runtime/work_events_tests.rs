//! Reports, HTTP tasks and dead jobs record their events with their change, once.

use std::time::Duration;

use serde_json::json;

use crate::db::test_databases as databases;
use crate::events::test_support::{ENDPOINT, count_all, recorded, subscribe_all};
use crate::ids::{JobId, ReportId, TaskId, TenantId};
use crate::queue::{JobRecord, JobState};
use crate::reports::model::{Period, ReportKind, ReportOrder};
use crate::reports::repo::{self as reports, Built};
use crate::tasks::model::{Attempt, Task, TaskRequest, TaskStatus, TaskTemplate};
use crate::tasks::repo::{self as tasks, AttemptRecord};

fn built(n: i64) -> Built {
    Built {
        summary: json!({"payments": n}),
        csv_key: "reports/r.csv".into(),
        csv_bytes: 100 + n,
        pdf_key: "reports/r.pdf".into(),
        pdf_bytes: 2000 + n,
        pdf_sha256: format!("{n:064x}"),
    }
}

#[tokio::test]
async fn a_report_is_told_ready_once_and_failed_once() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let order = ReportOrder {
            report_id: ReportId::new(),
            kind: ReportKind::PaymentsSummary,
            period: Period {
                from: 1_767_225_600_000,
                to: 1_767_312_000_000,
            },
            timezone: "Europe/Amsterdam".into(),
            schedule_id: None,
            ticks: None,
            catch_up: false,
            recipients: Vec::new(),
        };
        let id = &order.report_id;
        reports::ensure(&db, &tenant, &order).await.expect("ensure");
        reports::mark_running(&db, id).await.expect("running");
        assert!(
            reports::mark_ready(&db, id, &built(1))
                .await
                .expect("ready")
        );
        // The job runs again (its delivery failed): the report stays ready, its figures are
        // the rebuilt ones, and the app is not told twice.
        reports::mark_running(&db, id).await.expect("running again");
        assert!(
            !reports::mark_ready(&db, id, &built(2))
                .await
                .expect("again")
        );
        let report = reports::get(&db, &tenant, id)
            .await
            .expect("get")
            .expect("report");
        assert_eq!(report.status.as_str(), "ready");
        assert_eq!(report.csv_bytes, Some(102));
        let ready = recorded(&db, &tenant, "report.ready").await;
        assert_eq!(ready.len(), 1);
        let e = &ready[0];
        assert_eq!(e.resource_id.as_deref(), Some(id.as_str()));
        assert_eq!(e.deliveries, vec![ENDPOINT.to_owned()]);
        assert_eq!(e.data["report_id"], id.as_str());
        assert_eq!(e.data["kind"], "payments_summary");
        assert_eq!(e.data["status"], "ready");
        assert_eq!(e.data["summary"], json!({"payments": 1}));
        assert_eq!(e.data["csv_bytes"], 101);
        assert_eq!(e.data["pdf_bytes"], 2001);
        assert_eq!(e.data["timezone"], "Europe/Amsterdam");
        assert!(e.data["period_from"].is_string() && e.data["finished_at"].is_string());

        assert!(
            reports::mark_failed(&db, id, "storage refused")
                .await
                .expect("failed")
        );
        assert!(
            !reports::mark_failed(&db, id, "storage refused")
                .await
                .expect("again")
        );
        let failed = recorded(&db, &tenant, "report.failed").await;
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].data["failure_reason"], "storage refused");
        assert_eq!(failed[0].data["status"], "failed");
        // A build finishing after the report failed (its job died elsewhere) is fenced off.
        assert!(
            !reports::mark_ready(&db, id, &built(3))
                .await
                .expect("late build")
        );
        let report = reports::get(&db, &tenant, id)
            .await
            .expect("get")
            .expect("report");
        assert_eq!(report.status.as_str(), "failed");
        assert_eq!(
            report.csv_bytes,
            Some(102),
            "the late build's figures are not kept"
        );
        assert_eq!(recorded(&db, &tenant, "report.ready").await.len(), 1);
        // A report that does not exist changes nothing.
        assert!(
            !reports::mark_failed(&db, &ReportId::new(), "x")
                .await
                .expect("none")
        );
        assert_eq!(count_all(&db, &tenant).await, 2);
    }
}

fn attempt(task: &TaskId, n: i64, settled: Option<TaskStatus>) -> AttemptRecord {
    AttemptRecord {
        task: task.clone(),
        attempt: Attempt {
            attempt: n,
            started_at: 1_767_225_600_000 + n * 1000,
            latency_ms: 25,
            status: Some(503),
            error: Some("503 Service Unavailable".into()),
            excerpt: None,
        },
        settled,
        next_due_at: settled.is_none().then_some(1_767_225_700_000),
        keep_name: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn a_task_is_told_dead_once_by_the_attempt_that_ended_it() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let template = TaskTemplate {
            queue: "default".into(),
            request: TaskRequest {
                method: "POST".into(),
                url: "https://app.example.com/hook".into(),
                headers: Vec::new(),
                body: b"{}".to_vec(),
                dispatch_deadline: Duration::from_secs(10),
            },
        };
        let id = TaskId::new();
        let task = Task::accepted(
            id.clone(),
            tenant.clone(),
            Some("nightly".into()),
            template,
            0,
            None,
            0,
        );
        tasks::insert(&db, &task).await.expect("insert");
        let other = TaskId::new();
        let mut second = task.clone();
        second.id = other.clone();
        second.name = None;
        tasks::insert(&db, &second).await.expect("insert");

        // One group commit: a retry of one task, the end of the other... then the end again
        // (the attempt recorded twice) and a success of the one already dead.
        tasks::record_attempts(
            &db,
            vec![
                attempt(&other, 1, None),
                attempt(&id, 1, None),
                attempt(&id, 2, Some(TaskStatus::Dead)),
            ],
        )
        .await
        .expect("record");
        tasks::record_attempts(&db, vec![attempt(&id, 2, Some(TaskStatus::Dead))])
            .await
            .expect("again");
        tasks::record_attempts(&db, vec![attempt(&id, 3, Some(TaskStatus::Succeeded))])
            .await
            .expect("late");
        let dead = recorded(&db, &tenant, "task.dead").await;
        assert_eq!(dead.len(), 1);
        let e = &dead[0];
        assert_eq!(e.resource_id.as_deref(), Some(id.as_str()));
        assert_eq!(e.deliveries, vec![ENDPOINT.to_owned()]);
        assert_eq!(e.data["task_id"], id.as_str());
        assert_eq!(e.data["queue"], "default");
        assert_eq!(e.data["name"], "nightly");
        assert_eq!(e.data["method"], "POST");
        assert_eq!(e.data["url"], "https://app.example.com/hook");
        assert_eq!(e.data["attempts"], 2);
        assert_eq!(e.data["last_status"], 503);
        assert_eq!(e.data["last_error"], "503 Service Unavailable");
        assert!(e.data["finished_at"].is_string());
        assert_eq!(
            count_all(&db, &tenant).await,
            1,
            "retries and successes are not told"
        );
    }
}

fn job(tenant: &TenantId, job_type: &str, attempts: u32) -> JobRecord {
    JobRecord {
        id: JobId::new(),
        tenant: tenant.clone(),
        job_type: job_type.into(),
        queue: "default".into(),
        payload: json!({}),
        state: JobState::Running,
        attempts,
        max_attempts: 3,
        run_at: 0,
        created_at: 1_767_225_600_000,
        updated_at: 1_767_225_600_000 + i64::from(attempts),
        started_at: Some(1_767_225_601_000 + i64::from(attempts) * 1000),
        finished_at: None,
        last_error: None,
        request_id: Some("req-1".into()),
        worker: Some("w1".into()),
        cancel_requested_at: None,
    }
}

#[tokio::test]
async fn a_dead_job_is_told_once_per_attempt_and_tasks_are_left_to_task_dead() {
    for (db, _dir) in databases().await {
        let tenant = TenantId::new();
        subscribe_all(&db, &tenant).await;
        let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut dying = job(&tenant, "report.build", 3);
        let event = super::dead::dead_event(&dying, "boom (attempt 3 of 3: no attempts left)")
            .expect("an event");
        // The ack path runs twice for the same attempt: one event.
        super::dead::record_before_ack(&db, &event, give_up)
            .await
            .expect("record");
        let again = super::dead::dead_event(&dying, "boom").expect("an event");
        assert_eq!(again.id, event.id, "the same attempt gives the same id");
        super::dead::record_before_ack(&db, &again, give_up)
            .await
            .expect("again");
        let told = recorded(&db, &tenant, "job.dead").await;
        assert_eq!(told.len(), 1);
        let e = &told[0];
        assert_eq!(e.resource_id.as_deref(), Some(dying.id.as_str()));
        assert_eq!(e.deliveries, vec![ENDPOINT.to_owned()]);
        assert_eq!(e.data["job_id"], dying.id.as_str());
        assert_eq!(e.data["job_type"], "report.build");
        assert_eq!(e.data["attempt"], 3);
        assert_eq!(e.data["max_attempts"], 3);
        assert_eq!(e.data["error"], "boom (attempt 3 of 3: no attempts left)");
        assert_eq!(e.data["request_id"], "req-1");

        // Retried by an operator and dead again: a later attempt, another event.
        dying.attempts = 4;
        dying.started_at = Some(1_767_225_700_000);
        let later = super::dead::dead_event(&dying, "boom").expect("an event");
        assert_ne!(later.id, event.id);
        super::dead::record_before_ack(&db, &later, give_up)
            .await
            .expect("later");
        assert_eq!(recorded(&db, &tenant, "job.dead").await.len(), 2);

        // An HTTP task's job: `task.dead` tells of it.
        assert!(super::dead::dead_event(&job(&tenant, "task.deliver", 3), "boom").is_none());
    }
}
