//! Fair dequeue between tenants: a tenant's burst waits its turn with the other tenants' work
//! on the same queue instead of holding every worker until it drains.

use std::collections::HashSet;

use longshore_jobs::ids::{JobId, TenantId};
use longshore_jobs::queue::{Leased, Outcome, Queue};

use super::{Factory, LONG_LEASE, Settings, fresh, job, worker};

/// Enqueues `n` jobs of `tenant` on `default`, in one batch; returns their ids in order.
async fn burst(q: &dyn Queue, tenant: &TenantId, n: usize) -> Vec<JobId> {
    let jobs: Vec<_> = (0..n).map(|_| job(tenant, "default")).collect();
    let ids = jobs.iter().map(|j| j.id.clone()).collect();
    for done in q.enqueue_many(jobs).await {
        assert!(done.expect("enqueue").created);
    }
    ids
}

pub async fn a_burst_does_not_starve_another_tenant(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let (a, b) = (TenantId::new(), TenantId::new());
    let a_ids = burst(&*q, &a, 300).await;
    let b_ids = burst(&*q, &b, 5).await;

    let first = q
        .fetch("default", &worker("w"), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(first.len(), 10);
    let of = |t: &TenantId| first.iter().filter(|l| &l.job.tenant == t).count();
    assert_eq!(
        (of(&a), of(&b)),
        (5, 5),
        "both tenants share the fetch, though all of A's jobs are older"
    );
    let b_taken: HashSet<_> = first
        .iter()
        .filter(|l| l.job.tenant == b)
        .map(|l| l.job.id.clone())
        .collect();
    assert_eq!(b_taken, b_ids.into_iter().collect(), "all of B's jobs");
    assert!(
        first
            .iter()
            .all(|l| l.job.tenant == b || a_ids.contains(&l.job.id)),
        "the rest are A's"
    );
}

pub async fn single_fetches_take_turns(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let (a, b) = (TenantId::new(), TenantId::new());
    burst(&*q, &a, 50).await;
    burst(&*q, &b, 3).await;
    let mut order = Vec::new();
    for _ in 0..6 {
        let got = q
            .fetch("default", &worker("w"), 1, LONG_LEASE)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        order.push(got[0].job.tenant == b);
    }
    assert_eq!(
        order.iter().filter(|is_b| **is_b).count(),
        3,
        "B's three jobs came within six one-job fetches, in turn with A's: {order:?}"
    );
    assert!(
        order.windows(2).all(|w| w[0] != w[1]),
        "the tenants alternate: {order:?}"
    );
}

pub async fn a_lone_tenant_gets_the_whole_fetch(f: &dyn Factory) {
    let (q, _guard) = fresh(f).await;
    let a = TenantId::new();
    let ids = burst(&*q, &a, 30).await;
    let got = q
        .fetch("default", &worker("w"), 20, LONG_LEASE)
        .await
        .unwrap();
    let taken: HashSet<_> = got.iter().map(|l| l.job.id.clone()).collect();
    assert_eq!(taken.len(), 20, "as many as asked");
    assert!(taken.iter().all(|id| ids.contains(id)));
}

pub async fn a_capped_tenant_waits_for_its_running_jobs(f: &dyn Factory) {
    let settings = Settings {
        tenant_concurrency: 3,
        ..Settings::default()
    };
    let (q, _guard) = f.make(settings).await;
    let (a, b) = (TenantId::new(), TenantId::new());
    burst(&*q, &a, 20).await;
    burst(&*q, &b, 2).await;

    let first = q
        .fetch("default", &worker("w1"), 10, LONG_LEASE)
        .await
        .unwrap();
    let of = |got: &[Leased], t: &TenantId| got.iter().filter(|l| &l.job.tenant == t).count();
    assert_eq!(
        (of(&first, &a), of(&first, &b)),
        (3, 2),
        "A gets its cap, B all it has"
    );
    let more = q
        .fetch("default", &worker("w2"), 10, LONG_LEASE)
        .await
        .unwrap();
    assert!(
        more.is_empty(),
        "A is at its cap across workers: {} more",
        more.len()
    );

    let done = first
        .iter()
        .find(|l| l.job.tenant == a)
        .expect("one of A's");
    q.complete(&done.lease, Outcome::Succeeded).await.unwrap();
    let next = q
        .fetch("default", &worker("w2"), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(
        (next.len(), of(&next, &a)),
        (1, 1),
        "one of A's finished, so one more of A's runs"
    );

    // A retry, a release or a lost lease frees the slot too.
    let retry = Outcome::Retry {
        error: "later".into(),
        delay: std::time::Duration::from_secs(3600),
    };
    q.complete(&next[0].lease, retry).await.unwrap();
    let after_retry = q
        .fetch("default", &worker("w3"), 10, LONG_LEASE)
        .await
        .unwrap();
    assert_eq!(of(&after_retry, &a), 1);
}
