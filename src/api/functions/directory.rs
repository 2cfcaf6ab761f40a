//! Directory services: their settings, and synchronising users with them.
//!
//! The settings are the keys of the configuration file's `[directory]`
//! section, as JSON; the service account's password is never shown.

use std::sync::Arc;

use serde_json::Value;

use super::{Call, Function, Outcome, done, to_json};
use crate::api::args::{Kind, optional, required};
use crate::config::DirectoryConfig;
use crate::directory::{self, Directory};
use crate::error::{Error, Result};

pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "GetDirectoryServicesConfiguration",
        args: &[],
        run: get_configuration,
    },
    Function {
        name: "SetDirectoryServicesConfiguration",
        args: &[required("config", Kind::Json)],
        run: set_configuration,
    },
    Function {
        name: "SyncUsersWithDirectoryServices",
        args: &[optional("dryRun", Kind::Bool)],
        run: sync_users,
    },
];

fn get_configuration(call: &Call) -> Result<Outcome> {
    let config = Directory::effective_config(&call.context.config, &call.archives)?;
    done(shown(config.as_ref()))
}

/// The settings as shown: everything but the password (`null`: off).
fn shown(config: Option<&DirectoryConfig>) -> Value {
    let mut value = serde_json::to_value(config).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("bind_password");
    }
    value
}

/// Takes the whole settings object (`null` switches directory services
/// off); logins use the new settings at once.
fn set_configuration(call: &Call) -> Result<Outcome> {
    let new: Option<DirectoryConfig> = call.args.json("config")?;
    let directory = Directory::configure(&call.context.config, &call.archives, new)?;
    call.context.auth.set_directory(directory);
    get_configuration(call)
}

fn sync_users(call: &Call) -> Result<Outcome> {
    let dry_run = call.args.bool("dryRun", false)?;
    let directory = call.context.auth.directory().ok_or_else(|| {
        Error::Refused("directory services are not configured: nothing to sync with".into())
    })?;
    let archives = Arc::new(call.archives.clone());
    let runtime = tokio::runtime::Handle::current();
    Ok(Outcome::Job(Box::new(move |progress| {
        progress.report(None, "reading the directory");
        let report = runtime.block_on(directory::sync_users(archives, &directory, dry_run))?;
        to_json(report)
    })))
}
