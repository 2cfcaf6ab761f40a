//! Directory services (against a real slapd), compliance settings and
//! active sessions.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Fixture;
use crate::common::slapd::{BASE_DN, GROUP_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd};

fn directory_config(slapd: &Slapd) -> Value {
    json!({
        "kind": "ldap",
        "urls": [slapd.ldaps],
        "ca_file": slapd.ca,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "base_dn": BASE_DN,
        "groups": [GROUP_DN],
    })
}

fn imap_login(fixture: &Fixture, name: &str, password: &str) -> String {
    let mut imap = fixture.server.connect_tls();
    imap.line();
    imap.answer("a", &format!("LOGIN {name} {password}"))
}

#[test]
fn directory_settings_are_set_and_users_synchronised_through_the_api() {
    let Some(slapd) = Slapd::start() else { return };
    let fixture = Fixture::new();
    let admin = fixture.admin();
    assert_eq!(
        admin.ok("GetDirectoryServicesConfiguration", &[]),
        Value::Null
    );
    let message = admin.fails("SyncUsersWithDirectoryServices", &[]);
    assert!(message.contains("not configured"), "{message}");

    let config = directory_config(&slapd).to_string();
    let shown = admin.ok("SetDirectoryServicesConfiguration", &[("config", &config)]);
    assert_eq!(shown["base_dn"], BASE_DN);
    assert!(shown.get("bind_password").is_none(), "{shown}");
    assert_eq!(admin.ok("GetDirectoryServicesConfiguration", &[]), shown);
    let changed = fixture.audit(&["--action", "settings_changed"]);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["actor"], crate::ADMIN);
    assert!(
        !changed[0].to_string().contains(SERVICE_PASSWORD),
        "{changed:?}"
    );

    // A dry run reports and changes nothing; the real one creates bob and
    // dave (alice is an integrated user here, never taken over).
    let plan = admin.run_job("SyncUsersWithDirectoryServices", &[("dryRun", "true")]);
    assert_eq!(plan["statusCode"], "succeeded", "{plan}");
    assert_eq!(plan["result"]["dryRun"], true);
    let users = || admin.ok("GetUsers", &[]).as_array().unwrap().len();
    assert_eq!(users(), 2);
    let done = admin.run_job("SyncUsersWithDirectoryServices", &[]);
    assert_eq!(done["statusCode"], "succeeded", "{done}");
    let created: Vec<&str> = done["result"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .map(|c| c["user"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["bob", "dave"], "{done}");
    assert_eq!(users(), 4);
    // The running server checks bob's password with the new settings.
    assert!(imap_login(&fixture, "bob", "builder").starts_with("a OK"));

    // What Get shows (no password) can be changed and set again: the
    // service account's password is kept.
    let mut again = shown.clone();
    again["timeout_secs"] = json!(5);
    let shown = admin.ok(
        "SetDirectoryServicesConfiguration",
        &[("config", &again.to_string())],
    );
    assert_eq!(shown["timeout_secs"], 5);
    let done = admin.run_job("SyncUsersWithDirectoryServices", &[]);
    assert_eq!(done["statusCode"], "succeeded", "{done}");
    assert_eq!(done["result"]["unchanged"], 2, "{done}");

    // `null` switches directory services off: bob can no longer sign in.
    admin.ok("SetDirectoryServicesConfiguration", &[("config", "null")]);
    assert!(imap_login(&fixture, "bob", "builder").starts_with("a NO"));
}

#[test]
fn bad_directory_settings_change_nothing_and_non_admins_are_refused() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let bad = [
        (
            json!({"kind": "ldap", "urls": ["http://directory"], "base_dn": "dc=x"}).to_string(),
            "not an ldaps:// or ldap://",
        ),
        (
            json!({"kind": "ldap", "urls": ["ldaps://d"], "base_dn": "dc=x", "colour": 1})
                .to_string(),
            "unknown field `colour`",
        ),
        ("{not json".to_string(), "not JSON"),
        (
            json!({"kind": "novell", "urls": ["ldaps://d"], "base_dn": "dc=x"}).to_string(),
            "unknown variant `novell`",
        ),
    ];
    for (config, error) in &bad {
        let message = admin.fails("SetDirectoryServicesConfiguration", &[("config", config)]);
        assert!(message.contains(error), "{config}: {message}");
    }
    assert_eq!(
        admin.ok("GetDirectoryServicesConfiguration", &[]),
        Value::Null
    );
    assert!(fixture.audit(&["--action", "settings_changed"]).is_empty());
    let message = admin.fails("SyncUsersWithDirectoryServices", &[("dryRun", "maybe")]);
    assert!(message.contains("not a bool"), "{message}");

    fixture.refused_to_non_admin("GetDirectoryServicesConfiguration", &[]);
    fixture.refused_to_non_admin("SetDirectoryServicesConfiguration", &[("config", "null")]);
    fixture.refused_to_non_admin("SyncUsersWithDirectoryServices", &[]);
    assert!(fixture.audit(&["--action", "settings_changed"]).is_empty());
}

#[test]
fn compliance_settings_in_mailstores_terms() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let settings = admin.ok("GetComplianceConfiguration", &[]);
    assert_eq!(settings["legalHoldEnabled"], false);
    let activities = settings["logSuccessfulUserActivities"].as_array().unwrap();
    assert!(activities.contains(&json!("UserLogin")));
    assert!(!activities.contains(&json!("MessageRetrieveContent")));
    assert!(!activities.contains(&json!("MessageArchive")));

    let on = admin.ok(
        "SetComplianceConfiguration",
        &[("config", r#"{"legalHoldEnabled": true}"#)],
    );
    assert_eq!(on["legalHoldEnabled"], true);
    let shown = fixture.am.ok(&["compliance", "show"]);
    assert!(shown.contains("legal hold:                 on"), "{shown}");

    // Get, change, Set: the round trip MailStore scripts do.
    let mut config = admin.ok("GetComplianceConfiguration", &[]);
    config["logSuccessfulUserActivities"]
        .as_array_mut()
        .unwrap()
        .push(json!("MessageRetrieveContent"));
    // archimap's own switch: a record per imported message.
    config["logSuccessfulUserActivities"]
        .as_array_mut()
        .unwrap()
        .push(json!("MessageArchive"));
    config["legalHoldEnabled"] = json!(false);
    admin.ok(
        "SetComplianceConfiguration",
        &[("config", &config.to_string())],
    );
    let shown = fixture.am.ok(&["compliance", "show"]);
    assert!(shown.contains("legal hold:                 off"), "{shown}");
    assert!(shown.contains("audit of message retrieval: on"), "{shown}");
    assert!(shown.contains("audit of imported messages: on"), "{shown}");
    let changes = fixture.audit(&["--action", "compliance_changed"]);
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c["actor"] == crate::ADMIN));

    // A setting archimap does not have is refused, not silently ignored.
    let before = admin.ok("GetComplianceConfiguration", &[]);
    let message = admin.fails(
        "SetComplianceConfiguration",
        &[(
            "config",
            r#"{"legalHoldEnabled": true, "passwordPolicyEnabled": true}"#,
        )],
    );
    assert!(message.contains("passwordPolicyEnabled"), "{message}");
    let message = admin.fails(
        "SetComplianceConfiguration",
        &[("config", r#"{"logSuccessfulUserActivities": ["Teleport"]}"#)],
    );
    assert!(message.contains("Teleport"), "{message}");
    assert_eq!(admin.ok("GetComplianceConfiguration", &[]), before);
    fixture.refused_to_non_admin("GetComplianceConfiguration", &[]);
    fixture.refused_to_non_admin(
        "SetComplianceConfiguration",
        &[("config", r#"{"legalHoldEnabled": true}"#)],
    );
    assert_eq!(admin.ok("GetComplianceConfiguration", &[]), before);
}

#[test]
fn active_sessions_list_who_is_signed_in() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    assert_eq!(admin.ok("GetActiveSessions", &[]), json!([]));
    let mut imap = fixture.server.connect_tls();
    imap.line();
    assert!(imap.answer("a", "LOGIN alice secret").starts_with("a OK"));
    let sessions = admin.ok("GetActiveSessions", &[]);
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0]["userName"], "alice");
    assert_eq!(sessions[0]["protocol"], "IMAP");
    assert_eq!(sessions[0]["clientAddress"], "127.0.0.1");
    imap.answer("b", "LOGOUT");
    drop(imap);
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin.ok("GetActiveSessions", &[]) != json!([]) {
        assert!(Instant::now() < deadline, "alice's session stayed listed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let message = admin.fails("GetActiveSessions", &[("userName", "alice")]);
    assert!(message.contains("takes no arguments"), "{message}");
    fixture.refused_to_non_admin("GetActiveSessions", &[]);
}
