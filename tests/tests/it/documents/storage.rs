//! Rendered documents stored in a real S3-compatible server (`s3s-fs`): the worker writes the
//! PDF there, the API serves it back from there, and the recorded sha256 is the stored bytes'.

use longshore_testkit::TestS3;
use longshore_tests::{Mode, Stack};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_render_into_s3_storage() {
    let s3 = TestS3::start();
    let mut builder = Stack::builder(Mode::Production);
    for (k, v) in s3.env("longshore/files") {
        builder = builder.env(k, &v);
    }
    let stack = builder.start().await;
    let client = stack.tenant("Harbour Academy").await;
    let cert = create(&client, &certificate("Ολυμπία Παπαδοπούλου")).await;
    let id = cert["id"].as_str().unwrap();

    let text = rendered_text(&stack, &client, &cert, 1).await;
    assert!(text.contains("Ολυμπία Παπαδοπούλου"), "{text}");

    // The bytes live in the bucket, under the configured prefix, and are what the API serves.
    let (pdf, _) = download(&stack, &client, id).await;
    let folder = s3.object_path("longshore/files/documents");
    let stored: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .flat_map(|tenant| std::fs::read_dir(tenant.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(&format!("{id}.pdf")))
        .collect();
    assert_eq!(stored.len(), 1, "one object for the document: {stored:?}");
    assert!(
        std::fs::read(&stored[0]).unwrap() == pdf,
        "S3 holds the served bytes"
    );
    assert!(
        !stack.dir().join("data/files").exists(),
        "nothing written to the local data folder"
    );
}
