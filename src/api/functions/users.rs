//! Users: who they are, how they sign in, and their privileges.

use serde_json::{Value, json};

use super::{Call, Function, Outcome, done};
use crate::api::args::{Arg, Kind, optional, required};
use crate::archive::{
    Authentication, FolderPrivileges, GlobalPrivileges, NewUserRequest, UserDetails, UserRecord,
};
use crate::error::Result;

const USER_NAME: Arg = required("userName", Kind::String);

pub(super) const FUNCTIONS: &[Function] = &[
    Function {
        name: "GetUsers",
        args: &[],
        run: get_users,
    },
    Function {
        name: "GetUserInfo",
        args: &[USER_NAME],
        run: get_user_info,
    },
    Function {
        name: "CreateUser",
        args: &[
            USER_NAME,
            required("privileges", Kind::String),
            optional("fullName", Kind::String),
            optional("distinguishedName", Kind::String),
            optional("authentication", Kind::String),
            optional("password", Kind::String),
        ],
        run: create_user,
    },
    Function {
        name: "DeleteUser",
        args: &[USER_NAME],
        run: delete_user,
    },
    Function {
        name: "RenameUser",
        args: &[
            required("oldUserName", Kind::String),
            required("newUserName", Kind::String),
        ],
        run: rename_user,
    },
    Function {
        name: "SetUserPassword",
        args: &[USER_NAME, required("password", Kind::String)],
        run: set_user_password,
    },
    Function {
        name: "SetUserPrivileges",
        args: &[USER_NAME, required("privileges", Kind::String)],
        run: set_user_privileges,
    },
    Function {
        name: "SetUserPrivilegesOnFolder",
        args: &[
            USER_NAME,
            required("folder", Kind::String),
            required("privileges", Kind::String),
        ],
        run: set_user_privileges_on_folder,
    },
    Function {
        name: "ClearUserPrivilegesOnFolders",
        args: &[USER_NAME],
        run: clear_user_privileges_on_folders,
    },
    Function {
        name: "SetUserAuthentication",
        args: &[USER_NAME, required("authentication", Kind::String)],
        run: set_user_authentication,
    },
    Function {
        name: "SetUserEmailAddresses",
        args: &[USER_NAME, optional("emailAddresses", Kind::String)],
        run: set_user_email_addresses,
    },
    Function {
        name: "SetUserFullName",
        args: &[USER_NAME, optional("fullName", Kind::String)],
        run: set_user_full_name,
    },
    Function {
        name: "SetUserDistinguishedName",
        args: &[USER_NAME, optional("distinguishedName", Kind::String)],
        run: set_user_distinguished_name,
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

/// A user as GetUserInfo describes them (MailStore's shape; archimap has
/// no POP3 user names).
fn info(details: &UserDetails) -> Value {
    let user = &details.user;
    json!({
        "userName": user.name,
        "fullName": user.full_name,
        "distinguishedName": user.distinguished_name,
        "authentication": user.authentication.as_str(),
        "emailAddresses": user.emails,
        "pop3UserNames": [],
        "privileges": details.privileges.to_string(),
        "privilegesOnFolders": details.archives.iter().map(|(archive, privileges)| json!({
            "folder": archive,
            "privileges": privileges.to_string(),
        })).collect::<Vec<_>>(),
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

fn get_user_info(call: &Call) -> Result<Outcome> {
    let details = call.archives.user_details(call.args.string("userName")?)?;
    done(info(&details))
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

fn delete_user(call: &Call) -> Result<Outcome> {
    call.archives.delete_user(call.args.string("userName")?)?;
    done(Value::Null)
}

fn rename_user(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    call.archives
        .rename_user(args.string("oldUserName")?, args.string("newUserName")?)?;
    done(Value::Null)
}

fn set_user_password(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    call.archives
        .set_password(args.string("userName")?, args.string("password")?)?;
    done(Value::Null)
}

fn set_user_privileges(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    let privileges: GlobalPrivileges = args.string("privileges")?.parse()?;
    call.archives
        .set_privileges(args.string("userName")?, privileges)?;
    done(Value::Null)
}

/// `folder` names an archive: in archimap privileges apply to whole
/// archives, and the library refuses a deeper path.
fn set_user_privileges_on_folder(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    let privileges: FolderPrivileges = args.string("privileges")?.parse()?;
    call.archives
        .grant(args.string("userName")?, args.string("folder")?, privileges)?;
    done(Value::Null)
}

fn clear_user_privileges_on_folders(call: &Call) -> Result<Outcome> {
    call.archives.clear_grants(call.args.string("userName")?)?;
    done(Value::Null)
}

fn set_user_authentication(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    let authentication: Authentication = args.string("authentication")?.parse()?;
    call.archives
        .set_authentication(args.string("userName")?, authentication)?;
    done(Value::Null)
}

fn set_user_email_addresses(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    let emails = address_list(args.optional_string("emailAddresses").unwrap_or(""));
    call.archives
        .set_emails(args.string("userName")?, &emails)?;
    done(Value::Null)
}

fn set_user_full_name(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    call.archives.set_full_name(
        args.string("userName")?,
        args.optional_string("fullName").unwrap_or(""),
    )?;
    done(Value::Null)
}

fn set_user_distinguished_name(call: &Call) -> Result<Outcome> {
    let args = &call.args;
    call.archives.set_distinguished_name(
        args.string("userName")?,
        args.optional_string("distinguishedName"),
    )?;
    done(Value::Null)
}

/// MailStore sends addresses comma-separated; semicolons and white space
/// (as people paste lists) separate them too.
fn address_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|address| !address.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn address_lists_split_on_commas_semicolons_and_space() {
        assert_eq!(
            super::address_list(" a@x.org, b@x.org;c@x.org\n d@x.org,,"),
            ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]
        );
        assert!(super::address_list("").is_empty());
    }
}
