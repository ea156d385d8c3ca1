//! [`MemoryKms`]: a deterministic, in-process KMS for tests and embedders.

use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::kms::{
    DataKey, EncryptionContext, GeneratedKey, KEY_LEN, KekId, KekVersion, KeyInfo, Kms, KmsError,
    NONCE_LEN, WrappedKey, aead_open, aead_seal, envelope_aad,
};
use domain::ports::SecretSource;

use crate::SeededSecrets;

/// A KMS whose KEK versions live in this value: data keys, nonces and KEKs all
/// come from [`SeededSecrets`], so a test run is reproducible. It wraps like a
/// real KMS does (AES-256-GCM over `domain::kms::envelope_aad`), so a key
/// wrapped for one tenant opens for no other, and it can be made unavailable
/// ([`MemoryKms::set_available`]) to test what happens when the KMS is down.
/// It passes `test-support`'s KMS contract. Never serve real traffic with it:
/// its keys are predictable.
pub struct MemoryKms {
    kek_id: KekId,
    secrets: SeededSecrets,
    state: Mutex<State>,
}

struct State {
    /// Version `i + 1` is `keks[i]`; `None` once retired.
    keks: Vec<Option<DataKey>>,
    available: bool,
    /// Calls made to this KMS (every port method), switched off or not.
    calls: u64,
}

impl fmt::Debug for MemoryKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryKms")
            .field("kek_id", &self.kek_id)
            .field("versions", &state.keks.len())
            .field("available", &state.available)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryKms {
    fn default() -> Self {
        Self::new(0x6b6d73)
    }
}

impl MemoryKms {
    /// A KMS with one KEK version, its keys drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let secrets = SeededSecrets::new(seed);
        let first = DataKey::generate(&secrets);
        Self {
            kek_id: KekId::parse("memory-kek").expect("a valid literal KEK id"),
            secrets,
            state: Mutex::new(State {
                keks: vec![Some(first)],
                available: true,
                calls: 0,
            }),
        }
    }

    /// While `false`, every call fails with `KmsError::Unavailable`.
    pub fn set_available(&self, available: bool) {
        self.lock().available = available;
    }

    /// How many calls were made to this KMS so far (every port method,
    /// answered or not): a test that a refused request never reached the KMS
    /// reads it before and after.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// Counts a call and refuses it while switched off.
    fn call(&self) -> Result<std::sync::MutexGuard<'_, State>, KmsError> {
        let mut state = self.lock();
        state.calls += 1;
        Self::check(&state)?;
        Ok(state)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check(state: &State) -> Result<(), KmsError> {
        if state.available {
            Ok(())
        } else {
            Err(KmsError::Unavailable(
                "the in-memory KMS is switched off".into(),
            ))
        }
    }

    fn current(state: &State) -> KekVersion {
        KekVersion::new(u32::try_from(state.keks.len()).unwrap_or(u32::MAX))
            .unwrap_or(KekVersion::FIRST)
    }

    fn wrap(&self, state: &State, key: &DataKey, context: &EncryptionContext) -> WrappedKey {
        let version = Self::current(state);
        // The current version is never retired.
        let kek = state.keks[state.keks.len() - 1]
            .as_ref()
            .expect("the current KEK version is never retired");
        let mut nonce = [0_u8; NONCE_LEN];
        self.secrets.fill(&mut nonce);
        let aad = envelope_aad(&self.kek_id, version, context);
        let mut ciphertext = nonce.to_vec();
        ciphertext.extend(aead_seal(kek.expose(), &nonce, key.expose(), &aad));
        WrappedKey::new(self.kek_id.clone(), version, ciphertext)
    }

    fn open(
        &self,
        state: &State,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        if wrapped.kek_id() != &self.kek_id {
            return Err(KmsError::UnknownKek(wrapped.kek_id().clone()));
        }
        let version = wrapped.kek_version();
        let index = usize::try_from(version.get() - 1).unwrap_or(usize::MAX);
        let kek = state
            .keks
            .get(index)
            .ok_or(KmsError::UnknownKeyVersion {
                kek_id: self.kek_id.clone(),
                version,
            })?
            .as_ref()
            .ok_or(KmsError::RetiredKeyVersion {
                kek_id: self.kek_id.clone(),
                version,
            })?;
        let bytes = wrapped.ciphertext();
        if bytes.len() < NONCE_LEN {
            return Err(KmsError::Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let mut fixed = [0_u8; NONCE_LEN];
        fixed.copy_from_slice(nonce);
        let aad = envelope_aad(&self.kek_id, version, context);
        let plain = aead_open(kek.expose(), &fixed, sealed, &aad).ok_or(KmsError::Undecryptable)?;
        if plain.len() != KEY_LEN {
            return Err(KmsError::Undecryptable);
        }
        DataKey::from_slice(&plain)
    }

    fn info(&self, state: &State) -> KeyInfo {
        KeyInfo {
            backend: "memory",
            kek_id: self.kek_id.clone(),
            current_version: Self::current(state),
            versions: (1..=state.keks.len())
                .filter(|v| state.keks[v - 1].is_some())
                .filter_map(|v| KekVersion::new(u32::try_from(v).ok()?))
                .collect(),
            ephemeral: true,
        }
    }
}

#[async_trait]
impl Kms for MemoryKms {
    async fn generate_data_key(
        &self,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError> {
        let state = self.call()?;
        let plaintext = DataKey::generate(&self.secrets);
        let wrapped = self.wrap(&state, &plaintext, context);
        Ok(GeneratedKey { plaintext, wrapped })
    }

    async fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        let state = self.call()?;
        self.open(&state, wrapped, context)
    }

    async fn rewrap(
        &self,
        wrapped: &WrappedKey,
        context: &EncryptionContext,
    ) -> Result<WrappedKey, KmsError> {
        let state = self.call()?;
        let key = self.open(&state, wrapped, context)?;
        Ok(self.wrap(&state, &key, context))
    }

    async fn rotate(&self) -> Result<KeyInfo, KmsError> {
        let mut state = self.call()?;
        if Self::current(&state).next().is_none() {
            return Err(KmsError::Unavailable("no KEK version is left".into()));
        }
        let next = DataKey::generate(&self.secrets);
        state.keks.push(Some(next));
        Ok(self.info(&state))
    }

    async fn key_info(&self) -> Result<KeyInfo, KmsError> {
        let state = self.call()?;
        Ok(self.info(&state))
    }

    async fn retire(&self, version: KekVersion) -> Result<KeyInfo, KmsError> {
        let mut state = self.call()?;
        if version == Self::current(&state) {
            return Err(KmsError::Refused(format!(
                "{version} is the current KEK version; rotate first"
            )));
        }
        let index = usize::try_from(version.get() - 1).unwrap_or(usize::MAX);
        let slot = state
            .keks
            .get_mut(index)
            .ok_or_else(|| KmsError::UnknownKeyVersion {
                kek_id: self.kek_id.clone(),
                version,
            })?;
        // Dropping the key zeroizes it.
        *slot = None;
        Ok(self.info(&state))
    }
}
