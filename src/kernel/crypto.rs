//! Small cryptographic helpers: AES-256-GCM for secrets at rest, CSPRNG tokens, hashing.
//!
//! Ciphertexts are `base64(nonce || ciphertext)` with a fresh 96-bit nonce per message, so the same
//! secret never encrypts to the same text twice.

use aes_gcm::{Aes256Gcm, KeyInit, Nonce, aead::Aead};
use anyhow::{Context, anyhow};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use hmac::{Hmac, Mac};
use rand::{Rng, RngExt};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// Encrypts and decrypts provider secrets with the key from `ENCRYPTION_KEY`.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
    key: [u8; 32],
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// Accepts the key as 64 hex characters or as base64 of 32 bytes.
    pub fn from_setting(setting: &SecretString) -> anyhow::Result<Self> {
        let raw = setting.expose_secret().trim();
        let bytes = if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(raw).context("not valid hex")?
        } else {
            STANDARD.decode(raw).context("not valid base64 or hex")?
        };
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow!("the key must be exactly 32 bytes"))?;
        let aead = Aes256Gcm::new_from_slice(&key).map_err(|_| anyhow!("invalid key length"))?;
        Ok(Self { aead, key })
    }

    pub fn encrypt(&self, plaintext: &str) -> anyhow::Result<String> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let nonce = Nonce::try_from(&nonce_bytes[..]).map_err(|_| anyhow!("nonce length"))?;
        let ciphertext = self
            .aead
            .encrypt(&nonce, plaintext.as_bytes())
            .map_err(|_| anyhow!("encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ciphertext);
        Ok(STANDARD.encode(out))
    }

    pub fn decrypt(&self, encoded: &str) -> anyhow::Result<SecretString> {
        let data = STANDARD
            .decode(encoded)
            .context("ciphertext is not base64")?;
        if data.len() <= NONCE_LEN {
            return Err(anyhow!("ciphertext too short"));
        }
        let (nonce_bytes, ciphertext) = data.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce_bytes).map_err(|_| anyhow!("nonce length"))?;
        let plaintext = self
            .aead
            .decrypt(&nonce, ciphertext)
            .map_err(|_| anyhow!("decryption failed: wrong key or tampered data"))?;
        Ok(SecretString::from(
            String::from_utf8(plaintext).context("plaintext is not UTF-8")?,
        ))
    }

    /// Keyed hash for low-entropy secrets (6-digit codes): without the key a stolen database
    /// does not let anyone brute-force the codes offline.
    pub fn keyed_hash(&self, value: &str) -> String {
        hmac_sha256_hex(&self.key, value.as_bytes())
    }
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A URL-safe random token with 256 bits of entropy.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A uniformly random decimal code of `digits` digits (leading zeros kept).
pub fn random_digits(digits: u32) -> String {
    let upper = 10u32.pow(digits);
    let value = rand::rng().random_range(0..upper);
    format!("{value:0width$}", width = digits as usize)
}

/// Hex SHA-256, used to store high-entropy tokens (refresh tokens, login codes) by hash only.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// URL-safe base64 of SHA-256 (PKCE `S256` code challenges).
pub fn sha256_base64url(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// Hex HMAC-SHA256 of `message` under `key`.
#[expect(
    clippy::expect_used,
    reason = "HMAC is defined for keys of any length: new_from_slice cannot fail"
)]
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key)
        .expect("HMAC accepts keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Compares two secrets in constant time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::from_setting(&SecretString::from(STANDARD.encode(random_bytes::<32>()))).unwrap()
    }

    #[test]
    fn round_trips_and_randomises_nonces() {
        let cipher = cipher();
        let a = cipher.encrypt("EAAG-token").unwrap();
        let b = cipher.encrypt("EAAG-token").unwrap();
        assert_ne!(a, b);
        assert!(!a.contains("EAAG"));
        assert_eq!(cipher.decrypt(&a).unwrap().expose_secret(), "EAAG-token");
    }

    #[test]
    fn rejects_other_key_and_tampering() {
        let (one, two) = (cipher(), cipher());
        let sealed = one.encrypt("secret").unwrap();
        assert!(two.decrypt(&sealed).is_err());
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(one.decrypt(&STANDARD.encode(bytes)).is_err());
    }

    #[test]
    fn accepts_hex_keys_and_rejects_short_ones() {
        assert!(Cipher::from_setting(&SecretString::from("ab".repeat(32))).is_ok());
        assert!(Cipher::from_setting(&SecretString::from("c2hvcnQ=")).is_err());
    }

    #[test]
    fn digits_have_fixed_width() {
        for _ in 0..200 {
            let code = random_digits(6);
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
