//! The archive view through the domain's real interface: users, grants and
//! folders made with `Archives`, then the mailboxes each user sees.

use archimap::archive::{
    Archives, Authentication, FolderPath, FolderPrivileges, GlobalPrivileges, NewUserRequest,
    SpecialUse, UserRecord, View,
};
use archimap::config::Config;

struct Fixture {
    _dir: tempfile::TempDir,
    archives: Archives,
}

const OTHER: &str = "Other Users";

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Default::default()
        };
        let archives = Archives::open(&config).expect("archives open");
        Fixture {
            _dir: dir,
            archives,
        }
    }

    /// A directory user (no password to hash), holding `read` on their archive.
    fn user(&self, name: &str) -> UserRecord {
        self.archives
            .add_user(NewUserRequest {
                name: name.into(),
                full_name: String::new(),
                emails: vec![],
                authentication: Authentication::DirectoryServices,
                password: None,
                distinguished_name: None,
                privileges: GlobalPrivileges::DEFAULT,
            })
            .expect("user added")
    }

    fn folders(&self, archive: &str, paths: &[&str]) {
        for path in paths {
            self.archives
                .ensure_folder(archive, &FolderPath::new(path).unwrap())
                .expect("folder");
        }
    }

    fn grant(&self, user: &str, archive: &str, privileges: &str) {
        self.archives
            .grant(user, archive, privileges.parse().unwrap())
            .expect("grant");
    }

    fn view(&self, user: &UserRecord) -> View {
        self.archives.view(user, OTHER).expect("view")
    }
}

/// One line per mailbox: name, rights, selectability, children, special use,
/// archive and the folder behind it.
fn listing(view: &View) -> Vec<String> {
    view.mailboxes()
        .iter()
        .map(|m| {
            format!(
                "{} [{}]{}{}{} {}:{}",
                m.name,
                m.rights,
                if m.selectable { "" } else { " \\Noselect" },
                if m.has_children {
                    " \\HasChildren"
                } else {
                    " \\HasNoChildren"
                },
                m.special_use
                    .map(|u| format!(" {}", u.attribute()))
                    .unwrap_or_default(),
                m.archive,
                m.folder.as_ref().map_or("-", |f| f.path.as_str()),
            )
        })
        .collect()
}

#[test]
fn own_archive_at_the_root_with_inbox_and_special_use() {
    let fx = Fixture::new();
    let alice = fx.user("alice");
    fx.folders(
        "alice",
        &[
            "Inbox",
            "Inbox/Clients",
            "Sent Items",
            "Projects/Acme",
            "Deleted Items",
            "Junk E-Mail",
            "Drafts",
            "Archive",
        ],
    );
    let view = fx.view(&alice);
    assert_eq!(
        listing(&view),
        [
            "INBOX [lrsw] \\HasChildren alice:Inbox",
            "INBOX/Clients [lrsw] \\HasNoChildren alice:Inbox/Clients",
            "Archive [lrsw] \\HasNoChildren \\Archive alice:Archive",
            "Deleted Items [lrsw] \\HasNoChildren \\Trash alice:Deleted Items",
            "Drafts [lrsw] \\HasNoChildren \\Drafts alice:Drafts",
            "Junk E-Mail [lrsw] \\HasNoChildren \\Junk alice:Junk E-Mail",
            "Projects [lrsw] \\HasChildren alice:Projects",
            "Projects/Acme [lrsw] \\HasNoChildren alice:Projects/Acme",
            "Sent Items [lrsw] \\HasNoChildren \\Sent alice:Sent Items",
        ]
    );
    // The folder shown as INBOX is not also there under its own name.
    assert!(view.resolve("Inbox/Clients").is_some());
    assert_eq!(view.resolve("Inbox").unwrap().name, "INBOX");
    assert_eq!(
        view.resolve("Projects/Acme")
            .unwrap()
            .folder
            .as_ref()
            .unwrap()
            .path,
        "Projects/Acme"
    );
    assert!(view.resolve("projects/acme").is_none());
    assert!(view.resolve("Other Users").is_none());
    assert_eq!(view.user(), "alice");
}

#[test]
fn without_an_inbox_folder_inbox_is_virtual_empty_and_read_only() {
    let fx = Fixture::new();
    let alice = fx.user("alice");
    fx.folders("alice", &["Sent Items"]);
    let view = fx.view(&alice);
    assert_eq!(
        listing(&view),
        [
            "INBOX [lr] \\HasNoChildren alice:-",
            "Sent Items [lrsw] \\HasNoChildren \\Sent alice:Sent Items",
        ]
    );
    let inbox = view.resolve("INBOX").unwrap();
    assert!(inbox.selectable && inbox.folder.is_none());
    assert!(
        !inbox.is_namespace_root(),
        "a mailbox, though without a folder"
    );
    assert!(inbox.rights.read_only() && inbox.rights.may_read());

    // A brand-new user with an empty archive sees just that INBOX.
    let bob = fx.user("bob");
    assert_eq!(
        listing(&fx.view(&bob)),
        ["INBOX [lr] \\HasNoChildren bob:-"]
    );
}

#[test]
fn localised_inbox_posteingang() {
    let fx = Fixture::new();
    let anna = fx.user("anna");
    fx.folders(
        "anna",
        &[
            "Posteingang",
            "Posteingang/Kunden",
            "Gesendete Elemente",
            "Entwürfe",
            "Gelöschte Elemente",
            "Junk-E-Mail",
            "Archiv",
        ],
    );
    let view = fx.view(&anna);
    assert_eq!(
        listing(&view),
        [
            "INBOX [lrsw] \\HasChildren anna:Posteingang",
            "INBOX/Kunden [lrsw] \\HasNoChildren anna:Posteingang/Kunden",
            "Archiv [lrsw] \\HasNoChildren \\Archive anna:Archiv",
            "Entwürfe [lrsw] \\HasNoChildren \\Drafts anna:Entwürfe",
            "Gelöschte Elemente [lrsw] \\HasNoChildren \\Trash anna:Gelöschte Elemente",
            "Gesendete Elemente [lrsw] \\HasNoChildren \\Sent anna:Gesendete Elemente",
            "Junk-E-Mail [lrsw] \\HasNoChildren \\Junk anna:Junk-E-Mail",
        ]
    );
    assert!(view.resolve("Posteingang").is_none());
    assert_eq!(
        view.resolve("inbox/Kunden")
            .unwrap()
            .folder
            .as_ref()
            .unwrap()
            .path,
        "Posteingang/Kunden"
    );
}

#[test]
fn other_archives_appear_under_other_users_when_readable() {
    let fx = Fixture::new();
    let alice = fx.user("alice");
    fx.user("bob");
    fx.user("carol");
    fx.user("dave");
    fx.folders("alice", &["Inbox"]);
    fx.folders("bob", &["Inbox", "Sent Items", "Projects/Acme"]);
    fx.folders("carol", &["Inbox", "Secret"]);
    fx.folders("dave", &["Inbox"]);
    fx.grant("alice", "bob", "read");
    fx.grant("alice", "carol", "read");
    fx.grant("alice", "carol", "none"); // granted, then taken back
    fx.grant("alice", "dave", "write,delete"); // without read: nothing

    let view = fx.view(&alice);
    assert_eq!(
        listing(&view),
        [
            "INBOX [lrsw] \\HasNoChildren alice:Inbox",
            "Other Users [l] \\Noselect \\HasChildren :-",
            "Other Users/bob [l] \\Noselect \\HasChildren bob:-",
            "Other Users/bob/Inbox [lrsw] \\HasNoChildren bob:Inbox",
            "Other Users/bob/Projects [lrsw] \\HasChildren bob:Projects",
            "Other Users/bob/Projects/Acme [lrsw] \\HasNoChildren bob:Projects/Acme",
            "Other Users/bob/Sent Items [lrsw] \\HasNoChildren bob:Sent Items",
        ]
    );

    // Invisible archives answer exactly like names that never existed.
    for hidden in [
        "Other Users/carol",
        "Other Users/carol/Inbox",
        "Other Users/carol/Secret",
        "Other Users/dave",
        "Other Users/dave/Inbox",
    ] {
        assert_eq!(view.resolve(hidden), None, "{hidden}");
        assert_eq!(
            view.resolve(hidden),
            view.resolve("Other Users/nobody/Inbox")
        );
    }
    assert!(view.mailboxes().iter().all(|m| m.archive != "carol"));

    // Bob sees nothing of Alice's, and his own Inbox as INBOX.
    let bob = fx.archives.user("bob").unwrap();
    let bobs = fx.view(&bob);
    assert!(bobs.resolve("Other Users/alice").is_none());
    assert_eq!(bobs.inbox().folder.as_ref().unwrap().path, "Inbox");
    assert_eq!(
        bobs.resolve("Sent Items").unwrap().special_use,
        Some(SpecialUse::Sent)
    );
}

#[test]
fn rights_follow_folder_privileges() {
    let fx = Fixture::new();
    let alice = fx.user("alice");
    fx.user("bob");
    fx.folders("alice", &["Inbox"]);
    fx.folders("bob", &["Inbox"]);
    for (privileges, rights, read_only) in [
        ("read", "lrsw", false),
        ("read,write", "lrswikx", false),
        ("read,write,delete", "lrswikxte", false),
        ("read,delete", "lrswxte", false),
    ] {
        fx.grant("alice", "alice", privileges);
        fx.grant("alice", "bob", privileges);
        let view = fx.view(&alice);
        for name in ["INBOX", "Other Users/bob/Inbox"] {
            let mailbox = view.resolve(name).unwrap();
            assert_eq!(
                mailbox.rights.to_string(),
                rights,
                "{name} with {privileges}"
            );
            assert_eq!(mailbox.rights.read_only(), read_only);
        }
        for node in ["Other Users", "Other Users/bob"] {
            let mailbox = view.resolve(node).unwrap();
            assert_eq!(mailbox.rights.to_string(), "l");
            assert_eq!(mailbox.is_namespace_root(), node == "Other Users");
        }
        assert!(
            !view
                .resolve("Other Users/bob/Inbox")
                .unwrap()
                .is_namespace_root()
        );
    }
    assert_eq!(
        fx.archives.folder_privileges(&alice, "bob").unwrap(),
        "read,delete".parse::<FolderPrivileges>().unwrap()
    );
}

#[test]
fn own_archive_without_read_leaves_only_the_virtual_inbox() {
    let fx = Fixture::new();
    let alice = fx.user("alice");
    fx.folders("alice", &["Inbox", "Projects"]);
    for privileges in ["none", "write", "write,delete"] {
        fx.grant("alice", "alice", privileges);
        let view = fx.view(&alice);
        assert_eq!(listing(&view), ["INBOX [lr] \\HasNoChildren alice:-"]);
        assert!(view.resolve("Projects").is_none());
    }
}

#[test]
fn inbox_is_case_insensitive_everything_else_exact() {
    let fx = Fixture::new();
    let alice = fx.user("alice");
    fx.folders("alice", &["Inbox/child", "Sent Items"]);
    let view = fx.view(&alice);
    for name in ["INBOX", "inbox", "Inbox", "iNbOx"] {
        assert_eq!(view.resolve(name).unwrap().name, "INBOX", "{name}");
    }
    for name in ["INBOX/child", "inbox/child", "InBoX/child"] {
        assert_eq!(view.resolve(name).unwrap().name, "INBOX/child", "{name}");
    }
    for name in [
        "INBOX/Child",
        "inbox/",
        "INBOX/child/",
        "inboxx",
        "sent items",
        "SENT ITEMS",
        "Sent Items/",
        "/Sent Items",
        "Sent Items/..",
        "../alice/Sent Items",
        "",
    ] {
        assert!(view.resolve(name).is_none(), "{name:?} resolved");
    }
}

#[test]
fn namespace_prefix_is_configurable() {
    let fx = Fixture::new();
    let alice = fx.user("alice");
    fx.user("bob");
    fx.folders("bob", &["Inbox"]);
    fx.grant("alice", "bob", "read");
    let view = fx.archives.view(&alice, "Shared/").unwrap();
    assert_eq!(view.other_users(), "Shared");
    assert!(view.resolve("Shared/bob/Inbox").is_some());
    assert!(view.resolve("Other Users/bob/Inbox").is_none());
    assert!(fx.archives.view(&alice, "a/b").is_err());
    assert!(fx.archives.view(&alice, "inbox").is_err());
}
