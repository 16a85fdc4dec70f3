//! The overview's rates and 7-day chart come from the per-minute aggregates the workers write
//! with the job history: finished jobs show up as done and failed counts for their queue, and
//! as a bar of the chart.

use longshore_tests::{Mode, eventually};
use serde_json::json;

use super::{DEADLINE, Dashboard, OPERATOR_SECRET, onboard, stack};

/// The numbers of a queue's row of the overview table, in column order.
fn row_numbers(html: &str, queue: &str) -> Vec<String> {
    let start = html
        .find(&format!("<td>{queue}</td>"))
        .unwrap_or_else(|| panic!("no row for {queue}: {html}"));
    let row = &html[start..html[start..].find("</tr>").unwrap() + start];
    row.split("<td class=\"num\">")
        .skip(1)
        .map(|cell| cell[..cell.find("</td>").unwrap()].to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_show_as_rates_and_history() {
    let stack = stack(Mode::Embedded).await;
    let (_tenant, client) = onboard(&stack, "Acme").await;
    let mut dash = Dashboard::new(&stack);
    assert_eq!(dash.login(OPERATOR_SECRET).await.status, 303);
    let before = dash.get("/dashboard").await;
    assert!(
        before
            .text
            .contains("No job has finished in the last 7 days."),
        "{}",
        before.text
    );

    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push((
            client.submit(json!({"type": "diagnostic.noop"})).await,
            "succeeded",
        ));
    }
    for _ in 0..2 {
        let dying = json!({"type": "diagnostic.sleep", "payload": {"ms": 1, "fail_times": 5}, "max_attempts": 1});
        ids.push((client.submit(dying).await, "dead"));
    }
    for (id, state) in &ids {
        client.wait_for_state(id, state, DEADLINE).await;
    }

    // The history is written in batches a moment after the outcomes.
    let page = eventually(DEADLINE, "the rates to count the jobs", || async {
        let page = dash.get("/dashboard").await;
        let numbers = row_numbers(&page.text, "default");
        // ready, delayed, running, oldest, done 1 h, failed 1 h, done 24 h, failed 24 h, rate
        (numbers[4..9] == ["3", "2", "3", "2", "40.0%"]).then_some(page)
    })
    .await;
    assert!(
        page.text.contains("<svg class=\"history\""),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("3 done, 2 failed"),
        "the hour's bar: {}",
        page.text
    );
    // The live fragment carries the same rates.
    let fragment = dash.get("/dashboard/fragments/queues").await;
    assert_eq!(row_numbers(&fragment.text, "default")[4..6], ["3", "2"]);
}
