use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::{free_port, port_open, wait_until};

/// The release the tests are written against; `.ci/run` installs the same.
const ADVICE: &str = "Install the S3 test server: \
     `cargo install s3s-fs --version =0.14.1 --features binary --locked`.";

/// A real S3-compatible server of its own (`s3s-fs`, from crates.io): random loopback port,
/// objects as files in a temp folder, SigV4 authentication on with a throwaway key pair, and one
/// empty bucket ready. Stopped and removed on drop.
pub struct TestS3 {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl TestS3 {
    /// The bucket that exists from the start.
    pub const BUCKET: &'static str = "longshore-test";
    /// The access key id the server accepts.
    pub const ACCESS_KEY_ID: &'static str = "longshore-test-key";
    /// The secret access key the server accepts.
    pub const SECRET_ACCESS_KEY: &'static str = "longshore-test-secret-0123456789";

    /// Starts a server and waits until it accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // s3s-fs keeps a bucket as a folder under its root.
        std::fs::create_dir(dir.path().join(Self::BUCKET)).expect("create the bucket");
        let port = free_port();
        let child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", Self::ACCESS_KEY_ID])
            .args(["--secret-key", Self::SECRET_ACCESS_KEY])
            .arg(dir.path())
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs");
        let server = TestS3 {
            child: Some(child),
            port,
            dir,
        };
        assert!(
            wait_until(Duration::from_secs(10), || port_open(port)),
            "s3s-fs did not start on port {port}"
        );
        server
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://<bucket>/<prefix>`, the value of `LONGSHORE_STORAGE_URL`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", Self::BUCKET)
    }

    /// The environment a Longshore process needs to store files here under `prefix`.
    pub fn env(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("LONGSHORE_STORAGE_URL", self.url(prefix)),
            ("LONGSHORE_S3_ENDPOINT", self.endpoint()),
            ("LONGSHORE_S3_REGION", "us-east-1".to_owned()),
            ("LONGSHORE_S3_ACCESS_KEY_ID", Self::ACCESS_KEY_ID.to_owned()),
            (
                "LONGSHORE_S3_SECRET_ACCESS_KEY",
                Self::SECRET_ACCESS_KEY.to_owned(),
            ),
            ("LONGSHORE_S3_PATH_STYLE", "true".to_owned()),
        ]
    }

    /// Where the server keeps the object `key` of the test bucket on disk (to check what it
    /// really holds).
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.dir.path().join(Self::BUCKET).join(key)
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `s3s-fs` on PATH or in cargo's install folder, or a panic saying how to install it.
fn binary() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(Path::new(&home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("s3s-fs"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`s3s-fs` not found. {ADVICE}"))
}
