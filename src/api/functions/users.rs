//! Users: who they are, how they sign in, and their privileges.

use serde_json::{Value, json};

use super::{Call, Function, Outcome, done};
use crate::api::args::{Kind, optional, required};
use crate::archive::{Authentication, GlobalPrivileges, NewUserRequest, UserRecord};
use crate::error::Result;

pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "GetUsers",
        args: &[],
        run: get_users,
    },
    Function {
        name: "CreateUser",
        args: &[
            required("userName", Kind::String),
            required("privileges", Kind::String),
            optional("fullName", Kind::String),
            optional("distinguishedName", Kind::String),
            optional("authentication", Kind::String),
            optional("password", Kind::String),
        ],
        run: create_user,
    },
];

/// A user as GetUsers lists them.
fn summary(user: &UserRecord) -> Value {
    json!({
        "userName": user.name,
        "fullName": user.full_name,
        "distinguishedName": user.distinguished_name,
    })
}

fn get_users(call: &Call) -> Result<Outcome> {
    done(
        call.archives
            .users()?
            .iter()
            .map(summary)
            .collect::<Vec<_>>(),
    )
}

fn create_user(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    let authentication: Authentication = args
        .optional_string("authentication")
        .unwrap_or("integrated")
        .parse()?;
    let privileges: GlobalPrivileges = args.string("privileges")?.parse()?;
    call.archives.add_user(NewUserRequest {
        name: args.string("userName")?.to_string(),
        full_name: args.optional_string("fullName").unwrap_or("").to_string(),
        emails: Vec::new(),
        authentication,
        password: args.optional_string("password").map(str::to_string),
        distinguished_name: args
            .optional_string("distinguishedName")
            .map(str::to_string),
        privileges,
    })?;
    done(Value::Null)
}
