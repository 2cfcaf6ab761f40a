//! Global privileges and folder privileges, with MailStore's names.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// A user's global privileges (MailStore: `none`, `admin`, `login`, ...).
/// `admin` stands alone: it implies every other privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobalPrivileges(u32);

impl GlobalPrivileges {
    pub const NONE: GlobalPrivileges = GlobalPrivileges(0);
    pub const ADMIN: GlobalPrivileges = GlobalPrivileges(1);
    pub const LOGIN: GlobalPrivileges = GlobalPrivileges(1 << 1);
    pub const CHANGE_PASSWORD: GlobalPrivileges = GlobalPrivileges(1 << 2);
    pub const ARCHIVE: GlobalPrivileges = GlobalPrivileges(1 << 3);
    pub const MODIFY_ARCHIVE_PROFILES: GlobalPrivileges = GlobalPrivileges(1 << 4);
    pub const EXPORT: GlobalPrivileges = GlobalPrivileges(1 << 5);
    pub const MODIFY_EXPORT_PROFILES: GlobalPrivileges = GlobalPrivileges(1 << 6);
    pub const DELETE: GlobalPrivileges = GlobalPrivileges(1 << 7);

    /// What a new user gets unless told otherwise.
    pub const DEFAULT: GlobalPrivileges = GlobalPrivileges(Self::LOGIN.0 | Self::CHANGE_PASSWORD.0);

    const NAMES: [(&'static str, GlobalPrivileges); 8] = [
        ("admin", Self::ADMIN),
        ("login", Self::LOGIN),
        ("changePassword", Self::CHANGE_PASSWORD),
        ("archive", Self::ARCHIVE),
        ("modifyArchiveProfiles", Self::MODIFY_ARCHIVE_PROFILES),
        ("export", Self::EXPORT),
        ("modifyExportProfiles", Self::MODIFY_EXPORT_PROFILES),
        ("delete", Self::DELETE),
    ];

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn from_bits(bits: u32) -> GlobalPrivileges {
        GlobalPrivileges(bits & 0xff)
    }

    /// True if the user holds `privilege`, directly or through `admin`.
    pub fn has(self, privilege: GlobalPrivileges) -> bool {
        self.0 & Self::ADMIN.0 != 0 || (self.0 & privilege.0 == privilege.0 && privilege.0 != 0)
    }
}

impl FromStr for GlobalPrivileges {
    type Err = Error;

    /// Parses a comma-separated list; names match case-insensitively.
    fn from_str(text: &str) -> Result<Self, Error> {
        let names: Vec<(&str, u32)> = Self::NAMES.iter().map(|(n, p)| (*n, p.0)).collect();
        let bits = parse_set(
            text,
            "global privilege",
            &names,
            "none, admin, login, changePassword, archive, modifyArchiveProfiles, export, \
             modifyExportProfiles or delete",
        )?;
        if bits & Self::ADMIN.0 != 0 && bits != Self::ADMIN.0 {
            return Err(Error::Invalid(
                "`admin` stands alone: it implies every other privilege".into(),
            ));
        }
        Ok(GlobalPrivileges(bits))
    }
}

impl fmt::Display for GlobalPrivileges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(_, p)| self.0 & p.0 != 0)
            .map(|(n, _)| *n)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// A user's privileges on one archive: `none` or any set of read, write, delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FolderPrivileges(u8);

impl FolderPrivileges {
    pub const NONE: FolderPrivileges = FolderPrivileges(0);
    pub const READ: FolderPrivileges = FolderPrivileges(1);
    pub const WRITE: FolderPrivileges = FolderPrivileges(2);
    pub const DELETE: FolderPrivileges = FolderPrivileges(4);

    const NAMES: [(&'static str, FolderPrivileges); 3] = [
        ("read", Self::READ),
        ("write", Self::WRITE),
        ("delete", Self::DELETE),
    ];

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> FolderPrivileges {
        FolderPrivileges(bits & 7)
    }

    pub fn is_none(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, other: FolderPrivileges) -> bool {
        self.0 & other.0 == other.0
    }
}

impl FromStr for FolderPrivileges {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let names: Vec<(&str, u32)> = Self::NAMES
            .iter()
            .map(|(n, p)| (*n, u32::from(p.0)))
            .collect();
        let bits = parse_set(
            text,
            "folder privilege",
            &names,
            "none, or any of read, write, delete",
        )?;
        Ok(FolderPrivileges(bits as u8))
    }
}

impl fmt::Display for FolderPrivileges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        let names: Vec<&str> = Self::NAMES
            .iter()
            .filter(|(_, p)| self.contains(*p))
            .map(|(n, _)| *n)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// Parses `none` or a comma-separated set of `names` (matched
/// case-insensitively) into bits; refuses empty entries, unknown names and
/// `none` combined with others.
fn parse_set(text: &str, what: &str, names: &[(&str, u32)], expected: &str) -> Result<u32, Error> {
    let words: Vec<&str> = text.split(',').map(str::trim).collect();
    if words.iter().any(|w| w.is_empty()) {
        return Err(Error::Invalid(format!("{what}s: empty entry in {text:?}")));
    }
    if words.len() == 1 && words[0].eq_ignore_ascii_case("none") {
        return Ok(0);
    }
    let mut bits = 0;
    for word in &words {
        if word.eq_ignore_ascii_case("none") {
            return Err(Error::Invalid(format!(
                "{what}s: `none` cannot be combined with others"
            )));
        }
        let Some((_, bit)) = names.iter().find(|(n, _)| n.eq_ignore_ascii_case(word)) else {
            return Err(Error::Invalid(format!(
                "unknown {what} {word:?} (expected {expected})"
            )));
        };
        bits |= bit;
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_privileges_round_trip() {
        for text in [
            "none",
            "read",
            "read,write",
            "read,write,delete",
            "read,delete",
        ] {
            assert_eq!(text.parse::<FolderPrivileges>().unwrap().to_string(), text);
        }
        assert_eq!(
            "Write, READ"
                .parse::<FolderPrivileges>()
                .unwrap()
                .to_string(),
            "read,write"
        );
    }

    #[test]
    fn invalid_folder_privileges_are_refused() {
        for text in ["", "reed", "read,,write", "none,read", "all"] {
            assert!(
                text.parse::<FolderPrivileges>().is_err(),
                "{text:?} accepted"
            );
        }
    }

    #[test]
    fn global_privileges_rules() {
        let p: GlobalPrivileges = "login,changePassword".parse().unwrap();
        assert!(p.has(GlobalPrivileges::LOGIN));
        assert!(!p.has(GlobalPrivileges::EXPORT));
        assert!(!GlobalPrivileges::NONE.has(GlobalPrivileges::LOGIN));
        let admin: GlobalPrivileges = "admin".parse().unwrap();
        assert!(admin.has(GlobalPrivileges::DELETE) && admin.has(GlobalPrivileges::LOGIN));
        assert!("admin,login".parse::<GlobalPrivileges>().is_err());
        assert!("login,fly".parse::<GlobalPrivileges>().is_err());
        assert_eq!(p.to_string(), "login,changePassword");
    }
}
