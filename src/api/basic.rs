//! HTTP Basic credentials (RFC 7617).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The user name and password of an `Authorization: Basic ...` header.
pub fn credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::credentials;

    #[test]
    fn decodes_basic_credentials() {
        // "admin:pa:ss" — the password may hold colons.
        assert_eq!(
            credentials("Basic YWRtaW46cGE6c3M="),
            Some(("admin".into(), "pa:ss".into()))
        );
        assert_eq!(credentials("Bearer YWRtaW46cGE6c3M="), None);
        assert_eq!(credentials("Basic !!!"), None);
        assert_eq!(credentials("Basic YWRtaW4="), None); // no colon
    }
}
