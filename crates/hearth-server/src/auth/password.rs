//! Argon2id password hashing, kept off the async runtime, in bounded, reused memory.
//!
//! Hashing costs ~20 ms of CPU and 19 MiB of memory by design (OWASP's Argon2id baseline:
//! m=19456 KiB, t=2, p=1). Running it on the async workers would stall every connection on
//! the node, so it runs on the blocking pool, and a semaphore caps how many run at once so
//! a login flood costs bounded CPU.
//!
//! The 19 MiB working memory is allocated once per permit and reused: allocating it per
//! hash made glibc keep the freed blocks in per-thread arenas, and a server that had
//! hashed a few thousand passwords sat at ~900 MB of RSS. With the pool it is at most
//! `permits × 19 MiB`, for the life of the process.

use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use hearth_core::value::Password;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Working memory for one hash at a time.
type Memory = Vec<Block>;

pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Idle working memories; never more than there are permits.
    memories: Arc<Mutex<Vec<Memory>>>,
    /// A real hash of a random password, verified against when an account does not exist,
    /// so that a login for an unknown email costs the same time as a wrong password.
    decoy: String,
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        // The decoy's working memory is dropped, not pooled: a server nobody has signed in
        // to yet should not hold 19 MiB for it.
        let decoy = hash_now(&mut Memory::new(), &hearth_core::secret::generate_secret())
            .expect("hashing a random password cannot fail");
        Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            memories: Arc::new(Mutex::new(Vec::new())),
            decoy,
        }
    }

    /// Runs `work` on the blocking pool with a working memory, under a permit.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        let mut memory = self
            .memories
            .lock()
            .expect("memory pool lock poisoned")
            .pop()
            .unwrap_or_default();
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = work(&mut memory);
            (result, memory)
        })
        .await
        .map_err(ApiError::internal)?;
        self.memories
            .lock()
            .expect("memory pool lock poisoned")
            .push(memory);
        Ok(result)
    }

    /// The PHC string (`$argon2id$v=19$...`) of a new password.
    pub async fn hash(&self, password: Password) -> Result<String, ApiError> {
        self.run(move |memory| hash_now(memory, password.expose()))
            .await?
            .map_err(ApiError::internal)
    }

    /// Whether `password` matches `phc`; with `None`, checks against the decoy and fails.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, ApiError> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.decoy.clone());
        let ok = self
            .run(move |memory| verify_now(memory, password.as_bytes(), &phc).unwrap_or(false))
            .await?;
        Ok(known && ok)
    }
}

/// Grows `memory` to what `params` needs and returns exactly that much of it.
fn working_memory<'m>(memory: &'m mut Memory, params: &Params) -> &'m mut [Block] {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

fn hash_now(memory: &mut Memory, password: &str) -> Result<String, argon2::password_hash::Error> {
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                out,
                working_memory(memory, &params),
            )
            .map_err(Into::into)
    })?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Recomputes the hash with the parameters stored in `phc` (so hashes made with older
/// parameters still verify) and compares in constant time.
fn verify_now(
    memory: &mut Memory,
    password: &[u8],
    phc: &str,
) -> Result<bool, argon2::password_hash::Error> {
    let parsed = PasswordHash::new(phc)?;
    let expected = parsed.hash.ok_or(argon2::password_hash::Error::Password)?;
    let params = Params::try_from(&parsed)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let salt = parsed
        .salt
        .ok_or(argon2::password_hash::Error::SaltInvalid(
            argon2::password_hash::errors::InvalidValue::Malformed,
        ))?;
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let actual = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(
                password,
                salt_bytes,
                out,
                working_memory(memory, &params),
            )
            .map_err(Into::into)
    })?;
    // Output's equality is constant-time.
    Ok(actual == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[tokio::test]
    async fn hashes_verify_here_and_with_the_reference_implementation() {
        let hasher = PasswordHasher::new(2);
        let phc = hasher
            .hash(Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            hasher
                .verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("correct horse battery".into(), None)
                .await
                .unwrap(),
            "the decoy never matches"
        );
        // Interoperable with argon2's own verifier, both ways.
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let reference = {
            use argon2::PasswordHasher as _;
            let older = Params::new(8 * 1024, 3, 1, None).unwrap();
            Argon2::new(Algorithm::Argon2id, Version::V0x13, older)
                .hash_password(b"pw with other params", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string()
        };
        assert!(
            hasher
                .verify("pw with other params".into(), Some(reference))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn working_memory_is_reused_not_reallocated() {
        let hasher = PasswordHasher::new(2);
        for _ in 0..4 {
            hasher
                .hash(Password::parse("correct horse").unwrap())
                .await
                .unwrap();
        }
        let pool = hasher.memories.lock().unwrap();
        assert!(
            pool.len() <= 2,
            "at most one working memory per permit, got {}",
            pool.len()
        );
    }

    #[tokio::test]
    async fn garbage_hashes_do_not_verify() {
        let hasher = PasswordHasher::new(1);
        for phc in [
            "",
            "$argon2id$",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$",
        ] {
            assert!(
                !hasher
                    .verify("x".repeat(8), Some(phc.into()))
                    .await
                    .unwrap(),
                "{phc}"
            );
        }
    }
}
