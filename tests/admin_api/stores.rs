//! Archive stores and their indexes: GetStores, CreateStore, AttachStore,
//! DetachStore, RenameStore, SetStoreRequestedState, VerifyStore,
//! VerifyStores, RebuildStoreIndex and GetStoreIndexes.

use std::path::Path;

use serde_json::Value;

use crate::Fixture;
use crate::common::api::ApiClient;
use crate::common::edge_eml;

/// A function's form arguments.
type Args<'a> = &'a [(&'a str, &'a str)];

/// The stores, without sizes (which the server's index work may change).
fn stores(admin: &ApiClient) -> Value {
    admin.ok("GetStores", &[("includeSize", "false")])
}

fn store_id(admin: &ApiClient, name: &str) -> String {
    stores(admin)
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no store {name}"))["id"]
        .to_string()
}

fn names(admin: &ApiClient) -> Vec<String> {
    stores(admin)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Imports a small corpus directory of the shared edge cases for alice;
/// returns how many messages were stored.
fn import(fixture: &Fixture, corpus: &str) -> u64 {
    let dir = edge_eml().join(corpus);
    fixture
        .am
        .import(&["--user", "alice", dir.to_str().unwrap()])
        .0
}

fn store_changes(fixture: &Fixture) -> Vec<Value> {
    fixture.audit(&["--action", "store_changed"])
}

#[test]
fn stores_are_listed_created_renamed_and_set_to_states() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    import(&fixture, "cpython");
    let listed = admin.ok("GetStores", &[]);
    let [main] = listed.as_array().unwrap().as_slice() else {
        panic!("{listed}")
    };
    let main_dir = fixture.am.data_dir().join("stores/main");
    assert_eq!(main["name"], "main");
    assert_eq!(main["type"], "FileSystemInternal");
    assert_eq!(main["requestedState"], "current");
    for path in ["databasePath", "contentPath", "indexPath"] {
        assert_eq!(main[path], main_dir.to_str().unwrap(), "{path}");
    }
    assert!(main["size"].as_u64().unwrap() > 0, "{main}");
    assert!(main["error"].is_null() && main["searchResultsAvailable"] == true);
    assert!(stores(&admin)[0]["size"].is_null());

    let created = admin.ok("CreateStore", &[("name", "s2024")]);
    assert_eq!(created["requestedState"], "normal");
    assert!(fixture.am.data_dir().join("stores/s2024").is_dir());
    let elsewhere = fixture.am.dir.path().join("elsewhere");
    let elsewhere = elsewhere.to_str().unwrap();
    let other = admin.ok(
        "CreateStore",
        &[
            ("name", "archive2"),
            ("type", "FileSystemInternal"),
            ("databasePath", elsewhere),
            ("contentPath", elsewhere),
            ("requestedState", "writeProtected"),
        ],
    );
    assert_eq!(other["requestedState"], "writeProtected");
    assert_eq!(other["contentPath"], elsewhere);
    assert!(Path::new(elsewhere).is_dir());

    let id = created["id"].to_string();
    admin.ok("RenameStore", &[("id", &id), ("name", "y2024")]);
    admin.ok(
        "SetStoreRequestedState",
        &[("id", &id), ("requestedState", "current")],
    );
    assert_eq!(
        fixture.am.ok(&["store", "list"]),
        format!(
            "main\tnormal\tstores/main\ny2024\tcurrent\tstores/s2024\narchive2\twriteProtected\t{elsewhere}\n"
        )
    );
    // New mail now goes to y2024.
    let imported = import(&fixture, "nodemailer");
    let indexes = admin.ok("GetStoreIndexes", &[("id", &id)]);
    assert_eq!(indexes[0]["name"], "y2024");
    assert_eq!(indexes[0]["messages"], imported);

    let changes = store_changes(&fixture);
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(
        changes
            .iter()
            .all(|c| c["actor"] == crate::ADMIN && c["ip"] == "127.0.0.1")
    );
    assert_eq!(changes[2]["target"], "store:s2024");
    assert_eq!(changes[2]["details"]["new_name"], "y2024");
    assert_eq!(changes[3]["details"]["state"]["to"], "current");
}

#[test]
fn stores_without_messages_are_detached_and_attached_again() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let spare = admin.ok("CreateStore", &[("name", "spare")]);
    let dir = spare["contentPath"].as_str().unwrap().to_string();
    assert!(
        admin
            .ok("DetachStore", &[("id", &spare["id"].to_string())])
            .is_null()
    );
    assert_eq!(names(&admin), ["main"]);
    assert!(Path::new(&dir).is_dir(), "detaching keeps the directory");

    let again = admin.ok(
        "AttachStore",
        &[
            ("name", "again"),
            ("type", "FileSystemInternal"),
            ("contentPath", &dir),
            ("indexPath", &dir),
            ("requestedState", "writeProtected"),
        ],
    );
    assert_eq!(again["contentPath"], dir.as_str());
    assert_eq!(again["requestedState"], "writeProtected");
    // A detached store's id is not given to another.
    assert!(
        again["id"].as_i64() > spare["id"].as_i64(),
        "{again} {spare}"
    );
    assert_eq!(names(&admin), ["main", "again"]);

    // The command line does the same, naming stores.
    fixture.am.ok(&["store", "rename", "again", "spare2"]);
    fixture.am.ok(&["store", "detach", "spare2"]);
    fixture
        .am
        .ok(&["store", "attach", "spare3", "--path", &dir]);
    assert_eq!(names(&admin), ["main", "spare3"]);

    let changes = store_changes(&fixture);
    let kinds: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| {
            let details = c["details"].as_object().unwrap();
            (
                c["actor"].as_str().unwrap(),
                details.keys().next().unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("root", "created"),
            ("root", "detached"),
            ("root", "attached"),
            ("admin", "new_name"),
            ("admin", "detached"),
            ("admin", "attached"),
        ]
    );
}

#[test]
fn store_functions_with_bad_arguments_change_nothing() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let holds = format!("holds {} messages", import(&fixture, "cpython"));
    admin.ok(
        "CreateStore",
        &[("name", "next"), ("requestedState", "current")],
    );
    let main = store_id(&admin, "main");
    let next = store_id(&admin, "next");
    let data = fixture.am.data_dir();
    let inside_main = data.join("stores/main/inner");
    let with_packs = fixture.am.dir.path().join("foreign");
    std::fs::create_dir_all(with_packs.join("packs")).unwrap();
    std::fs::write(
        with_packs.join("packs/000001.pack"),
        b"bytes of unknown mail",
    )
    .unwrap();
    let before = stores(&admin);
    let indexes_before = admin.ok("GetStoreIndexes", &[]);
    let changes_before = store_changes(&fixture).len();

    let cases: &[(&str, Args, &str)] = &[
        ("GetStores", &[("includeSize", "perhaps")], "not a bool"),
        ("CreateStore", &[("name", "../evil")], "store name"),
        (
            "CreateStore",
            &[("name", "x1"), ("type", "SQLServer")],
            "not supported",
        ),
        (
            "CreateStore",
            &[("name", "x1"), ("serverName", "db")],
            "SQL Server",
        ),
        (
            "CreateStore",
            &[
                ("name", "x1"),
                ("databasePath", "/a"),
                ("contentPath", "/b"),
            ],
            "one directory",
        ),
        (
            "CreateStore",
            &[("name", "x1"), ("requestedState", "frozen")],
            "unknown store state",
        ),
        ("CreateStore", &[("name", "MAIN")], "already exists"),
        (
            "CreateStore",
            &[
                ("name", "x1"),
                ("contentPath", inside_main.to_str().unwrap()),
            ],
            "overlaps",
        ),
        ("AttachStore", &[("name", "x1")], "needs the argument type"),
        (
            "AttachStore",
            &[("name", "x1"), ("type", "FileSystemInternal")],
            "contentPath",
        ),
        (
            "AttachStore",
            &[
                ("name", "x1"),
                ("type", "FileSystemInternal"),
                ("contentPath", "/nonexistent/store"),
            ],
            "no directory",
        ),
        (
            "AttachStore",
            &[
                ("name", "x1"),
                ("type", "FileSystemInternal"),
                ("contentPath", with_packs.to_str().unwrap()),
            ],
            "message packs",
        ),
        ("DetachStore", &[("id", "999")], "not found"),
        ("DetachStore", &[("id", &next)], "current"),
        ("DetachStore", &[("id", &main)], &holds),
        (
            "RenameStore",
            &[("id", &main), ("name", "bad name")],
            "store name",
        ),
        (
            "RenameStore",
            &[("id", &main), ("name", "NEXT")],
            "already exists",
        ),
        (
            "RenameStore",
            &[("id", "main"), ("name", "x1")],
            "not a number",
        ),
        (
            "SetStoreRequestedState",
            &[("id", &next), ("requestedState", "normal")],
            "current",
        ),
        (
            "SetStoreRequestedState",
            &[("id", &main)],
            "needs requestedState",
        ),
        (
            "SetStoreRequestedState",
            &[("id", &main), ("requestedState", "frozen")],
            "unknown store state",
        ),
        (
            "VerifyStore",
            &[("id", "999"), ("includeIndexes", "true")],
            "not found",
        ),
        (
            "VerifyStore",
            &[("id", &main)],
            "needs the argument includeIndexes",
        ),
        (
            "VerifyStore",
            &[("id", &main), ("includeIndexes", "maybe")],
            "not a bool",
        ),
        ("VerifyStores", &[], "needs the argument includeIndexes"),
        (
            "RebuildStoreIndex",
            &[("id", &main), ("folder", "nosuch")],
            "not found",
        ),
        (
            "RebuildStoreIndex",
            &[("id", &main), ("folder", "alice/Nowhere")],
            "not found",
        ),
        (
            "RebuildStoreIndex",
            &[("id", &next), ("folder", "alice")],
            "holds no messages",
        ),
        (
            "RebuildStoreIndex",
            &[("id", "999"), ("folder", "")],
            "not found",
        ),
        ("GetStoreIndexes", &[("id", "999")], "not found"),
    ];
    for (function, args, expected) in cases {
        let message = admin.fails(function, args);
        assert!(message.contains(expected), "{function} {args:?}: {message}");
    }

    for (function, args) in [
        ("GetStores", &[][..]),
        ("CreateStore", &[("name", "x1")]),
        (
            "AttachStore",
            &[
                ("name", "x1"),
                ("type", "FileSystemInternal"),
                ("contentPath", "/tmp"),
            ],
        ),
        ("DetachStore", &[("id", &next)]),
        ("RenameStore", &[("id", &main), ("name", "x1")]),
        (
            "SetStoreRequestedState",
            &[("id", &main), ("requestedState", "disabled")],
        ),
        ("VerifyStore", &[("id", &main), ("includeIndexes", "true")]),
        ("VerifyStores", &[("includeIndexes", "true")]),
        ("RebuildStoreIndex", &[("id", &main), ("folder", "")]),
        ("GetStoreIndexes", &[]),
    ] {
        fixture.refused_to_non_admin(function, args);
    }

    assert_eq!(stores(&admin), before);
    assert_eq!(admin.ok("GetStoreIndexes", &[]), indexes_before);
    assert_eq!(store_changes(&fixture).len(), changes_before);
    assert!(!inside_main.exists());
}

#[test]
fn verify_and_index_rebuild_run_as_jobs() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let imported = import(&fixture, "cpython");
    let main = store_id(&admin, "main");

    let all = admin.run_job("VerifyStores", &[("includeIndexes", "true")]);
    assert_eq!(all["statusCode"], "succeeded", "{all}");
    let report = &all["result"];
    assert_eq!(report["messagesChecked"], imported);
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["indexes"][0]["store"], "main");
    assert_eq!(report["indexes"][0]["pending"], 0);
    let one = admin.run_job("VerifyStore", &[("id", &main), ("includeIndexes", "false")]);
    assert_eq!(one["result"]["messagesChecked"], imported);
    assert_eq!(one["result"]["indexes"], serde_json::json!([]));

    let rebuilt = admin.run_job("RebuildStoreIndex", &[("id", &main), ("folder", "")]);
    assert_eq!(rebuilt["statusCode"], "succeeded", "{rebuilt}");
    assert_eq!(rebuilt["result"]["added"], imported);
    assert_eq!(rebuilt["percentProgress"], 100);
    let alice = admin.run_job("RebuildStoreIndex", &[("id", &main), ("folder", "alice")]);
    assert_eq!(alice["result"]["added"], imported);
    let indexes = admin.ok("GetStoreIndexes", &[]);
    let [index] = indexes.as_array().unwrap().as_slice() else {
        panic!("{indexes}")
    };
    assert_eq!(index["storeId"].to_string(), main);
    assert_eq!(index["documents"], imported);
    assert_eq!(index["messages"], imported);
    assert!(
        index["path"]
            .as_str()
            .unwrap()
            .ends_with("stores/main/index")
    );
    assert_eq!(admin.ok("GetStoreIndexes", &[("id", &main)]), indexes);

    // The command line's equivalents.
    let out = fixture
        .am
        .ok(&["verify", "--store", "main", "--include-indexes"]);
    assert!(out.contains("store main: 0 messages pending"), "{out}");
    assert!(out.contains("0 problem(s)"), "{out}");
    let out = fixture
        .am
        .ok(&["index", "rebuild", "--store", "main", "--folder", "alice"]);
    assert!(
        out.contains(&format!("{imported} messages indexed")),
        "{out}"
    );
    let out = fixture.am.ok(&["index", "list"]);
    assert!(
        out.contains(&format!(
            "store main: {imported} documents, {imported} messages"
        )),
        "{out}"
    );

    // Damage is reported in the result; the job itself succeeds.
    let pack = fixture.am.data_dir().join("stores/main/packs/000001.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&pack, bytes).unwrap();
    let damaged = admin.run_job("VerifyStore", &[("id", &main), ("includeIndexes", "false")]);
    assert_eq!(damaged["statusCode"], "succeeded", "{damaged}");
    assert_eq!(damaged["result"]["problems"].as_array().unwrap().len(), 1);
}

#[test]
fn cancel_stops_an_index_rebuild() {
    let fixture = Fixture::new();
    let admin = fixture.admin();
    let imported = import(&fixture, "cpython");
    let main = store_id(&admin, "main");

    // Another process writing the index (this test, holding its lock)
    // keeps the rebuild waiting: it is surely running when cancelled.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(
            fixture
                .am
                .data_dir()
                .join("stores/main/index/.tantivy-writer.lock"),
        )
        .unwrap();
    lock.lock().unwrap();
    let started = admin.invoke("RebuildStoreIndex", &[("id", &main), ("folder", "")]);
    assert_eq!(started.status_code(), "running", "{started:?}");
    let token = started.body["token"].as_str().unwrap();
    let cancel = admin.post("/api/cancel-async", &[("token", token)]);
    assert_eq!(cancel.status, 200, "{cancel:?}");
    let ended = admin.follow(token);
    assert_eq!(ended["statusCode"], "failed", "{ended}");
    assert_eq!(ended["error"]["message"], "cancelled");
    drop(lock);

    assert_eq!(
        admin.ok("GetStoreIndexes", &[])[0]["documents"],
        imported,
        "the index is as it was"
    );
    let rebuilt = admin.run_job("RebuildStoreIndex", &[("id", &main), ("folder", "")]);
    assert_eq!(rebuilt["statusCode"], "succeeded", "{rebuilt}");
}
