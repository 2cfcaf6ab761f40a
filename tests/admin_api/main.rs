//! The administration API over HTTPS, driven the way MailStore admin
//! scripts drive it: form-encoded POSTs with Basic auth. Each function is
//! called with good arguments (it works), bad ones (a clear error, nothing
//! changed), and by a non-administrator (refused and recorded).

#[path = "../common/mod.rs"]
mod common;

mod directory;
mod folders;
mod protocol;
mod stores;
mod users;

use serde_json::Value;

use common::Archimap;
use common::api::ApiClient;
use common::imap::Server;

pub const ADMIN: &str = "root";
pub const ADMIN_PASSWORD: &str = "root-secret";

/// A data directory with an administrator `root` and an ordinary user
/// `alice` (password `secret`), and the server running on it.
pub struct Fixture {
    pub am: Archimap,
    pub server: Server,
}

impl Default for Fixture {
    fn default() -> Fixture {
        Fixture::new()
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        let am = Archimap::new();
        am.ok(&[
            "user",
            "add",
            ADMIN,
            "--password",
            ADMIN_PASSWORD,
            "--privileges",
            "admin",
        ]);
        am.add_user("alice");
        // Failed logins are still slowed, from 20 ms instead of 2 s: each
        // test refuses alice several times.
        let server = Server::start_with_config(&am, "[limits]\nfailed_login_delay_ms = 20\n");
        Fixture { am, server }
    }

    /// The API as the administrator.
    pub fn admin(&self) -> ApiClient<'_> {
        ApiClient::new(&self.server, ADMIN, ADMIN_PASSWORD)
    }

    /// The API as `alice`, who may log in to IMAP but is no administrator.
    pub fn alice(&self) -> ApiClient<'_> {
        ApiClient::new(&self.server, "alice", "secret")
    }

    /// The audit log as JSON records (`archimap audit --json`), filtered by
    /// the extra CLI arguments.
    pub fn audit(&self, args: &[&str]) -> Vec<Value> {
        let mut command = vec!["audit", "--json"];
        command.extend_from_slice(args);
        self.am
            .ok(&command)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// `function` called by alice is refused with 401, and the refusal is
    /// in the audit log; the caller then checks nothing changed.
    pub fn refused_to_non_admin(&self, function: &str, args: &[(&str, &str)]) {
        let before = self.refusals();
        let answer = self.alice().post(&format!("/api/invoke/{function}"), args);
        assert_eq!(answer.status, 401, "{function} by alice: {answer:?}");
        assert_eq!(answer.status_code(), "failed");
        assert_eq!(
            self.refusals(),
            before + 1,
            "{function}: alice's refusal is not in the audit log"
        );
    }

    fn refusals(&self) -> usize {
        self.audit(&["--action", "login_failed", "--user", "alice"])
            .iter()
            .filter(|r| r["details"]["service"] == "api")
            .count()
    }
}

/// Every function issue 7 asks for, by MailStore's names.
pub const FUNCTIONS: &[&str] = &[
    "GetServerInfo",
    "GetUsers",
    "GetUserInfo",
    "CreateUser",
    "DeleteUser",
    "RenameUser",
    "SetUserPassword",
    "SetUserPrivileges",
    "SetUserPrivilegesOnFolder",
    "ClearUserPrivilegesOnFolders",
    "SetUserAuthentication",
    "SetUserEmailAddresses",
    "SetUserFullName",
    "SetUserDistinguishedName",
    "GetChildFolders",
    "GetFolderStatistics",
    "GetMessages",
    "DeleteMessage",
    "MoveFolder",
    "DeleteEmptyFolders",
    "GetStores",
    "CreateStore",
    "AttachStore",
    "DetachStore",
    "RenameStore",
    "SetStoreRequestedState",
    "VerifyStore",
    "VerifyStores",
    "RebuildStoreIndex",
    "GetStoreIndexes",
    "GetDirectoryServicesConfiguration",
    "SetDirectoryServicesConfiguration",
    "SyncUsersWithDirectoryServices",
    "GetComplianceConfiguration",
    "SetComplianceConfiguration",
    "GetActiveSessions",
];
