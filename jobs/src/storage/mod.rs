//! Where rendered files live: a [`FileStore`] trait with a local-folder implementation (the
//! default: `<data dir>/files`) and an S3-compatible one ([`S3Store`]).
//!
//! Callers store and fetch bytes by a [`FileKey`]; the store computes the SHA-256 of what it
//! wrote so the database can record it and readers can check it. Choose the store with
//! `LONGSHORE_STORAGE_URL`: empty for the data folder, `file:///path` for another folder,
//! `s3://bucket/prefix` for S3-compatible storage (through the `object_store` crate, with the
//! `LONGSHORE_S3_*` settings; see [`open`]).

#[cfg(test)]
mod conformance;
mod local;
mod s3;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

pub use local::LocalStore;
pub use s3::{S3Settings, S3Store};

use crate::config::Config;

/// Why a storage operation failed. `Unavailable` may succeed later; the others will not.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such file")]
    NotFound,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage misconfigured: {0}")]
    Misconfigured(String),
}

/// A file's name inside a store: `/`-separated segments of letters, digits, `.`, `_` and `-`
/// (no empty or dot-only segments), so it can never escape the store's root.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FileKey(String);

/// The text is not a safe key.
#[derive(Debug, thiserror::Error)]
#[error("invalid file key `{0}`")]
pub struct InvalidKey(pub String);

impl FileKey {
    /// Parses a key.
    pub fn new(key: impl Into<String>) -> Result<FileKey, InvalidKey> {
        let key = key.into();
        let ok = !key.is_empty()
            && key.len() <= 512
            && key.split('/').all(|seg| {
                !seg.is_empty()
                    && seg.chars().any(|c| c != '.')
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if ok {
            Ok(FileKey(key))
        } else {
            Err(InvalidKey(key))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a store wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub key: FileKey,
    pub bytes: u64,
    /// Hex SHA-256 of the bytes written.
    pub sha256: String,
}

/// What a store knows about a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub bytes: u64,
}

/// A place to keep files by key. Writes are atomic: a reader sees the old file, the new file,
/// or no file, never a partial one.
#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing any previous file.
    async fn put(&self, key: &FileKey, bytes: Vec<u8>) -> Result<StoredFile, StorageError>;
    /// The bytes under `key`.
    async fn get(&self, key: &FileKey) -> Result<Vec<u8>, StorageError>;
    /// Whether `key` exists (`NotFound` if not) and its size, without reading it.
    async fn head(&self, key: &FileKey) -> Result<FileInfo, StorageError>;
    /// Removes `key`; removing a missing file succeeds.
    async fn delete(&self, key: &FileKey) -> Result<(), StorageError>;
    /// Where files go, for logs (never with credentials).
    fn describe(&self) -> String;
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// The store `config` asks for (`LONGSHORE_STORAGE_URL`).
pub fn open(config: &Config) -> Result<Arc<dyn FileStore>, StorageError> {
    let url = config.storage_url.as_deref().unwrap_or("").trim();
    if url.is_empty() {
        return Ok(Arc::new(LocalStore::new(config.data_dir.join("files"))));
    }
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Arc::new(LocalStore::new(path.into())));
    }
    if url.starts_with("s3://") {
        return Ok(Arc::new(S3Store::new(S3Settings::from_config(
            url, config,
        )?)?));
    }
    Err(StorageError::Misconfigured(
        "LONGSHORE_STORAGE_URL must be empty, file:///path or s3://bucket/prefix".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        assert!(FileKey::new("documents/ten_1/doc_2.pdf").is_ok());
        for bad in [
            "", "/abs", "a//b", "../x", "a/../b", "a/./b", "a b", "a\\b", "ü",
        ] {
            assert!(FileKey::new(bad).is_err(), "{bad}");
        }
    }
}
