//! Password hashing: argon2id for new hashes; bcrypt hashes from the previous system still verify.

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};

/// Hashes `password` with argon2id and a random salt (PHC string).
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// Verifies `password` against an argon2 PHC string or a bcrypt hash (`$2a$`, `$2b$`, `$2y$`).
pub fn verify(password: &str, stored: &str) -> bool {
    if stored.starts_with("$2") {
        return bcrypt::verify(password, stored).unwrap_or(false);
    }
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether a stored hash should be replaced by an argon2id one after a successful login.
pub fn needs_rehash(stored: &str) -> bool {
    !stored.starts_with("$argon2id$")
}

/// A hash to verify against when the user does not exist, so a login takes the same time whether
/// or not the e-mail is known.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    // Hashing a constant does not fail; if it ever did, verifying against "" fails fast, which
    // costs only the equal timing, never a login.
    DUMMY.get_or_init(|| hash("dummy password for timing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("wrong horse", &stored));
        assert!(!needs_rehash(&stored));
    }

    #[test]
    fn bcrypt_hashes_from_the_previous_system_verify() {
        let stored = bcrypt::hash("senha-antiga", 4).unwrap();
        assert!(verify("senha-antiga", &stored));
        assert!(!verify("outra", &stored));
        assert!(needs_rehash(&stored));
    }
}
