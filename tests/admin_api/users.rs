//! Users: GetUsers, GetUserInfo, CreateUser, DeleteUser, RenameUser and
//! the Set* functions.

use crate::Fixture;

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
    let mut imap = fixture.server.connect_tls();
    imap.line();
    assert!(
        imap.answer("a", "LOGIN carol carol-secret")
            .starts_with("a OK")
    );

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
