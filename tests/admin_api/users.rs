//! Users: GetUsers, GetUserInfo, CreateUser, DeleteUser, RenameUser and
//! the Set* functions.

use serde_json::{Value, json};

use crate::Fixture;
use crate::common::api::ApiClient;

/// GetUserInfo's result for `name`.
fn info(admin: &ApiClient, name: &str) -> Value {
    admin.ok("GetUserInfo", &[("userName", name)])
}

/// Whether IMAP LOGIN succeeds with these credentials.
fn imap_login(fixture: &Fixture, user: &str, password: &str) -> bool {
    let mut imap = fixture.server.connect_tls();
    imap.line();
    imap.answer("a", &format!("LOGIN {user} {password}"))
        .starts_with("a OK")
}

/// Imports one message into `user`'s Inbox with the CLI.
fn archive_one_message(fixture: &Fixture, user: &str) {
    let eml = fixture.am.dir.path().join("m.eml");
    std::fs::write(&eml, "Subject: kept\r\n\r\nbody\r\n").unwrap();
    fixture
        .am
        .import(&["--user", user, "--folder", "Inbox", eml.to_str().unwrap()]);
}

/// The lines of `SELECT INBOX` after logging in to IMAP.
fn select_inbox(fixture: &Fixture, user: &str, password: &str) -> Vec<String> {
    let mut imap = fixture.server.connect_tls();
    imap.line();
    assert!(
        imap.answer("a", &format!("LOGIN {user} {password}"))
            .starts_with("a OK")
    );
    imap.command("b", "SELECT INBOX")
}

/// The details of the latest audit record of `action`.
fn last_change(fixture: &Fixture, action: &str) -> Value {
    let records = fixture.audit(&["--action", action]);
    let last = records.last().unwrap();
    assert_eq!(last["actor"], crate::ADMIN, "{last}");
    last["details"].clone()
}

#[test]
fn create_user_then_list_them() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    admin.ok(
        "CreateUser",
        &[
            ("userName", "carol"),
            ("privileges", "login,changePassword"),
            ("fullName", "Carol Example"),
            ("password", "carol-secret"),
        ],
    );
    let users = admin.ok("GetUsers", &[]);
    let carol = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userName"] == "carol")
        .unwrap();
    assert_eq!(carol["fullName"], "Carol Example");
    // She can log in to IMAP with the password given.
    assert!(imap_login(&fixture, "carol", "carol-secret"));

    let created = fixture.audit(&["--action", "user_created"]);
    assert_eq!(created.last().unwrap()["actor"], crate::ADMIN);
    assert_eq!(created.last().unwrap()["ip"], "127.0.0.1");
}

#[test]
fn create_user_with_bad_arguments_changes_nothing() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let before = admin.ok("GetUsers", &[]);
    let message = admin.fails(
        "CreateUser",
        &[
            ("userName", "dave"),
            ("privileges", "login,fly"),
            ("password", "x"),
        ],
    );
    assert!(message.contains("fly"), "{message}");
    let message = admin.fails(
        "CreateUser",
        &[("userName", "dave"), ("privileges", "login")],
    );
    assert!(message.contains("needs a password"), "{message}");
    let message = admin.fails(
        "CreateUser",
        &[
            ("userName", "alice"),
            ("privileges", "login"),
            ("password", "x"),
        ],
    );
    assert!(message.contains("already exists"), "{message}");
    let message = admin.fails(
        "CreateUser",
        &[
            ("userName", "dave"),
            ("privileges", "login"),
            ("password", "x"),
            ("distinguishedName", "dave"),
        ],
    );
    assert!(message.contains("not a distinguished name"), "{message}");
    assert_eq!(admin.ok("GetUsers", &[]), before);
    fixture.refused_to_non_admin(
        "CreateUser",
        &[
            ("userName", "eve"),
            ("privileges", "admin"),
            ("password", "x"),
        ],
    );
    assert_eq!(admin.ok("GetUsers", &[]), before);
}

#[test]
fn get_user_info_in_mailstores_shape() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    assert_eq!(
        info(&admin, "alice"),
        json!({
            "userName": "alice",
            "fullName": "",
            "distinguishedName": null,
            "authentication": "integrated",
            "emailAddresses": [],
            "pop3UserNames": [],
            "privileges": "login,changePassword",
            "privilegesOnFolders": [{ "folder": "alice", "privileges": "read" }],
        })
    );
    assert_eq!(info(&admin, crate::ADMIN)["privileges"], "admin");
    let message = admin.fails("GetUserInfo", &[("userName", "nobody")]);
    assert_eq!(message, "user nobody not found");
    let message = admin.fails("GetUserInfo", &[]);
    assert!(message.contains("needs the argument userName"), "{message}");
    fixture.refused_to_non_admin("GetUserInfo", &[("userName", "alice")]);
}

#[test]
fn full_name_and_distinguished_name() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    admin.ok(
        "SetUserFullName",
        &[("userName", "alice"), ("fullName", " Alice Liddell ")],
    );
    admin.ok(
        "SetUserDistinguishedName",
        &[
            ("userName", "alice"),
            ("distinguishedName", "uid=alice,dc=example,dc=com"),
        ],
    );
    let alice = info(&admin, "alice");
    assert_eq!(alice["fullName"], "Alice Liddell");
    assert_eq!(alice["distinguishedName"], "uid=alice,dc=example,dc=com");
    assert_eq!(
        last_change(&fixture, "user_changed"),
        json!({ "distinguished_name": { "from": null, "to": "uid=alice,dc=example,dc=com" } })
    );

    let changes = fixture.audit(&["--action", "user_changed"]).len();
    for (function, arg, bad, expected) in [
        (
            "SetUserFullName",
            "fullName",
            "Alice\r\nX",
            "control characters",
        ),
        (
            "SetUserDistinguishedName",
            "distinguishedName",
            "alice",
            "not a distinguished name",
        ),
    ] {
        let message = admin.fails(function, &[("userName", "alice"), (arg, bad)]);
        assert!(message.contains(expected), "{function}: {message}");
        let message = admin.fails(function, &[("userName", "nobody"), (arg, "")]);
        assert_eq!(message, "user nobody not found");
        fixture.refused_to_non_admin(function, &[("userName", "alice"), (arg, "")]);
    }
    assert_eq!(info(&admin, "alice"), alice);
    assert_eq!(fixture.audit(&["--action", "user_changed"]).len(), changes);

    // Absent arguments clear.
    admin.ok("SetUserFullName", &[("userName", "alice")]);
    admin.ok("SetUserDistinguishedName", &[("userName", "alice")]);
    let alice = info(&admin, "alice");
    assert_eq!(alice["fullName"], "");
    assert_eq!(alice["distinguishedName"], Value::Null);
}

#[test]
fn email_addresses_are_login_names() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    // MailStore's commas, and the semicolons and spaces of pasted lists.
    admin.ok(
        "SetUserEmailAddresses",
        &[
            ("userName", "alice"),
            (
                "emailAddresses",
                "alice@example.com, Liddell@Example.com;al@example.org",
            ),
        ],
    );
    let alice = info(&admin, "alice");
    assert_eq!(
        alice["emailAddresses"],
        json!(["al@example.org", "alice@example.com", "liddell@example.com"])
    );
    assert!(imap_login(&fixture, "liddell@example.com", "secret"));

    admin.ok(
        "SetUserEmailAddresses",
        &[
            ("userName", crate::ADMIN),
            ("emailAddresses", "root@example.com"),
        ],
    );
    let changes = fixture.audit(&["--action", "user_changed"]).len();
    for (bad, expected) in [
        ("a@x.org nope", "\"nope\" is not an e-mail address"),
        ("a@x.org,root@example.com", "(of user root) already exists"),
    ] {
        let message = admin.fails(
            "SetUserEmailAddresses",
            &[("userName", "alice"), ("emailAddresses", bad)],
        );
        assert!(message.contains(expected), "{message}");
    }
    let message = admin.fails("SetUserEmailAddresses", &[("userName", "nobody")]);
    assert_eq!(message, "user nobody not found");
    fixture.refused_to_non_admin("SetUserEmailAddresses", &[("userName", "alice")]);
    assert_eq!(info(&admin, "alice"), alice);
    assert_eq!(fixture.audit(&["--action", "user_changed"]).len(), changes);

    // An absent list clears.
    admin.ok("SetUserEmailAddresses", &[("userName", "alice")]);
    assert_eq!(info(&admin, "alice")["emailAddresses"], json!([]));
}

#[test]
fn set_user_password() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    admin.ok(
        "SetUserPassword",
        &[("userName", "alice"), ("password", "new-secret")],
    );
    assert!(imap_login(&fixture, "alice", "new-secret"));
    assert!(!imap_login(&fixture, "alice", "secret"));
    assert_eq!(
        last_change(&fixture, "user_changed"),
        json!({ "password": "changed" })
    );

    let changes = fixture.audit(&["--action", "user_changed"]).len();
    let message = admin.fails(
        "SetUserPassword",
        &[("userName", "alice"), ("password", "")],
    );
    assert!(message.contains("empty"), "{message}");
    let message = admin.fails("SetUserPassword", &[("userName", "alice")]);
    assert!(message.contains("needs the argument password"), "{message}");
    let message = admin.fails(
        "SetUserPassword",
        &[("userName", "nobody"), ("password", "x")],
    );
    assert_eq!(message, "user nobody not found");
    fixture.refused_to_non_admin(
        "SetUserPassword",
        &[("userName", "alice"), ("password", "mine")],
    );
    assert_eq!(fixture.audit(&["--action", "user_changed"]).len(), changes);
    assert!(imap_login(&fixture, "alice", "new-secret"));
}

#[test]
fn authentication_switches() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    // To the directory: the stored password goes.
    admin.ok(
        "SetUserAuthentication",
        &[
            ("userName", "alice"),
            ("authentication", "directoryServices"),
        ],
    );
    assert_eq!(info(&admin, "alice")["authentication"], "directoryServices");
    assert_eq!(
        last_change(&fixture, "user_changed"),
        json!({
            "authentication": { "from": "integrated", "to": "directoryServices" },
            "password": "removed",
        })
    );
    let message = admin.fails(
        "SetUserPassword",
        &[("userName", "alice"), ("password", "x")],
    );
    assert!(message.contains("through the directory"), "{message}");
    // Back to integrated: no password (the old one is gone) until one is set.
    admin.ok(
        "SetUserAuthentication",
        &[("userName", "alice"), ("authentication", "Integrated")],
    );
    assert_eq!(
        last_change(&fixture, "user_changed")["password"],
        "none: no sign-in until one is set"
    );
    assert!(!imap_login(&fixture, "alice", "secret"));
    admin.ok(
        "SetUserPassword",
        &[("userName", "alice"), ("password", "third")],
    );
    assert!(imap_login(&fixture, "alice", "third"));

    let before = info(&admin, "alice");
    let changes = fixture.audit(&["--action", "user_changed"]).len();
    // The same method again changes nothing, and records nothing.
    admin.ok(
        "SetUserAuthentication",
        &[("userName", "alice"), ("authentication", "integrated")],
    );
    let message = admin.fails(
        "SetUserAuthentication",
        &[("userName", "alice"), ("authentication", "kerberos")],
    );
    assert!(message.contains("unknown authentication"), "{message}");
    let message = admin.fails(
        "SetUserAuthentication",
        &[("userName", "nobody"), ("authentication", "integrated")],
    );
    assert_eq!(message, "user nobody not found");
    fixture.refused_to_non_admin(
        "SetUserAuthentication",
        &[
            ("userName", "alice"),
            ("authentication", "directoryServices"),
        ],
    );
    assert_eq!(info(&admin, "alice"), before);
    assert_eq!(fixture.audit(&["--action", "user_changed"]).len(), changes);
    assert!(imap_login(&fixture, "alice", "third"));
}

#[test]
fn global_privileges_and_the_last_administrator() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    admin.ok(
        "SetUserPrivileges",
        &[("userName", "alice"), ("privileges", "login,export")],
    );
    assert_eq!(info(&admin, "alice")["privileges"], "login,export");
    assert_eq!(
        last_change(&fixture, "privileges_changed"),
        json!({ "privileges": { "from": "login,changePassword", "to": "login,export" } })
    );

    let changes = fixture.audit(&["--action", "privileges_changed"]).len();
    let message = admin.fails(
        "SetUserPrivileges",
        &[("userName", "alice"), ("privileges", "admin,login")],
    );
    assert!(message.contains("stands alone"), "{message}");
    // The last administrator can be neither demoted nor deleted.
    let message = admin.fails(
        "SetUserPrivileges",
        &[("userName", crate::ADMIN), ("privileges", "login")],
    );
    assert!(message.contains("last user holding admin"), "{message}");
    let message = admin.fails("DeleteUser", &[("userName", crate::ADMIN)]);
    assert!(message.contains("last user holding admin"), "{message}");
    fixture.refused_to_non_admin(
        "SetUserPrivileges",
        &[("userName", "alice"), ("privileges", "admin")],
    );
    assert_eq!(info(&admin, "alice")["privileges"], "login,export");
    assert_eq!(info(&admin, crate::ADMIN)["privileges"], "admin");
    assert_eq!(
        fixture.audit(&["--action", "privileges_changed"]).len(),
        changes
    );

    // With a second administrator, the first may go.
    admin.ok(
        "SetUserPrivileges",
        &[("userName", "alice"), ("privileges", "admin")],
    );
    let alice = ApiClient::new(&fixture.server, "alice", "secret");
    alice.ok(
        "SetUserPrivileges",
        &[("userName", crate::ADMIN), ("privileges", "login")],
    );
    alice.ok(
        "SetUserPrivileges",
        &[("userName", crate::ADMIN), ("privileges", "admin")],
    );
    admin.ok("DeleteUser", &[("userName", "alice")]);
    let message = admin.fails("DeleteUser", &[("userName", crate::ADMIN)]);
    assert!(message.contains("last user holding admin"), "{message}");
}

#[test]
fn archive_privileges() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    archive_one_message(&fixture, "alice");
    let select = select_inbox(&fixture, "alice", "secret");
    assert!(select.contains(&"* 1 EXISTS\r\n".to_string()), "{select:?}");
    admin.ok(
        "SetUserPrivilegesOnFolder",
        &[
            ("userName", "alice"),
            ("folder", crate::ADMIN),
            ("privileges", "read,write"),
        ],
    );
    let alice = info(&admin, "alice");
    assert_eq!(
        alice["privilegesOnFolders"],
        json!([
            { "folder": "alice", "privileges": "read" },
            { "folder": "root", "privileges": "read,write" },
        ])
    );

    let changes = fixture.audit(&["--action", "privileges_changed"]).len();
    for (folder, privileges, expected) in [
        ("root/Inbox", "read", "apply to whole archives"),
        ("nobody", "read", "archive nobody not found"),
        ("root", "read,fly", "unknown folder privilege \"fly\""),
        ("root", "none,read", "cannot be combined"),
    ] {
        let message = admin.fails(
            "SetUserPrivilegesOnFolder",
            &[
                ("userName", "alice"),
                ("folder", folder),
                ("privileges", privileges),
            ],
        );
        assert!(
            message.contains(expected),
            "{folder} {privileges}: {message}"
        );
    }
    let message = admin.fails("ClearUserPrivilegesOnFolders", &[("userName", "nobody")]);
    assert_eq!(message, "user nobody not found");
    fixture.refused_to_non_admin(
        "SetUserPrivilegesOnFolder",
        &[
            ("userName", "alice"),
            ("folder", "root"),
            ("privileges", "read,write,delete"),
        ],
    );
    fixture.refused_to_non_admin("ClearUserPrivilegesOnFolders", &[("userName", "alice")]);
    assert_eq!(info(&admin, "alice"), alice);
    assert_eq!(
        fixture.audit(&["--action", "privileges_changed"]).len(),
        changes
    );

    // `none` removes one grant; clearing removes all, her own included.
    admin.ok(
        "SetUserPrivilegesOnFolder",
        &[
            ("userName", "alice"),
            ("folder", crate::ADMIN),
            ("privileges", "none"),
        ],
    );
    assert_eq!(
        info(&admin, "alice")["privilegesOnFolders"],
        json!([{ "folder": "alice", "privileges": "read" }])
    );
    admin.ok("ClearUserPrivilegesOnFolders", &[("userName", "alice")]);
    assert_eq!(info(&admin, "alice")["privilegesOnFolders"], json!([]));
    assert_eq!(
        last_change(&fixture, "privileges_changed"),
        json!({ "folder_privileges": { "from": { "alice": "read" }, "to": "none" } })
    );
    // Over IMAP her INBOX is now the empty stand-in of one she may not read.
    let select = select_inbox(&fixture, "alice", "secret");
    assert!(select.contains(&"* 0 EXISTS\r\n".to_string()), "{select:?}");
}

#[test]
fn delete_user_keeps_the_archive() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    admin.ok(
        "CreateUser",
        &[
            ("userName", "bob"),
            ("privileges", "login"),
            ("password", "builder"),
        ],
    );
    let before = admin.ok("GetUsers", &[]);
    let message = admin.fails("DeleteUser", &[("userName", "nobody")]);
    assert_eq!(message, "user nobody not found");
    fixture.refused_to_non_admin("DeleteUser", &[("userName", "bob")]);
    assert_eq!(admin.ok("GetUsers", &[]), before);

    admin.ok("DeleteUser", &[("userName", "bob")]);
    assert_eq!(
        admin.fails("GetUserInfo", &[("userName", "bob")]),
        "user bob not found"
    );
    assert!(!imap_login(&fixture, "bob", "builder"));
    assert!(fixture.am.ok(&["folders"]).contains("bob (0 folders"));
    assert_eq!(
        fixture.audit(&["--action", "user_deleted"]).last().unwrap()["target"],
        "user:bob"
    );
}

#[test]
fn rename_user_renames_the_archive_and_the_login() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    archive_one_message(&fixture, "alice");

    let before = admin.ok("GetUsers", &[]);
    for (new_name, expected) in [
        (crate::ADMIN, "user root already exists"),
        ("a/b", "may not contain"),
        ("", "1 to 128 characters"),
    ] {
        let message = admin.fails(
            "RenameUser",
            &[("oldUserName", "alice"), ("newUserName", new_name)],
        );
        assert!(message.contains(expected), "{message}");
    }
    let message = admin.fails(
        "RenameUser",
        &[("oldUserName", "nobody"), ("newUserName", "somebody")],
    );
    assert_eq!(message, "user nobody not found");
    fixture.refused_to_non_admin(
        "RenameUser",
        &[("oldUserName", "alice"), ("newUserName", "mallory")],
    );
    assert_eq!(admin.ok("GetUsers", &[]), before);

    admin.ok(
        "RenameUser",
        &[("oldUserName", "alice"), ("newUserName", "Alicia")],
    );
    let alicia = info(&admin, "alicia");
    assert_eq!(
        alicia["privilegesOnFolders"],
        json!([{ "folder": "alicia", "privileges": "read" }])
    );
    assert!(!imap_login(&fixture, "alice", "secret"));
    let select = select_inbox(&fixture, "alicia", "secret");
    assert!(select.contains(&"* 1 EXISTS\r\n".to_string()), "{select:?}");
    assert_eq!(
        last_change(&fixture, "user_changed"),
        json!({ "new_name": "alicia" })
    );
}
