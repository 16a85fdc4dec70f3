//! Secrets at rest (gateway and task signing secrets, task queues' credentials): sealed with
//! ChaCha20-Poly1305 (the `ring` AEAD) under a master key, so a copy of the database alone does
//! not reveal them.
//!
//! The master keys come from `LONGSHORE_SECRETS_KEYS` (`kid:base64,kid:base64`, 32-byte keys:
//! the first seals, every one opens, so operators rotate by putting a new key first); when it is
//! empty, from a key generated once and kept in `<data_dir>/secrets.key` (mode 0600), which suits
//! the embedded deployment and processes that share a data folder. A sealed value reads
//! `lsenc1:<kid>:<base64url(nonce ‖ ciphertext ‖ tag)>`; what it belongs to (an endpoint, a
//! tenant, a queue) is the associated data, so a sealed value copied elsewhere does not open. Values stored before sealing
//! existed (plaintext `whsec_…`) still open, and are re-sealed on their next read, as are values
//! sealed under a key that is no longer first.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as B64URL};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::config::{Config, Secret};

/// What every sealed value starts with (format version 1).
const PREFIX: &str = "lsenc1:";
/// The key file of the generated default, inside the data folder.
pub const KEY_FILE: &str = "secrets.key";

/// Why secrets cannot be sealed or opened. Never carries key material or secrets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SealError {
    /// The master keys are malformed or could not be read or created.
    #[error("secrets key: {0}")]
    Key(String),
    /// A stored value does not open: unknown key id, or tampered with.
    #[error("a stored secret does not open (key id `{0}`); is LONGSHORE_SECRETS_KEYS complete?")]
    Open(String),
}

/// The master keys: the first seals, all open.
pub struct SecretBox {
    sealing: String,
    keys: HashMap<String, LessSafeKey>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretBox")
            .field("sealing_kid", &self.sealing)
            .field("kids", &self.keys.len())
            .finish()
    }
}

impl SecretBox {
    /// Parses `kid:base64,kid:base64`.
    pub fn parse(raw: &str) -> Result<SecretBox, SealError> {
        let pairs = crate::config::sealing_keys(raw).map_err(SealError::Key)?;
        let sealing = pairs[0].0.clone();
        let mut keys = HashMap::new();
        for (kid, bytes) in pairs {
            let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
                .map_err(|_| SealError::Key(format!("{kid}: unusable key")))?;
            keys.insert(kid, LessSafeKey::new(unbound));
        }
        Ok(SecretBox { sealing, keys })
    }

    /// The configured keys, or the data folder's generated key (created on first use).
    pub fn load(config: &Config) -> Result<SecretBox, SealError> {
        match config
            .secrets_keys
            .as_ref()
            .map(Secret::expose)
            .filter(|k| !k.trim().is_empty())
        {
            Some(raw) => SecretBox::parse(raw),
            None => {
                if config.database_url().starts_with("postgres") {
                    tracing::warn!(
                        "LONGSHORE_SECRETS_KEYS is not set: webhook secrets are sealed with the key in \
                         the data folder; API processes on other hosts must share LONGSHORE_SECRETS_KEYS"
                    );
                }
                SecretBox::parse(&file_key(&config.data_dir)?)
            }
        }
    }

    /// Seals `secret` for the endpoint `context`.
    pub fn seal(&self, secret: &Secret, context: &str) -> Result<String, SealError> {
        let key = &self.keys[&self.sealing];
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut buf = secret.expose().as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(context.as_bytes()),
            &mut buf,
        )
        .map_err(|_| SealError::Key("sealing failed".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}:{}", self.sealing, B64URL.encode(out)))
    }

    /// Opens a stored value of the endpoint `context` (a plaintext legacy value as it is).
    pub fn open(&self, stored: &str, context: &str) -> Result<Secret, SealError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(Secret::new(stored));
        };
        let (kid, data) = rest.split_once(':').unwrap_or((rest, ""));
        let fail = || SealError::Open(kid.to_owned());
        let key = self.keys.get(kid).ok_or_else(fail)?;
        let mut bytes = B64URL.decode(data).map_err(|_| fail())?;
        if bytes.len() < NONCE_LEN {
            return Err(fail());
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| fail())?;
        let plain = key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut sealed)
            .map_err(|_| fail())?;
        let text = std::str::from_utf8(plain).map_err(|_| fail())?;
        Ok(Secret::new(text))
    }

    /// Opens the secrets that sign at `now` after rotations with overlap: `current`, and
    /// `previous` until `previous_until`.
    pub fn open_signing(
        &self,
        current: &str,
        previous: Option<&str>,
        previous_until: Option<i64>,
        now: i64,
        context: &str,
    ) -> Result<Vec<Secret>, SealError> {
        let mut out = vec![self.open(current, context)?];
        if let (Some(previous), Some(until)) = (previous, previous_until)
            && now < until
        {
            out.push(self.open(previous, context)?);
        }
        Ok(out)
    }

    /// True if `stored` is sealed under the current sealing key (nothing to re-seal).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(kid, _)| kid == self.sealing)
    }
}

/// Reads the data folder's key file, creating it first if there is none. Created complete and
/// then linked into place, so processes starting together all end up with the same key.
fn file_key(data_dir: &Path) -> Result<String, SealError> {
    let path = data_dir.join(KEY_FILE);
    let io =
        |what: &str, e: std::io::Error| SealError::Key(format!("{what} {}: {e}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(s) => return Ok(s.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io("read", e)),
        Err(_) => {}
    }
    std::fs::create_dir_all(data_dir).map_err(|e| io("create the folder of", e))?;
    let key: [u8; 32] = rand::random();
    let tmp = data_dir.join(format!(
        "{KEY_FILE}.{}.tmp",
        hex::encode(rand::random::<[u8; 6]>())
    ));
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        writeln!(f, "local:{}", BASE64.encode(key))?;
        f.sync_all()
    };
    let made = write().and_then(|()| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match made {
        Ok(()) => tracing::info!(path = %path.display(), "generated the webhook secrets key"),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io("create", e)),
    }
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| io("read", e))
}

/// The process's [`SecretBox`], loaded on first use (a failure is retried at the next use, and
/// surfaces as an error of the request that needed it rather than as a crash at start-up).
#[derive(Clone)]
pub struct Sealer {
    config: Arc<Config>,
    loaded: Arc<Mutex<Option<Arc<SecretBox>>>>,
}

impl Sealer {
    /// A sealer for `config`'s keys.
    pub fn new(config: Arc<Config>) -> Sealer {
        Sealer {
            config,
            loaded: Arc::default(),
        }
    }

    /// The keys, loading them if needed.
    pub fn get(&self) -> Result<Arc<SecretBox>, SealError> {
        let mut slot = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = slot.as_ref() {
            return Ok(b.clone());
        }
        let b = Arc::new(SecretBox::load(&self.config)?);
        *slot = Some(b.clone());
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_b64(byte: u8) -> String {
        BASE64.encode([byte; 32])
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_endpoint() {
        let b = SecretBox::parse(&format!("new:{},old:{}", key_b64(1), key_b64(2))).unwrap();
        let s = Secret::new("whsec_abc");
        let sealed = b.seal(&s, "whe_1").unwrap();
        assert!(sealed.starts_with("lsenc1:new:"));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(b.open(&sealed, "whe_1").unwrap().expose(), "whsec_abc");
        assert!(matches!(b.open(&sealed, "whe_2"), Err(SealError::Open(_))));
        assert!(b.is_current(&sealed));
        // Two seals of one secret differ (random nonce).
        assert_ne!(sealed, b.seal(&s, "whe_1").unwrap());
        // Tampering is detected.
        let mut t = sealed.clone();
        let last = t.pop().unwrap();
        t.push(if last == 'A' { 'B' } else { 'A' });
        assert!(b.open(&t, "whe_1").is_err());
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_marks_them_for_resealing() {
        let old = SecretBox::parse(&format!("old:{}", key_b64(2))).unwrap();
        let sealed = old.seal(&Secret::new("whsec_x"), "whe_1").unwrap();
        let rotated = SecretBox::parse(&format!("new:{},old:{}", key_b64(1), key_b64(2))).unwrap();
        assert_eq!(rotated.open(&sealed, "whe_1").unwrap().expose(), "whsec_x");
        assert!(!rotated.is_current(&sealed));
        let dropped = SecretBox::parse(&format!("new:{}", key_b64(1))).unwrap();
        let err = dropped.open(&sealed, "whe_1").unwrap_err().to_string();
        assert!(err.contains("old"), "{err}");
        // Plaintext from before sealing opens as it is, and is not current.
        assert_eq!(
            rotated.open("whsec_legacy", "whe_1").unwrap().expose(),
            "whsec_legacy"
        );
        assert!(!rotated.is_current("whsec_legacy"));
    }

    #[test]
    fn malformed_keys_are_refused_without_echoing_them() {
        for bad in [
            "",
            "nokid",
            "k:c2hvcnQ=",
            "bad kid:AAAA",
            &format!("a:{0},a:{0}", key_b64(1)),
        ] {
            let err = crate::config::sealing_keys(bad).unwrap_err();
            assert!(!err.contains("c2hvcnQ"), "{err}");
        }
        assert!(crate::config::sealing_keys(&format!("k1:{}", key_b64(3))).is_ok());
    }

    #[test]
    fn the_generated_key_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let a = file_key(dir.path()).unwrap();
        let b = file_key(dir.path()).unwrap();
        assert_eq!(a, b);
        assert!(crate::config::sealing_keys(&a).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read the key");
        }
    }
}
