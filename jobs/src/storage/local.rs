//! Files in a local folder: written to a temporary name, flushed to disk, then renamed into
//! place, so a crash never leaves a partial file under a real key.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{FileInfo, FileKey, FileStore, StorageError, StoredFile, sha256_hex};

/// A store rooted at a folder (created on first write).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store under `root`.
    pub fn new(root: PathBuf) -> Self {
        LocalStore { root }
    }

    fn path(&self, key: &FileKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

fn unavailable(what: &str, path: &std::path::Path, e: std::io::Error) -> StorageError {
    StorageError::Unavailable(format!("{what} {}: {e}", path.display()))
}

#[async_trait]
impl FileStore for LocalStore {
    async fn put(&self, key: &FileKey, bytes: Vec<u8>) -> Result<StoredFile, StorageError> {
        let path = self.path(key);
        let key = key.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| unavailable("create", dir, e))?;
            }
            let tmp = path.with_extension(format!("tmp-{:016x}", rand::random::<u64>()));
            let write = || -> std::io::Result<()> {
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(&bytes)?;
                file.sync_data()?;
                std::fs::rename(&tmp, &path)
            };
            if let Err(e) = write() {
                let _ = std::fs::remove_file(&tmp);
                return Err(unavailable("write", &path, e));
            }
            Ok(StoredFile {
                key,
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            })
        })
        .await
        .map_err(|e| StorageError::Unavailable(format!("write task failed: {e}")))?
    }

    async fn get(&self, key: &FileKey) -> Result<Vec<u8>, StorageError> {
        let path = self.path(key);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(unavailable("read", &path, e)),
        }
    }

    async fn head(&self, key: &FileKey) -> Result<FileInfo, StorageError> {
        let path = self.path(key);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(FileInfo { bytes: meta.len() }),
            Ok(_) => Err(StorageError::NotFound),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(unavailable("stat", &path, e)),
        }
    }

    async fn delete(&self, key: &FileKey) -> Result<(), StorageError> {
        let path = self.path(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable("delete", &path, e)),
        }
    }

    fn describe(&self) -> String {
        format!("local folder {}", self.root.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_with_their_hash() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("files"));
        let key = FileKey::new("documents/ten_1/doc_1.pdf").unwrap();
        let stored = store.put(&key, b"%PDF-1.7 hello".to_vec()).await.unwrap();
        assert_eq!(stored.bytes, 14);
        assert_eq!(stored.sha256, sha256_hex(b"%PDF-1.7 hello"));
        assert_eq!(store.get(&key).await.unwrap(), b"%PDF-1.7 hello");
        store.put(&key, b"replaced".to_vec()).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), b"replaced");
        store.delete(&key).await.unwrap();
        assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)));
        store.delete(&key).await.unwrap();
        let leftovers = std::fs::read_dir(dir.path().join("files/documents/ten_1"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0, "no temporary files left behind");
    }
}
