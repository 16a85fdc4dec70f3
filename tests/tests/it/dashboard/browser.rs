//! The dashboard in a real browser: headless Chromium driven through chromedriver (WebDriver,
//! with fantoccini), against the real API binary. Logs in through the form, finds a dead job,
//! presses Retry and sees it succeed; a payload holding `<script>` shows as text and runs
//! nothing; the strict CSP still lets htmx load (and htmx injects no style).
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `scripts/test` installs them). Without them this test fails, saying so.
//! `LONGSHORE_SCREENSHOTS=1` saves the overview, jobs and job pages to `docs/screenshots/`.
//! The helpers here are shared with [`super::browser_bulk`].

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use longshore_tests::{Mode, eventually};
use serde_json::{Value, json};

use super::{OPERATOR_SECRET, onboard, stack};

const DEADLINE: Duration = Duration::from_secs(60);
const INSTALL: &str = "apt-get install chromium chromium-driver";

/// `name` on `PATH`, or at one of `fallbacks`.
fn find_program(name: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| fallbacks.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// A chromedriver process on a free port of its own; killed when dropped.
pub(super) struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    pub(super) async fn start(log: &Path) -> ChromeDriver {
        let program =
            find_program("chromedriver", &["/usr/bin/chromedriver"]).unwrap_or_else(|| {
                panic!("chromedriver is not installed: {INSTALL} (scripts/test installs it)")
            });
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("its address").port()
        };
        let log = std::fs::File::create(log).expect("chromedriver log file");
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{} did not start ({e}): {INSTALL}", program.display()));
        let driver = ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let status = format!("{}/status", driver.url);
        eventually(Duration::from_secs(20), "chromedriver to be ready", || {
            let http = http.clone();
            let status = status.clone();
            async move {
                let body: Value = http.get(&status).send().await.ok()?.json().await.ok()?;
                (body["value"]["ready"] == true).then_some(())
            }
        })
        .await;
        driver
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) async fn browser(driver: &ChromeDriver, profile: &Path) -> Browser {
    let chromium = find_program("chromium", &["/usr/bin/chromium"])
        .unwrap_or_else(|| panic!("chromium is not installed: {INSTALL}"));
    let args = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        // Containers often have a small /dev/shm; Chromium then writes its shared memory to /tmp.
        "--disable-dev-shm-usage".to_owned(),
        "--window-size=1280,900".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let caps = json!({
        "goog:chromeOptions": {"binary": chromium, "args": args},
    });
    let Value::Object(caps) = caps else {
        unreachable!("an object")
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("could not start headless Chromium ({e}): {INSTALL}"))
}

/// Waits until the page's URL path (and query) is `want`.
pub(super) async fn until_at(b: &Browser, want: &str) {
    eventually(DEADLINE, &format!("the browser at {want}"), || async {
        let url = b.current_url().await.ok()?;
        let here = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        (here == want).then_some(())
    })
    .await;
}

pub(super) async fn text_of(b: &Browser, css: &str) -> Option<String> {
    b.find(Locator::Css(css)).await.ok()?.text().await.ok()
}

pub(super) async fn screenshot(b: &Browser, name: &str) {
    if std::env::var("LONGSHORE_SCREENSHOTS").as_deref() != Ok("1") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    let png = b.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("dashboard-{name}.png")), png).expect("write screenshot");
}

#[tokio::test]
async fn an_operator_retries_a_dead_job_in_a_real_browser() {
    let stack = stack(Mode::Embedded).await;
    let (tenant, client) = onboard(&stack, "Acme Cranes").await;
    let dead = client
        .submit(json!({
            "type": "diagnostic.sleep",
            "payload": {"fail_times": 1, "note": "<script>alert(1)</script>"},
            "max_attempts": 1,
        }))
        .await;
    client.wait_for_state(&dead, "dead", DEADLINE).await;
    // Something for the overview to show.
    for _ in 0..3 {
        client.submit(json!({"type": "diagnostic.noop"})).await;
    }

    let profile = tempfile::tempdir().expect("browser profile");
    let driver = ChromeDriver::start(&stack.dir().join("chromedriver.log")).await;
    let b = browser(&driver, profile.path()).await;
    let base = stack.base_url();

    // Any page sends a stranger to the login form; the form logs the operator in.
    b.goto(&format!("{base}/dashboard/jobs"))
        .await
        .expect("goto");
    until_at(&b, "/dashboard/login").await;
    let key = b.find(Locator::Id("key")).await.expect("key field");
    key.send_keys(OPERATOR_SECRET).await.expect("type the key");
    b.find(Locator::Css("form.login button[type=submit]"))
        .await
        .expect("login button")
        .click()
        .await
        .expect("log in");
    until_at(&b, "/dashboard").await;
    eventually(DEADLINE, "the queue table", || async {
        text_of(&b, "table.queues")
            .await
            .filter(|t| t.contains("default"))
    })
    .await;
    // htmx loaded under the CSP, and injected no <style> of its own.
    let loaded = b
        .execute(
            "return [typeof htmx, document.querySelectorAll('style').length];",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(loaded, json!(["object", 0]), "htmx and no inline style");
    // htmx polls the table every 5 s: its "as of" time moves on.
    let first = text_of(&b, "#queues p.small").await.expect("as of");
    eventually(
        Duration::from_secs(20),
        "the queue table to refresh",
        || async {
            let now = text_of(&b, "#queues p.small").await?;
            (now != first).then_some(())
        },
    )
    .await;
    screenshot(&b, "overview").await;

    // The dead job is on the tenant's jobs page; its page shows the payload as text.
    b.goto(&format!("{base}/dashboard/jobs?tenant={tenant}"))
        .await
        .expect("goto jobs");
    let link = b
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::LinkText(&dead))
        .await
        .expect("the dead job listed");
    screenshot(&b, "jobs").await;
    link.click().await.expect("open the job");
    until_at(&b, &format!("/dashboard/jobs/{tenant}/{dead}")).await;
    let payload = text_of(&b, "#payload").await.expect("payload");
    assert!(payload.contains("<script>alert(1)</script>"), "{payload}");
    let ran = b
        .execute(
            "return document.querySelectorAll('#payload script, main script').length;",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(
        ran,
        json!(0),
        "the payload's script is text, not an element"
    );
    assert!(
        b.get_alert_text().await.is_err(),
        "no alert was opened by the payload"
    );
    assert_eq!(text_of(&b, "#job-state").await.as_deref(), Some("dead"));
    screenshot(&b, "job").await;

    // Retry: the page comes back with a notice, and the job runs to success.
    b.find(Locator::Id("retry"))
        .await
        .expect("retry button")
        .click()
        .await
        .expect("retry");
    until_at(
        &b,
        &format!("/dashboard/jobs/{tenant}/{dead}?notice=retried"),
    )
    .await;
    eventually(DEADLINE, "the job to succeed on its page", || async {
        b.refresh().await.ok()?;
        let state = text_of(&b, "#job-state").await?;
        (state == "succeeded").then_some(())
    })
    .await;
    assert!(
        b.find(Locator::Id("retry")).await.is_err(),
        "no retry once it succeeded"
    );
    assert_eq!(client.job(&dead).await["state"], "succeeded");

    b.close().await.expect("close the browser");
}
