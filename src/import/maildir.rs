//! Maildir and Maildir++: message files in `cur/` and `new/`, flags in the
//! file name after `:2,`, sub-folders as `.Parent.Child` directories.

use std::path::Path;

use crate::archive::flags;

/// A directory is a Maildir if it has `cur/` and `new/`.
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() && dir.join("new").is_dir()
}

/// The folder names of a Maildir++ sub-folder directory (`.Sent.2019` ->
/// `["Sent", "2019"]`), or `None` for a directory that is not one.
pub fn subfolder(dir_name: &str) -> Option<Vec<&str>> {
    let rest = dir_name.strip_prefix('.')?;
    let parts: Vec<&str> = rest.split('.').collect();
    (!rest.is_empty() && parts.iter().all(|p| !p.is_empty())).then_some(parts)
}

/// The flags encoded in a Maildir file name (`...:2,FRS`). `T` (trashed)
/// is not carried over: an archive does not import deletion marks.
pub fn file_flags(file_name: &str) -> u32 {
    let Some((_, info)) = file_name.rsplit_once(":2,") else {
        return 0;
    };
    info.chars().fold(0, |bits, c| {
        bits | match c {
            'S' => flags::SEEN,
            'R' => flags::ANSWERED,
            'F' => flags::FLAGGED,
            'D' => flags::DRAFT,
            _ => 0,
        }
    })
}

/// The delivery time in a Maildir file name (`1700000000.M1P2.host`).
pub fn file_time(file_name: &str) -> Option<i64> {
    file_name.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names() {
        assert_eq!(
            file_flags("1700000000.M1P2.host:2,FRS"),
            flags::FLAGGED | flags::ANSWERED | flags::SEEN
        );
        assert_eq!(file_flags("1700000000.M1P2.host:2,T"), 0);
        assert_eq!(file_flags("1700000000.M1P2.host"), 0);
        assert_eq!(file_time("1700000000.M1P2.host:2,S"), Some(1700000000));
        assert_eq!(subfolder(".Sent.2019"), Some(vec!["Sent", "2019"]));
        assert_eq!(subfolder("cur"), None);
        assert_eq!(subfolder(".a..b"), None);
    }
}
