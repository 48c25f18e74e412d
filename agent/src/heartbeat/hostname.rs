//! The machine's own name: shown as-is in heartbeats, and the default host id
//! once squeezed into the host-id alphabet.

use sysinfo::System;
use trainyard_core::ids::MAX_HOST_ID_LEN;

use super::sanitize::truncate_text;

/// Host id used when the hostname has nothing usable in it.
const FALLBACK_HOST_ID: &str = "trainyard-host";

/// The OS hostname, or empty when the OS will not say.
pub fn os_hostname() -> String {
    truncate_text(System::host_name().unwrap_or_default())
}

/// A host id derived from the OS hostname, valid per `validate_host_id`.
pub fn default_host_id() -> String {
    sanitize_host_id(&os_hostname())
}

/// Maps any text onto the host-id alphabet: characters outside
/// `[A-Za-z0-9._-]` become `-`, leading `.`/`-` are dropped (they would look
/// like hidden files or flags), and the result is cut to the length limit.
fn sanitize_host_id(name: &str) -> String {
    let mapped: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .skip_while(|c| matches!(c, '.' | '-'))
        .take(MAX_HOST_ID_LEN)
        .collect();
    if mapped.is_empty() {
        FALLBACK_HOST_ID.to_string()
    } else {
        mapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::validate_host_id;

    #[test]
    fn hostnames_become_valid_host_ids() {
        assert_eq!(sanitize_host_id("gpu-01.lab"), "gpu-01.lab");
        assert_eq!(sanitize_host_id("Büro PC"), "B-ro-PC");
        assert_eq!(sanitize_host_id("..-x"), "x");
        assert_eq!(sanitize_host_id(""), FALLBACK_HOST_ID);
        assert_eq!(sanitize_host_id("---"), FALLBACK_HOST_ID);
        for name in [
            "a".repeat(300),
            "日本語".into(),
            " spaced ".into(),
            "-.-a/b".into(),
        ] {
            let id = sanitize_host_id(&name);
            assert_eq!(validate_host_id(&id), Ok(()), "{name:?} -> {id:?}");
        }
    }

    #[test]
    fn this_machine_has_a_valid_default_host_id() {
        assert_eq!(validate_host_id(&default_host_id()), Ok(()));
    }
}
