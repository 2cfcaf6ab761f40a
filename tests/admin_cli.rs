//! Users, privileges and archive stores through the administration CLI.

mod common;

use common::Archimap;

#[test]
fn user_lifecycle() {
    let am = Archimap::new();
    let out = am.run_with_stdin(
        &[
            "user",
            "add",
            "Alice",
            "--password-stdin",
            "--email",
            "Alice@Example.COM",
            "--email",
            "a.l@example.com",
            "--full-name",
            "Alice Liddell",
        ],
        "wonderland\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    am.ok(&[
        "user",
        "add",
        "bob",
        "--password",
        "builder",
        "--privileges",
        "admin",
    ]);
    am.ok(&[
        "user",
        "add",
        "carl",
        "--authentication",
        "directoryServices",
        "--distinguished-name",
        "uid=carl,dc=x",
    ]);

    let list = am.ok(&["user", "list"]);
    assert_eq!(
        list,
        "alice\tintegrated\tlogin,changePassword\talice@example.com,a.l@example.com\n\
         bob\tintegrated\tadmin\t\n\
         carl\tdirectoryServices\tlogin,changePassword\t\n"
            .replace(
                "alice@example.com,a.l@example.com",
                "a.l@example.com,alice@example.com"
            ),
    );
    let show = am.ok(&["user", "show", "ALICE"]);
    assert!(show.contains("full name:          Alice Liddell"), "{show}");
    assert!(
        show.contains("  alice: read"),
        "own archive, read only by default: {show}"
    );

    // Names and addresses are unique.
    assert!(
        am.fails(&["user", "add", "alice", "--password", "x"])
            .contains("already exists")
    );
    assert!(
        am.fails(&[
            "user",
            "add",
            "dora",
            "--password",
            "x",
            "--email",
            "alice@example.com"
        ])
        .contains("already exists")
    );
    // Integrated users need a password; directory users may not have one.
    assert!(am.fails(&["user", "add", "eve"]).contains("password"));
    assert!(
        am.fails(&[
            "user",
            "add",
            "eve",
            "--authentication",
            "directoryServices",
            "--password",
            "x"
        ])
        .contains("directory")
    );
    assert!(
        am.fails(&["user", "passwd", "carl", "--password", "x"])
            .contains("directory")
    );
    assert!(
        am.fails(&["user", "add", "a/b", "--password", "x"])
            .contains("may not contain")
    );

    am.ok(&["user", "set-privileges", "alice", "login,export"]);
    assert!(
        am.ok(&["user", "show", "alice"])
            .contains("privileges:         login,export")
    );
    am.ok(&["grant", "alice", "bob", "read,delete"]);
    am.ok(&["grant", "alice", "alice", "read,write"]);
    let show = am.ok(&["user", "show", "alice"]);
    assert!(
        show.contains("  alice: read,write\n  bob: read,delete"),
        "{show}"
    );
    am.ok(&["grant", "alice", "bob", "none"]);
    assert!(!am.ok(&["user", "show", "alice"]).contains("bob:"));

    // Renaming renames the archive; deleting keeps it.
    am.ok(&["user", "rename", "bob", "robert"]);
    assert!(am.ok(&["folders"]).contains("robert (0 folders"));
    // The last administrator cannot be deleted: someone else first.
    assert!(
        am.fails(&["user", "delete", "robert"])
            .contains("last user holding admin")
    );
    am.ok(&["user", "set-privileges", "alice", "admin"]);
    am.ok(&["user", "delete", "robert"]);
    assert!(am.fails(&["user", "show", "robert"]).contains("not found"));
    assert!(am.ok(&["folders"]).contains("robert (0 folders"));
    // A new user of the old name gets the archive back.
    am.ok(&["user", "add", "robert", "--password", "x"]);
    assert!(
        am.ok(&["user", "show", "robert"])
            .contains("  robert: read")
    );
}

#[test]
fn passwords_are_argon2id_and_change() {
    let am = Archimap::new();
    am.ok(&["user", "add", "alice", "--password", "first"]);
    let hash = |am: &Archimap| -> String {
        let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
        db.query_row(
            "SELECT password_hash FROM users WHERE name = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let first = hash(&am);
    assert!(first.starts_with("$argon2id$") && !first.contains("first"));
    let out = am.run_with_stdin(&["user", "passwd", "alice", "--password-stdin"], "second\n");
    assert!(out.status.success());
    let second = hash(&am);
    assert_ne!(first, second);
    assert!(archimap::archive::verify_password("second", &second));
    assert!(!archimap::archive::verify_password("first", &second));
    // No password on the command line without the explicit test flag.
    let out = am.run(&["user", "passwd", "alice", "third"]);
    assert!(!out.status.success());
}

#[test]
fn store_states() {
    let am = Archimap::new();
    assert_eq!(am.ok(&["store", "list"]), "main\tcurrent\tstores/main\n");
    am.ok(&["store", "create", "s2024"]);
    assert!(
        am.fails(&["store", "create", "S2024"])
            .contains("already exists")
    );
    assert!(
        am.fails(&["store", "create", "../evil"])
            .contains("store name")
    );
    // The current store only leaves that state by another becoming current.
    assert!(
        am.fails(&["store", "set-state", "main", "writeProtected"])
            .contains("current")
    );
    am.ok(&["store", "set-state", "s2024", "current"]);
    assert_eq!(
        am.ok(&["store", "list"]),
        "main\tnormal\tstores/main\ns2024\tcurrent\tstores/s2024\n"
    );
    am.ok(&["store", "set-state", "main", "writeProtected"]);
    assert!(
        am.fails(&["store", "set-state", "main", "frozen"])
            .contains("unknown store state")
    );
    assert!(am.ok(&["store", "list"]).contains("main\twriteProtected"));

    // New messages go to the current store.
    am.add_user("alice");
    let eml = am.dir.path().join("m.eml");
    std::fs::write(&eml, "Subject: s\r\n\r\nbody\r\n").unwrap();
    am.import(&["--user", "alice", eml.to_str().unwrap()]);
    assert!(
        am.data_dir()
            .join("stores/s2024/packs/000001.pack")
            .exists()
    );
    assert!(!am.data_dir().join("stores/main/packs/000001.pack").exists());
    // A disabled store's content is skipped by verify, not reported broken.
    am.ok(&["store", "create", "spare"]);
    am.ok(&["store", "set-state", "spare", "current"]);
    am.ok(&["store", "set-state", "s2024", "disabled"]);
    assert!(am.ok(&["verify"]).contains("1 in disabled stores skipped"));
}

#[test]
fn config_file_and_environment() {
    let am = Archimap::new();
    let config = am.dir.path().join("archimap.toml");
    let data = am.dir.path().join("from-config");
    std::fs::write(
        &config,
        format!("data_dir = {:?}\n[import]\ncompression_level = 9\n", data),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_archimap"))
        .args(["store", "list"])
        .env("ARCHIMAP_CONFIG", &config)
        .env_remove("ARCHIMAP_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("catalog.sqlite").exists());
    std::fs::write(&config, "data_dirr = 1\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_archimap"))
        .args(["--config", config.to_str().unwrap(), "store", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"));
}

/// A data directory made by the first archimap (schema 1: no audit log,
/// no compliance settings, folders without `noselect`) opens and works.
#[test]
fn an_older_catalog_is_brought_up_to_date() {
    let am = Archimap::new();
    am.add_user("olga");
    let mail = am.dir.path().join("old.eml");
    std::fs::write(&mail, "Subject: old\r\n\r\nold\r\n").unwrap();
    am.import(&[
        "--user",
        "olga",
        "--folder",
        "Inbox",
        mail.to_str().unwrap(),
    ]);
    {
        let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
        let triggers: Vec<String> = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for trigger in triggers {
            db.execute_batch(&format!("DROP TRIGGER {trigger}"))
                .unwrap();
        }
        db.execute_batch(
            "ALTER TABLE folders DROP COLUMN noselect;
             DROP TABLE audit; DROP TABLE compliance; DROP TABLE access_generation;
             UPDATE meta SET value = '1' WHERE key = 'schema_version';",
        )
        .unwrap();
    }
    assert!(am.ok(&["folders", "--user", "olga"]).contains("Inbox"));
    am.ok(&["verify"]);
    am.ok(&["compliance", "legal-hold", "on"]);
    let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
    let version: String = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "10");
    // Changes to users and grants move the access generation again.
    let generation = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT value FROM access_generation", [], |r| r.get(0))
            .unwrap()
    };
    let before = generation(&db);
    am.ok(&["grant", "olga", "olga", "read,write"]);
    assert!(generation(&db) > before);
    let noselect: i64 = db
        .query_row("SELECT count(*) FROM folders WHERE noselect = 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(noselect, 1);
}

/// Several commands opening one new data directory at once: each works,
/// and there is one `main` store.
#[test]
fn commands_racing_on_a_new_data_directory_all_work() {
    for _ in 0..5 {
        let am = Archimap::new();
        am.ok_at_once(&vec![vec!["store".to_string(), "list".to_string()]; 4]);
        let stores = am.ok(&["store", "list"]);
        assert_eq!(
            stores.lines().filter(|l| l.contains("main")).count(),
            1,
            "{stores}"
        );
    }
}

/// `serve` refuses a data directory that holds no archive (a mistyped
/// `data_dir` must not serve a new, empty one) until `init` or
/// `serve --create` makes one; limits of 0 are refused, naming the key.
#[test]
fn configuration_mistakes_are_refused() {
    let am = Archimap::new();
    let listeners = [
        "--imaps",
        "127.0.0.1:0",
        "--starttls",
        "127.0.0.1:0",
        "--api",
        "127.0.0.1:0",
    ];
    let mut serve = vec!["serve"];
    serve.extend(listeners);
    let out = am.fails(&serve);
    assert!(
        out.contains("holds no archive") && out.contains("archimap init"),
        "{out}"
    );
    assert!(!am.data_dir().exists());
    assert!(am.ok(&["init"]).contains("created a new archive"));
    assert!(am.data_dir().join("catalog.sqlite").exists());
    assert!(am.ok(&["init"]).contains("holds an archive already"));

    let config = am.dir.path().join("zero.toml");
    for (section, key) in [
        ("limits", "max_connections"),
        ("limits", "failed_login_delay_ms"),
        ("limits", "idle_timeout_authenticated_secs"),
        ("import", "batch_messages"),
    ] {
        std::fs::write(&config, format!("[{section}]\n{key} = 0\n")).unwrap();
        let out = am.fails(&["--config", config.to_str().unwrap(), "store", "list"]);
        assert!(out.contains(&format!("{section}.{key} is 0")), "{out}");
        let mut serve = vec!["--config", config.to_str().unwrap(), "serve"];
        serve.extend(listeners);
        let out = am.fails(&serve);
        assert!(out.contains(&format!("{section}.{key} is 0")), "{out}");
    }
}

/// Every directory and file of the data directory is private (0700,
/// 0600) however permissive the umask archimap starts with; `verify`
/// warns about anything looser, without failing.
#[test]
fn data_files_are_private_and_verify_warns_otherwise() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let am = Archimap::new();
    let permissive = |command: &mut std::process::Command| {
        // SAFETY: only umask runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0o022);
                Ok(())
            });
        }
    };
    let mail = am.dir.path().join("mail.eml");
    std::fs::write(&mail, "Subject: private\r\n\r\nsecret\r\n").unwrap();
    for args in [
        vec!["user", "add", "alice", "--password", "pw"],
        vec!["import", "--user", "alice", mail.to_str().unwrap()],
    ] {
        let mut command = am.command();
        permissive(&mut command);
        assert!(command.args(&args).output().unwrap().status.success());
    }
    drop(common::imap::Server::start_adjusted(&am, "", permissive));

    let mut seen = 0;
    let mut stack = vec![am.data_dir()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
            seen += 1;
        }
    }
    assert!(am.data_dir().join("tls/self-signed-key.pem").exists());
    assert!(seen > 5, "{seen} files");
    assert!(!am.ok(&["verify"]).contains("warning:"));

    let catalog = am.data_dir().join("catalog.sqlite");
    std::fs::set_permissions(&catalog, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(am.data_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = am.ok(&["verify"]);
    for path in [&catalog, &am.data_dir()] {
        let line = format!("warning: {} has mode", path.display());
        assert!(out.contains(&line), "{line} in {out}");
    }
}

/// A version-6 catalog (no setting for a record per imported message)
/// opens upgraded, its compliance settings kept and the new one off.
#[test]
fn schema_6_catalogs_gain_the_import_audit_setting() {
    let am = Archimap::new();
    am.ok(&["compliance", "audit-retrievals", "on"]);
    {
        let db = rusqlite::Connection::open(am.data_dir().join("catalog.sqlite")).unwrap();
        db.execute_batch(
            "ALTER TABLE compliance DROP COLUMN audit_message_archiving;
             UPDATE meta SET value = '6' WHERE key = 'schema_version';",
        )
        .unwrap();
    }
    assert_eq!(
        am.ok(&["compliance", "show"]),
        "legal hold:                 off\naudit of message retrieval: on\n\
         audit of imported messages: off\n"
    );
    am.ok(&["compliance", "audit-imports", "on"]);
    assert!(
        am.ok(&["compliance", "show"])
            .contains("audit of imported messages: on")
    );
}
