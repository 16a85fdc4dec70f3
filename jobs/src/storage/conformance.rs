//! One suite every [`FileStore`] must pass, run against the local folder and a real
//! S3-compatible server (`s3s-fs`, started by `longshore-testkit`).

use longshore_testkit::TestS3;

use super::*;
use crate::config::{Config, Secret};

fn key(k: &str) -> FileKey {
    FileKey::new(k).unwrap()
}

/// put / get / head / delete, hashes, replacement, missing keys, empty and multi-megabyte files.
async fn conformance(store: &dyn FileStore) {
    let a = key("documents/ten_1/doc_1.pdf");
    let stored = store.put(&a, b"%PDF-1.7 first".to_vec()).await.unwrap();
    assert_eq!(stored.key, a);
    assert_eq!(stored.bytes, 14);
    // `printf '%PDF-1.7 first' | sha256sum`
    assert_eq!(
        stored.sha256,
        "4916bb68e172d60c02899fb39b71b4f0fec1dc813dca22d4d364d4353365ca86"
    );
    assert_eq!(store.get(&a).await.unwrap(), b"%PDF-1.7 first");
    assert_eq!(store.head(&a).await.unwrap(), FileInfo { bytes: 14 });

    // Replacing a file: the new bytes, the new size.
    let replaced = store.put(&a, b"second".to_vec()).await.unwrap();
    assert_eq!(replaced.sha256, sha256_hex(b"second"));
    assert_eq!(store.get(&a).await.unwrap(), b"second");
    assert_eq!(store.head(&a).await.unwrap().bytes, 6);

    // A key that shares a prefix is another file.
    let sibling = key("documents/ten_1/doc_1.pdf.v2");
    assert!(matches!(
        store.get(&sibling).await,
        Err(StorageError::NotFound)
    ));
    store.put(&sibling, b"other".to_vec()).await.unwrap();
    assert_eq!(store.get(&a).await.unwrap(), b"second");

    // Missing keys: NotFound for reads, success for deletes.
    let missing = key("documents/ten_2/nothing.pdf");
    assert!(matches!(
        store.get(&missing).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        store.head(&missing).await,
        Err(StorageError::NotFound)
    ));
    store.delete(&missing).await.unwrap();

    // Delete removes only its own key, and twice is fine.
    store.delete(&a).await.unwrap();
    assert!(matches!(store.get(&a).await, Err(StorageError::NotFound)));
    assert!(matches!(store.head(&a).await, Err(StorageError::NotFound)));
    store.delete(&a).await.unwrap();
    assert_eq!(store.get(&sibling).await.unwrap(), b"other");

    // Empty and large files keep every byte.
    let empty = key("empty");
    let stored = store.put(&empty, Vec::new()).await.unwrap();
    assert_eq!(stored.bytes, 0);
    assert_eq!(stored.sha256, sha256_hex(b""));
    assert_eq!(store.get(&empty).await.unwrap(), b"");
    assert_eq!(store.head(&empty).await.unwrap().bytes, 0);
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let large = key("reports/ten_1/big.csv");
    let stored = store.put(&large, big.clone()).await.unwrap();
    assert_eq!(stored.sha256, sha256_hex(&big));
    assert_eq!(store.head(&large).await.unwrap().bytes, big.len() as u64);
    assert!(
        store.get(&large).await.unwrap() == big,
        "large file differs"
    );
}

#[tokio::test]
async fn local_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("files"));
    conformance(&store).await;
}

fn s3_config(server: &TestS3, prefix: &str, secret: &str) -> Config {
    Config {
        storage_url: Some(server.url(prefix)),
        s3_endpoint: Some(server.endpoint()),
        s3_access_key_id: Some(TestS3::ACCESS_KEY_ID.into()),
        s3_secret_access_key: Some(Secret::new(secret)),
        ..Config::default()
    }
}

#[tokio::test]
async fn s3_store_conforms() {
    let server = TestS3::start();
    let store = open(&s3_config(
        &server,
        "tenants/prod",
        TestS3::SECRET_ACCESS_KEY,
    ))
    .unwrap();
    assert!(
        store
            .describe()
            .starts_with("s3://longshore-test/tenants/prod at http://127.0.0.1:")
    );
    conformance(store.as_ref()).await;
    // The bytes are really on the server, under the prefix.
    let on_disk = std::fs::read(server.object_path("tenants/prod/documents/ten_1/doc_1.pdf.v2"))
        .expect("the object is in the server's folder");
    assert_eq!(on_disk, b"other");
}

#[tokio::test]
async fn s3_refuses_a_wrong_secret_without_printing_it() {
    let server = TestS3::start();
    let store = open(&s3_config(&server, "", "not-the-secret-hunter2")).unwrap();
    let err = store
        .put(&key("a.pdf"), b"x".to_vec())
        .await
        .expect_err("a bad signature is refused");
    assert!(matches!(err, StorageError::Unavailable(_)), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!server.object_path("a.pdf").exists());
}
