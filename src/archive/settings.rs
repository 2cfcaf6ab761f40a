//! Settings changed at run time through the admin API. They are kept in
//! the catalog and override the configuration file's, so that the server
//! and the CLI beside it agree.

use serde_json::json;

use super::Archives;
use crate::config::DirectoryConfig;
use crate::error::{Error, Result};
use crate::store::AuditAction;

/// The key of the directory settings.
const DIRECTORY: &str = "directory";

impl Archives {
    /// Directory services as set at run time: `None` if never set (the
    /// configuration file's `[directory]` holds), `Some(None)` if switched off.
    pub fn directory_setting(&self) -> Result<Option<Option<DirectoryConfig>>> {
        self.catalog()
            .setting(DIRECTORY)?
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| Error::Corrupt(format!("the stored directory settings: {e}")))
            })
            .transpose()
    }

    /// Stores directory settings (the caller has checked them) and records
    /// the change, without the service account's password.
    pub fn set_directory_setting(&self, config: Option<&DirectoryConfig>) -> Result<()> {
        let text = serde_json::to_string(&config)
            .map_err(|e| Error::Corrupt(format!("directory settings did not serialize: {e}")))?;
        let shown = config.map(|config| DirectoryConfig {
            bind_password: config.bind_password.as_ref().map(|_| "(set)".into()),
            ..config.clone()
        });
        let record = self.change_record(
            AuditAction::SettingsChanged,
            DIRECTORY.into(),
            json!({ "directory": shown }),
        );
        self.catalog().set_setting(DIRECTORY, &text, &[record])?;
        tracing::info!(enabled = config.is_some(), "directory settings changed");
        Ok(())
    }
}
