//! The envelope, authentication, metadata and jobs: what every function
//! shares.

use std::time::Duration;

use crate::Fixture;
use crate::common::api::ApiClient;

#[test]
fn answers_in_mailstores_envelope() {
    let fixture = Fixture::new();
    let answer = fixture.admin().invoke("GetServerInfo", &[]);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = answer.body.as_object().unwrap();
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "error",
            "logOutput",
            "percentProgress",
            "result",
            "statusCode",
            "statusText",
            "statusVersion",
            "token"
        ]
    );
    assert_eq!(body["statusCode"], "succeeded");
    assert_eq!(body["statusVersion"], 2);
    assert!(body["error"].is_null() && body["token"].is_null());
    assert!(
        body["result"]["version"]
            .as_str()
            .unwrap()
            .starts_with("archimap ")
    );
    assert!(!body["result"]["machineName"].as_str().unwrap().is_empty());
}

#[test]
fn asks_for_credentials_and_refuses_wrong_ones_and_non_admins() {
    let fixture = Fixture::new();
    let anonymous = ApiClient::anonymous(&fixture.server);
    let answer = anonymous.post("/api/invoke/GetUsers", &[]);
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic ")
    );

    // Failed logins are slowed like IMAP's: the delay doubles per failure.
    let wrong = ApiClient::new(&fixture.server, crate::ADMIN, "not-the-password");
    let mut took = Vec::new();
    for _ in 0..2 {
        let started = std::time::Instant::now();
        let answer = wrong.post("/api/invoke/GetUsers", &[]);
        took.push(started.elapsed());
        assert_eq!(answer.status, 401);
        assert!(answer.error_message().contains("authentication failed"));
    }
    assert!(took[0] >= Duration::from_millis(20), "{took:?}");
    assert!(took[1] >= Duration::from_millis(40), "{took:?}");
    let failed = fixture.audit(&["--action", "login_failed", "--user", crate::ADMIN]);
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[0]["details"]["service"], "api");
    assert_eq!(failed[0]["ip"], "127.0.0.1");

    fixture.refused_to_non_admin("GetUsers", &[]);
    let refusal = fixture.audit(&["--action", "login_failed", "--user", "alice"]);
    assert!(
        refusal[0]["details"]["reason"]
            .as_str()
            .unwrap()
            .contains("lacks the admin privilege"),
        "{refusal:?}"
    );

    // The administrator's successful calls are logins to the API.
    fixture.admin().ok("GetUsers", &[]);
    let logins = fixture.audit(&["--action", "login", "--user", crate::ADMIN]);
    assert_eq!(logins.last().unwrap()["details"]["service"], "api");
}

#[test]
fn unknown_functions_paths_methods_and_arguments_are_refused_clearly() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let answer = admin.post("/api/invoke/NoSuchFunction", &[]);
    assert_eq!(answer.status, 404);
    assert!(answer.error_message().contains("NoSuchFunction"));
    assert_eq!(admin.post("/elsewhere", &[]).status, 404);
    assert_eq!(
        admin
            .request("GET", "/api/invoke/GetUsers", "text/plain", b"")
            .status,
        405
    );

    let message = admin.fails("GetServerInfo", &[("verbose", "true")]);
    assert!(message.contains("takes no arguments"), "{message}");
    let message = admin.fails("CreateUser", &[("privileges", "login")]);
    assert!(message.contains("needs the argument userName"), "{message}");
    let answer = admin.request("POST", "/api/invoke/GetUsers", "application/json", b"{}");
    assert_eq!(answer.status, 400);
    assert!(answer.error_message().contains("x-www-form-urlencoded"));

    // A body over the limit is refused; it is read to nowhere, never held
    // (a connection closed on unread input would be reset under the answer).
    let big = vec![b'a'; 2 << 20];
    let answer = admin.request(
        "POST",
        "/api/invoke/GetUsers",
        "application/x-www-form-urlencoded",
        &big,
    );
    assert_eq!(answer.status, 413);

    // A chunked body whose framing is broken is the client's mistake (400),
    // not one over the size limit.
    use std::io::{Read, Write};
    let mut stream = fixture.server.api_tls();
    stream
        .write_all(
            b"POST /api/invoke/GetUsers HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        )
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
}

#[test]
fn metadata_lists_every_function_with_its_arguments() {
    let fixture = Fixture::new();
    let answer = fixture.admin().post("/api/get-metadata", &[]);
    assert_eq!(answer.status, 200);
    let functions = answer.body["result"].as_array().unwrap();
    let names: Vec<&str> = functions
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in crate::FUNCTIONS {
        assert!(names.contains(name), "{name} is missing from the metadata");
    }
    let create_user = functions
        .iter()
        .find(|f| f["name"] == "CreateUser")
        .unwrap();
    let args: Vec<(&str, &str, bool)> = create_user["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["type"].as_str().unwrap(),
                a["nullable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        args,
        [
            ("userName", "string", false),
            ("privileges", "string", false),
            ("fullName", "string", true),
            ("distinguishedName", "string", true),
            ("authentication", "string", true),
            ("password", "string", true),
        ]
    );
}

#[test]
fn status_of_an_unknown_job_is_a_clear_failure() {
    let fixture = Fixture::new();
    let answer = fixture.admin().post(
        "/api/get-status",
        &[("token", "0123"), ("lastKnownStatusVersion", "0")],
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.status_code(), "failed");
    assert!(answer.error_message().contains("unknown"), "{answer:?}");
    let answer = fixture
        .admin()
        .post("/api/cancel-async", &[("token", "0123")]);
    assert_eq!(answer.status_code(), "failed");
}

#[test]
fn the_example_script_creates_a_user_grants_and_follows_a_long_operation() {
    let fixture = Fixture::new();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/admin_api.py");
    let cert = fixture.am.data_dir().join("tls/self-signed-cert.pem");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(["--url", &format!("https://{}", fixture.server.api)])
        .args(["--user", crate::ADMIN, "--new-user", "jdoe"])
        .arg("--cafile")
        .arg(cert)
        .env("ARCHIMAP_API_PASSWORD", crate::ADMIN_PASSWORD)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("verification finished"), "{stdout}");
    let info = fixture.admin().ok("GetUserInfo", &[("userName", "jdoe")]);
    assert_eq!(
        info["privilegesOnFolders"],
        serde_json::json!([{ "folder": "jdoe", "privileges": "read" }])
    );
}

/// Every function the metadata lists: an unknown argument is refused
/// before it runs, and a non-administrator is refused and recorded;
/// neither changes anything (no audit record but the logins').
#[test]
fn every_function_refuses_unknown_arguments_and_non_admins() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let metadata = admin.post("/api/get-metadata", &[]).body["result"].clone();
    let changes = || {
        fixture
            .audit(&[])
            .into_iter()
            .filter(|r| r["action"] != "login" && r["action"] != "login_failed")
            .count()
    };
    let before = changes();
    for function in metadata.as_array().unwrap() {
        let name = function["name"].as_str().unwrap();
        let message = admin.fails(name, &[("bogusArgument", "1")]);
        assert!(message.contains("\"bogusArgument\""), "{name}: {message}");
        fixture.refused_to_non_admin(name, &[]);
    }
    assert_eq!(changes(), before);
}

/// A client that starts a request and stalls is answered 408 or
/// disconnected once the time a client has before login runs out.
#[test]
fn stalled_requests_are_cut_off() {
    use std::io::{Read, Write};

    let am = crate::common::Archimap::new();
    let server = crate::common::imap::Server::start_with_config(
        &am,
        "[limits]\nidle_timeout_unauthenticated_secs = 1\n",
    );
    let started = std::time::Instant::now();
    let mut stalled_body = server.api_tls();
    stalled_body
        .write_all(
            b"POST /api/invoke/GetUsers HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nab",
        )
        .unwrap();
    let mut answer = String::new();
    let _ = stalled_body.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");

    let mut stalled_headers = server.api_tls();
    stalled_headers
        .write_all(b"POST /api/invoke/GetUsers HTTP/1.1\r\nHost: loc")
        .unwrap();
    let mut rest = Vec::new();
    let _ = stalled_headers.read_to_end(&mut rest);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
