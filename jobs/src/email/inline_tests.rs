//! Inline attachments: each bad field named, decoding tolerant of padding and line breaks,
//! bounds on count and size, one stored object per content and tenant.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::inline::*;
use crate::ids::TenantId;
use crate::storage::{LocalStore, StorageError, sha256_hex};

fn inline(filename: &str, content_type: Option<&str>, content: &str) -> AttachmentInput {
    AttachmentInput {
        filename: Some(filename.into()),
        content_type: content_type.map(Into::into),
        content: Some(content.into()),
        ..AttachmentInput::default()
    }
}

fn fields(items: &[AttachmentInput]) -> Vec<String> {
    let mut errors = Vec::new();
    parse(items, &mut errors);
    errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn inline_files_decode_with_or_without_padding_and_line_breaks() {
    let mut errors = Vec::new();
    let got = parse(
        &[
            inline("a.txt", Some("text/plain; charset=utf-8"), "aGk="),
            inline("b.bin", None, "aGk"),
            inline("c.bin", None, "AP8A\r\n/wA="),
            inline("empty", None, ""),
            AttachmentInput::document("doc_1"),
        ],
        &mut errors,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let bytes: Vec<Vec<u8>> = got
        .iter()
        .filter_map(|(_, r)| match r {
            Requested::Inline(f) => Some(f.bytes.clone()),
            Requested::Document(_) => None,
        })
        .collect();
    assert_eq!(
        bytes,
        [
            b"hi".to_vec(),
            b"hi".to_vec(),
            vec![0, 255, 0, 255, 0],
            vec![]
        ]
    );
    let (1, Requested::Inline(b)) = &got[1] else {
        panic!("{got:?}")
    };
    assert_eq!(b.content_type, DEFAULT_CONTENT_TYPE);
    assert!(matches!(&got[4], (4, Requested::Document(id)) if id.as_str() == "doc_1"));
}

#[test]
fn each_bad_field_is_named() {
    assert_eq!(
        fields(&[
            inline("ok.txt", None, "aGk="),
            inline("ok.txt", None, "not base64!"),
        ]),
        ["attachments[1].content"]
    );
    let mixed = AttachmentInput {
        content: Some("aGk=".into()),
        ..AttachmentInput::document("doc_1")
    };
    assert_eq!(fields(&[mixed]), ["attachments[0].content"]);
    assert_eq!(
        fields(&[AttachmentInput::default()]),
        ["attachments[0]"],
        "neither shape"
    );
    let no_content = AttachmentInput {
        filename: Some("a.txt".into()),
        ..AttachmentInput::default()
    };
    assert_eq!(fields(&[no_content]), ["attachments[0].content"]);
    let no_name = AttachmentInput {
        content: Some("aGk=".into()),
        ..AttachmentInput::default()
    };
    assert_eq!(fields(&[no_name]), ["attachments[0].filename"]);
    assert_eq!(
        fields(&[AttachmentInput::document("nope")]),
        ["attachments[0].document_id"]
    );
    let long = "x".repeat(MAX_FILENAME_BYTES + 1);
    for bad in ["", "  ", "../etc/passwd", "a\\b", "..", "tab\there", &long] {
        assert_eq!(
            fields(&[inline(bad, None, "aGk=")]),
            ["attachments[0].filename"],
            "{bad:?}"
        );
    }
    assert!(fields(&[inline(&"é".repeat(127), None, "aGk=")]).is_empty());
    for good in [
        "application/pdf",
        "Application/PDF",
        "image/svg+xml",
        "message/rfc822",
        " text/plain; charset=\"utf-8\" ",
    ] {
        assert!(
            fields(&[inline("a", Some(good), "aGk=")]).is_empty(),
            "{good:?}"
        );
    }
    for bad in [
        "pdf",
        "text/",
        "text/plain\r\nBcc: x@example.com",
        "*/*",
        "image/*",
        "multipart/mixed; boundary=x",
    ] {
        assert_eq!(
            fields(&[inline("a", Some(bad), "aGk=")]),
            ["attachments[0].content_type"],
            "{bad:?}"
        );
    }
    assert_eq!(
        fields(&[inline("..", Some("x"), "***")]),
        [
            "attachments[0].filename",
            "attachments[0].content_type",
            "attachments[0].content"
        ],
        "every problem of one item"
    );
}

#[test]
fn counts_and_total_size_are_bounded() {
    let eleven = vec![AttachmentInput::document("doc_1"); MAX_ATTACHMENTS + 1];
    assert_eq!(fields(&eleven), ["attachments"]);
    let half = STANDARD.encode(vec![7u8; MAX_INLINE_BYTES / 2]);
    assert!(fields(&[inline("a", None, &half), inline("b", None, &half)]).is_empty());
    assert_eq!(
        fields(&[
            inline("a", None, &half),
            inline("b", None, &half),
            inline("c", None, "AA==")
        ]),
        ["attachments"]
    );
}

#[tokio::test]
async fn the_same_bytes_are_one_object_per_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("files"));
    let tenant = TenantId::from_trusted("ten_1");
    let file = |name: &str| InlineFile {
        filename: name.into(),
        content_type: "text/plain".into(),
        bytes: b"same".to_vec(),
    };
    let a = file("a.txt").store(&store, &tenant).await.unwrap();
    let b = file("b.txt").store(&store, &tenant).await.unwrap();
    assert_eq!(a.key, b.key);
    assert_eq!(
        a.key,
        format!("email-attachments/ten_1/{}", sha256_hex(b"same"))
    );
    assert_eq!(
        (a.filename.as_str(), b.filename.as_str()),
        ("a.txt", "b.txt")
    );
    let other = file("a.txt")
        .store(&store, &TenantId::from_trusted("ten_2"))
        .await
        .unwrap();
    assert_ne!(other.key, a.key, "tenants never share an object");
    let folder = dir.path().join("files/email-attachments/ten_1");
    assert_eq!(std::fs::read_dir(folder).unwrap().count(), 1);

    // A store that cannot be written is an error to retry, not a panic or a bad request.
    std::fs::write(dir.path().join("plain-file"), b"").unwrap();
    let broken = LocalStore::new(dir.path().join("plain-file/files"));
    let err = file("a.txt").store(&broken, &tenant).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
}
