//! Archive stores and their full-text indexes. MailStore names a store by
//! its numeric id; archimap's library by name, so each function looks the
//! id up first. Verifying and index rebuilds run as jobs.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Call, Function, Outcome, done, to_json};
use crate::api::args::{Args, Kind, optional, required};
use crate::archive::{Archives, StoreRecord, StoreState};
use crate::error::{Error, Result};

/// What CreateStore and AttachStore take (AttachStore needs `type`).
macro_rules! store_location_args {
    ($type:expr) => {
        &[
            required("name", Kind::String),
            $type,
            optional("databaseName", Kind::String),
            optional("databasePath", Kind::String),
            optional("contentPath", Kind::String),
            optional("indexPath", Kind::String),
            optional("serverName", Kind::String),
            optional("userName", Kind::String),
            optional("password", Kind::String),
            optional("requestedState", Kind::String),
        ]
    };
}

pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "GetStores",
        args: &[optional("includeSize", Kind::Bool)],
        run: get_stores,
    },
    Function {
        name: "CreateStore",
        args: store_location_args!(optional("type", Kind::String)),
        run: create_store,
    },
    Function {
        name: "AttachStore",
        args: store_location_args!(required("type", Kind::String)),
        run: attach_store,
    },
    Function {
        name: "DetachStore",
        args: &[required("id", Kind::Number)],
        run: detach_store,
    },
    Function {
        name: "RenameStore",
        args: &[required("id", Kind::Number), required("name", Kind::String)],
        run: rename_store,
    },
    Function {
        name: "SetStoreRequestedState",
        args: &[
            required("id", Kind::Number),
            optional("requestedState", Kind::String),
        ],
        run: set_store_requested_state,
    },
    Function {
        name: "VerifyStore",
        args: &[
            required("id", Kind::Number),
            required("includeIndexes", Kind::Bool),
        ],
        run: verify_store,
    },
    Function {
        name: "VerifyStores",
        args: &[required("includeIndexes", Kind::Bool)],
        run: verify_stores,
    },
    Function {
        name: "RebuildStoreIndex",
        args: &[
            required("id", Kind::Number),
            required("folder", Kind::String),
        ],
        run: rebuild_store_index,
    },
    Function {
        name: "GetStoreIndexes",
        args: &[optional("id", Kind::Number)],
        run: get_store_indexes,
    },
];

/// A store as GetStores lists it. archimap keeps a store's database,
/// content and index in one directory, so the three paths are the same.
fn summary(archives: &Archives, store: &StoreRecord, include_size: bool) -> Value {
    let dir = archives.store_dir(&store.path);
    let (size, error) = match include_size.then(|| archives.store_size(store)) {
        Some(Ok(size)) => (Some(size), None),
        Some(Err(error)) => (None, Some(error.to_string())),
        None => (None, None),
    };
    json!({
        "id": store.id,
        "name": store.name,
        "type": "FileSystemInternal",
        "requestedState": store.state.as_str(),
        "databasePath": dir,
        "contentPath": dir,
        "indexPath": dir,
        "size": size,
        "error": error,
        "searchResultsAvailable": store.state != StoreState::Disabled,
    })
}

fn get_stores(call: &Call) -> Result<Outcome> {
    let include_size = call.args.bool("includeSize", true)?;
    done(
        call.archives
            .stores()?
            .iter()
            .map(|store| summary(&call.archives, store, include_size))
            .collect::<Vec<_>>(),
    )
}

/// The store's directory from MailStore's location arguments: only file
/// system stores exist, and their three paths must agree.
fn location(args: &Args) -> Result<Option<PathBuf>> {
    if let Some(kind) = args.optional_string("type")
        && !kind.eq_ignore_ascii_case("FileSystemInternal")
    {
        return Err(Error::Invalid(format!(
            "archive store type {kind:?} is not supported: archimap stores are FileSystemInternal (a directory)"
        )));
    }
    if let Some(sql) = ["databaseName", "serverName", "userName", "password"]
        .into_iter()
        .find(|name| args.optional_string(name).is_some())
    {
        return Err(Error::Invalid(format!(
            "{sql} is for SQL Server and PostgreSQL stores, which archimap does not have"
        )));
    }
    let paths: Vec<&Path> = ["databasePath", "contentPath", "indexPath"]
        .into_iter()
        .filter_map(|name| args.optional_string(name).map(Path::new))
        .collect();
    if paths.windows(2).any(|pair| pair[0] != pair[1]) {
        return Err(Error::Invalid(
            "archimap keeps a store's database, content and index in one directory: \
             give databasePath, contentPath and indexPath the same value (or just one)"
                .into(),
        ));
    }
    Ok(paths.first().map(|path| path.to_path_buf()))
}

fn requested_state(args: &Args) -> Result<Option<StoreState>> {
    args.optional_string("requestedState")
        .map(str::parse)
        .transpose()
}

fn create_store(call: &Call) -> Result<Outcome> {
    let path = location(&call.args)?;
    let state = requested_state(&call.args)?.unwrap_or(StoreState::Normal);
    let store = call
        .archives
        .create_store(call.args.string("name")?, path.as_deref(), state)?;
    done(summary(&call.archives, &store, true))
}

fn attach_store(call: &Call) -> Result<Outcome> {
    let path = location(&call.args)?.ok_or_else(|| {
        Error::Invalid("AttachStore needs the store's directory: give contentPath".into())
    })?;
    let state = requested_state(&call.args)?.unwrap_or(StoreState::Normal);
    let store = call
        .archives
        .attach_store(call.args.string("name")?, &path, state)?;
    done(summary(&call.archives, &store, true))
}

fn store(call: &Call) -> Result<StoreRecord> {
    call.archives.store_by_id(call.args.number("id")?)
}

fn detach_store(call: &Call) -> Result<Outcome> {
    call.archives.detach_store(&store(call)?.name)?;
    done(Value::Null)
}

fn rename_store(call: &Call) -> Result<Outcome> {
    let store = store(call)?;
    call.archives
        .rename_store(&store.name, call.args.string("name")?)?;
    done(Value::Null)
}

fn set_store_requested_state(call: &Call) -> Result<Outcome> {
    let store = store(call)?;
    let state = requested_state(&call.args)?.ok_or_else(|| {
        Error::Invalid(
            "SetStoreRequestedState needs requestedState (current, normal, writeProtected or disabled)"
                .into(),
        )
    })?;
    call.archives.set_store_state(&store.name, state)?;
    done(Value::Null)
}

fn verify_store(call: &Call) -> Result<Outcome> {
    verify(call, Some(store(call)?.name))
}

fn verify_stores(call: &Call) -> Result<Outcome> {
    verify(call, None)
}

/// Verifies one store or all as a job; problems found are in the result,
/// the job itself succeeds.
fn verify(call: &Call, only: Option<String>) -> Result<Outcome> {
    let include_indexes = call.args.bool("includeIndexes", false)?;
    let archives = call.archives.clone();
    Ok(Outcome::Job(Box::new(move |progress| {
        let report = archives.verify(
            only.as_deref(),
            include_indexes,
            progress.cancel_flag(),
            &|done, total, _| progress.report_count(done, total, "verifying messages"),
        )?;
        progress.report(
            Some(100),
            &format!("{} problem(s) found", report.problems.len()),
        );
        to_json(&report)
    })))
}

/// Rebuilds as a job, once the arguments are checked; an empty `folder`
/// means the whole store.
fn rebuild_store_index(call: &Call) -> Result<Outcome> {
    let folder = Some(call.args.string("folder")?).filter(|f| !f.is_empty());
    let rebuild = call.archives.index_rebuild(&store(call)?.name, folder)?;
    let archives = call.archives.clone();
    Ok(Outcome::Job(Box::new(move |progress| {
        let report =
            archives.rebuild_store_index(&rebuild, progress.cancel_flag(), &|done, total| {
                progress.report_count(done, total, "indexing messages")
            })?;
        to_json(&report)
    })))
}

fn get_store_indexes(call: &Call) -> Result<Outcome> {
    let only = match call.args.optional_number("id")? {
        Some(id) => Some(call.archives.store_by_id(id)?.name),
        None => None,
    };
    let indexes = call.archives.index_info(only.as_deref())?;
    done(
        indexes
            .iter()
            .map(|index| {
                json!({
                    "storeId": index.store_id,
                    "name": index.store,
                    "path": index.path,
                    "documents": index.documents,
                    "messages": index.messages,
                    "size": index.size,
                    "notExtracted": index.not_extracted,
                })
            })
            .collect::<Vec<_>>(),
    )
}
