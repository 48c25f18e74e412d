//! Identifier rules. Host ids become URL segments and database keys, so they
//! are restricted to a safe alphabet.

use thiserror::Error;

/// Longest accepted host id.
pub const MAX_HOST_ID_LEN: usize = 64;

/// Why a host id was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostIdError {
    #[error("host_id is empty")]
    Empty,
    #[error("host_id is {0} characters long; the limit is {MAX_HOST_ID_LEN}")]
    TooLong(usize),
    #[error("host_id {0:?} may only contain letters, digits, '.', '_' and '-', and must not start with '.' or '-'")]
    BadCharacters(String),
}

/// Checks a host id: 1–64 of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
pub fn validate_host_id(id: &str) -> Result<(), HostIdError> {
    if id.is_empty() {
        return Err(HostIdError::Empty);
    }
    let len = id.chars().count();
    if len > MAX_HOST_ID_LEN {
        return Err(HostIdError::TooLong(len));
    }
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok_chars || id.starts_with('.') || id.starts_with('-') {
        return Err(HostIdError::BadCharacters(id.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_host_names_are_accepted() {
        for id in ["gpu-01", "node7.lab", "A_b-9", "x"] {
            assert_eq!(validate_host_id(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn path_like_and_odd_ids_are_refused() {
        for id in [
            "", "..", "../etc", "a/b", "a\\b", ".hidden", "-rf", "a b", "gpü", "a\0b",
        ] {
            assert!(validate_host_id(id).is_err(), "{id:?} should be refused");
        }
        assert_eq!(
            validate_host_id(&"a".repeat(65)),
            Err(HostIdError::TooLong(65))
        );
    }
}
