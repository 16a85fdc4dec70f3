//! Files in an S3-compatible object store (AWS S3, MinIO, Ceph, Garage, R2…) through the
//! `object_store` crate. A PUT is atomic in S3 itself: readers see the old object or the new
//! one, never part of one. Every PUT carries `x-amz-checksum-sha256`, so the server refuses
//! bytes damaged on the way, and the SHA-256 we record is the one the server checked.
//!
//! Configured by `LONGSHORE_STORAGE_URL=s3://bucket/prefix` plus `LONGSHORE_S3_*` (endpoint,
//! region, credentials, path style); see [`S3Settings::from_config`].

use std::time::Duration;

use async_trait::async_trait;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStoreExt, PutPayload, RetryConfig};

use super::{FileInfo, FileKey, FileStore, StorageError, StoredFile, sha256_hex};
use crate::config::{Config, Secret};

/// Where and how to reach an S3-compatible store. Holds the secret key in a [`Secret`], so
/// printing the settings never shows it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`); may be empty.
    pub prefix: String,
    /// The server's URL (`http://127.0.0.1:9000` for a local MinIO); `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    /// Static credentials; `None` uses the standard `AWS_*` variables or the instance's role.
    pub credentials: Option<(String, Secret)>,
    /// `endpoint/bucket/key` requests (MinIO-like servers) rather than `bucket.endpoint/key`.
    pub path_style: bool,
}

fn misconfigured(var: &str, why: &str) -> StorageError {
    StorageError::Misconfigured(format!("{var}: {why}"))
}

impl S3Settings {
    /// Reads `url` (`s3://bucket[/prefix]`) and the `LONGSHORE_S3_*` settings of `config`.
    pub fn from_config(url: &str, config: &Config) -> Result<S3Settings, StorageError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| misconfigured("LONGSHORE_STORAGE_URL", "must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(misconfigured(
                "LONGSHORE_STORAGE_URL",
                "the bucket name must be 3 to 63 lower-case letters, digits, `.` or `-`",
            ));
        }
        let prefix = prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() && FileKey::new(prefix.clone()).is_err() {
            return Err(misconfigured(
                "LONGSHORE_STORAGE_URL",
                "the prefix must be `/`-separated letters, digits, `.`, `_` or `-`",
            ));
        }
        let endpoint = config
            .s3_endpoint
            .as_deref()
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty());
        if let Some(e) = &endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(misconfigured(
                "LONGSHORE_S3_ENDPOINT",
                "must start with http:// or https://",
            ));
        }
        let key_id = config.s3_access_key_id.as_deref().filter(|k| !k.is_empty());
        let secret = config
            .s3_secret_access_key
            .as_ref()
            .filter(|s| !s.expose().is_empty());
        let credentials = match (key_id, secret) {
            (Some(id), Some(secret)) => Some((id.to_owned(), secret.clone())),
            (None, None) => None,
            _ => {
                return Err(misconfigured(
                    "LONGSHORE_S3_ACCESS_KEY_ID",
                    "set it together with LONGSHORE_S3_SECRET_ACCESS_KEY, or neither",
                ));
            }
        };
        Ok(S3Settings {
            bucket: bucket.to_owned(),
            prefix,
            endpoint,
            region: config
                .s3_region
                .clone()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "us-east-1".to_owned()),
            credentials,
            path_style: config.s3_path_style,
        })
    }
}

/// A store in one bucket, under an optional key prefix.
pub struct S3Store {
    store: AmazonS3,
    settings: S3Settings,
}

impl S3Store {
    /// Builds the client (no request is made until the first operation).
    pub fn new(settings: S3Settings) -> Result<S3Store, StorageError> {
        // The job queue retries failed jobs durably; the client only rides out short blips.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        };
        let client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(60));
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_retry(retry)
            .with_client_options(client);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some((id, secret)) = &settings.credentials {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose());
        }
        let store = builder
            .build()
            // object_store's configuration errors name the setting, never the secret's value.
            .map_err(|e| StorageError::Misconfigured(format!("S3 storage: {e}")))?;
        Ok(S3Store { store, settings })
    }

    fn path(&self, key: &FileKey) -> Path {
        if self.settings.prefix.is_empty() {
            Path::from(key.as_str())
        } else {
            Path::from(format!("{}/{}", self.settings.prefix, key.as_str()))
        }
    }
}

fn failed(what: &str, key: &FileKey, e: object_store::Error) -> StorageError {
    match e {
        object_store::Error::NotFound { .. } => StorageError::NotFound,
        e => StorageError::Unavailable(format!("S3 {what} {}: {e}", key.as_str())),
    }
}

#[async_trait]
impl FileStore for S3Store {
    async fn put(&self, key: &FileKey, bytes: Vec<u8>) -> Result<StoredFile, StorageError> {
        let stored = StoredFile {
            key: key.clone(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        };
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map_err(|e| failed("put", key, e))?;
        Ok(stored)
    }

    async fn get(&self, key: &FileKey) -> Result<Vec<u8>, StorageError> {
        let result = self
            .store
            .get(&self.path(key))
            .await
            .map_err(|e| failed("get", key, e))?;
        let bytes = result.bytes().await.map_err(|e| failed("get", key, e))?;
        Ok(bytes.into())
    }

    async fn head(&self, key: &FileKey) -> Result<FileInfo, StorageError> {
        let meta = self
            .store
            .head(&self.path(key))
            .await
            .map_err(|e| failed("head", key, e))?;
        Ok(FileInfo { bytes: meta.size })
    }

    async fn delete(&self, key: &FileKey) -> Result<(), StorageError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed("delete", key, e)),
        }
    }

    fn describe(&self) -> String {
        let s = &self.settings;
        let at = s.endpoint.as_deref().unwrap_or("AWS");
        if s.prefix.is_empty() {
            format!("s3://{} at {at}", s.bucket)
        } else {
            format!("s3://{}/{} at {at}", s.bucket, s.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            s3_endpoint: Some("http://127.0.0.1:9000/".into()),
            s3_access_key_id: Some("AKIDEXAMPLE".into()),
            s3_secret_access_key: Some(Secret::new("wJalrXUtnFEMI-hunter2")),
            ..Config::default()
        }
    }

    #[test]
    fn the_url_names_bucket_and_prefix() {
        let s = S3Settings::from_config("s3://longshore-files/prod/pdf/", &config()).unwrap();
        assert_eq!(s.bucket, "longshore-files");
        assert_eq!(s.prefix, "prod/pdf");
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(s.region, "us-east-1");
        assert!(s.path_style);
        assert!(!format!("{s:?}").contains("hunter2"), "secret printed");
        let store = S3Store::new(s).unwrap();
        assert_eq!(
            store
                .path(&FileKey::new("documents/a.pdf").unwrap())
                .as_ref(),
            "prod/pdf/documents/a.pdf"
        );
        assert!(!store.describe().contains("hunter2"));
        let bare = S3Settings::from_config("s3://bucket", &config()).unwrap();
        assert_eq!(bare.prefix, "");
    }

    #[test]
    fn bad_settings_name_their_variable() {
        for (url, var) in [
            ("s3://", "LONGSHORE_STORAGE_URL"),
            ("s3://Upper_Case", "LONGSHORE_STORAGE_URL"),
            ("s3://bucket/../up", "LONGSHORE_STORAGE_URL"),
        ] {
            let err = S3Settings::from_config(url, &config()).unwrap_err();
            assert!(err.to_string().contains(var), "{url}: {err}");
        }
        let half = Config {
            s3_secret_access_key: None,
            ..config()
        };
        let err = S3Settings::from_config("s3://bucket", &half).unwrap_err();
        assert!(
            err.to_string().contains("LONGSHORE_S3_ACCESS_KEY_ID"),
            "{err}"
        );
        let ftp = Config {
            s3_endpoint: Some("ftp://x".into()),
            ..config()
        };
        let err = S3Settings::from_config("s3://bucket", &ftp).unwrap_err();
        assert!(err.to_string().contains("LONGSHORE_S3_ENDPOINT"), "{err}");
    }
}
