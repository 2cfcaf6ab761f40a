//! Compliance settings, in MailStore's JSON: `legalHoldEnabled` and the
//! list of activities recorded in the audit log.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Call, Function, Outcome, done};
use crate::api::args::{Kind, required};
use crate::archive::ComplianceSettings;
use crate::error::{Error, Result};

pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "GetComplianceConfiguration",
        args: &[],
        run: get_compliance_configuration,
    },
    Function {
        name: "SetComplianceConfiguration",
        args: &[required("config", Kind::Json)],
        run: set_compliance_configuration,
    },
];

/// MailStore's activity for reading a message's content, whose recording
/// can be switched.
const RETRIEVAL: &str = "MessageRetrieveContent";

/// archimap's activity for each message an import files (MailStore has
/// none by that name), whose recording can be switched: the count per
/// folder is always recorded.
const ARCHIVING: &str = "MessageArchive";

/// MailStore's names for what archimap always records.
const ALWAYS: &[&str] = &[
    "ComplianceChangeSettings",
    "FileGroupAttach",
    "FileGroupCreate",
    "FileGroupDetach",
    "FileGroupRename",
    "FileGroupSetRequestedState",
    "FolderCreate",
    "FolderDelete",
    "FolderMove",
    "MessageAppend",
    "MessageCopy",
    "MessageDelete",
    "MessageMove",
    "UserAdd",
    "UserDelete",
    "UserLogin",
    "UserLoginFailed",
    "UserRename",
    "UserSetFolderAccess",
    "UserUpdate",
];

/// What SetComplianceConfiguration accepts; a key left out keeps its value,
/// and a key archimap has no setting for is refused rather than ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Config {
    legal_hold_enabled: Option<bool>,
    log_successful_user_activities: Option<Vec<String>>,
}

fn get_compliance_configuration(call: &Call) -> Result<Outcome> {
    done(to_json(call.archives.compliance_settings()?))
}

fn to_json(settings: ComplianceSettings) -> Value {
    let mut activities: BTreeSet<&str> = ALWAYS.iter().copied().collect();
    if settings.audit_message_retrieval {
        activities.insert(RETRIEVAL);
    }
    if settings.audit_message_archiving {
        activities.insert(ARCHIVING);
    }
    json!({
        "legalHoldEnabled": settings.legal_hold_enabled,
        "logSuccessfulUserActivities": activities,
    })
}

fn set_compliance_configuration(call: &Call) -> Result<Outcome> {
    let config: Config = call.args.json("config")?;
    let mut settings = call.archives.compliance_settings()?;
    if let Some(on) = config.legal_hold_enabled {
        settings.legal_hold_enabled = on;
    }
    if let Some(activities) = &config.log_successful_user_activities {
        // Leaving an always-recorded activity out cannot turn it off; the
        // answer (the settings as they are now) shows it is still there.
        if let Some(unknown) = activities
            .iter()
            .find(|a| *a != RETRIEVAL && *a != ARCHIVING && !ALWAYS.contains(&a.as_str()))
        {
            return Err(Error::Invalid(format!(
                "unknown activity {unknown:?} in logSuccessfulUserActivities (archimap knows {RETRIEVAL}, {ARCHIVING}, {})",
                ALWAYS.join(", ")
            )));
        }
        settings.audit_message_retrieval = activities.iter().any(|a| a == RETRIEVAL);
        settings.audit_message_archiving = activities.iter().any(|a| a == ARCHIVING);
    }
    call.archives.set_compliance(settings)?;
    done(to_json(call.archives.compliance_settings()?))
}
