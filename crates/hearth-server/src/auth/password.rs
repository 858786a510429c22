//! Argon2id password hashing, kept off the async runtime.
//!
//! Hashing costs ~20 ms of CPU and 19 MiB of memory by design (OWASP's Argon2id baseline:
//! m=19456 KiB, t=2, p=1). Running it on the async workers would stall every connection on
//! the node, so it runs on the blocking pool, and a semaphore caps how many run at once so
//! a login flood costs bounded memory and leaves cores for everything else.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use hearth_core::value::Password;
use tokio::sync::Semaphore;

use crate::error::ApiError;

pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when an account does not exist,
    /// so that a login for an unknown email costs the same time as a wrong password.
    decoy: String,
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        let decoy = hash_now(&hearth_core::secret::generate_secret())
            .expect("hashing a random password cannot fail");
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            decoy,
        }
    }

    /// The PHC string (`$argon2id$v=19$...`) of a new password.
    pub async fn hash(&self, password: Password) -> Result<String, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || hash_now(password.expose()))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `phc`; with `None`, checks against the decoy and fails.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.decoy.clone());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&phc)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(ApiError::internal)?;
        Ok(known && ok)
    }
}

fn hash_now(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}
