//! The archive view: what one signed-in user sees as mailboxes.
//!
//! This is the domain side of the IMAP view (product spec §2) and knows
//! nothing of the wire protocol: names are plain UTF-8 with `/` as the
//! hierarchy separator, and the IMAP layer encodes them (modified UTF-7,
//! quoting) and matches LIST patterns against them.
//!
//! A [`View`] is a finished list, built from the catalog in one go and cheap
//! to rebuild (one catalog query per visible archive). [`View::resolve`] only
//! looks names up in that list: a name a client sends is never split into a
//! path, joined to anything or handed to storage, so `..`, doubled
//! separators, wildcards or odd case can only ever fail to match.
//!
//! The rules are documented on [`View`].

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::Folder;
use super::{Archives, FolderPrivileges, UserRecord};
use crate::error::{Error, Result};

/// The hierarchy separator of mailbox names.
pub const SEPARATOR: char = '/';

/// The name IMAP gives the inbox (RFC 3501: case-insensitive).
pub const INBOX: &str = "INBOX";

/// Top-level folder names of an own archive taken as its inbox, lower-case,
/// in order of preference. Compared with the folder name lower-cased
/// (Unicode), so `INBOX`, `Inbox` and `POSTEINGANG` all match.
pub const INBOX_NAMES: &[&str] = &[
    "inbox",
    "posteingang",         // de
    "boîte de réception",  // fr
    "bandeja de entrada",  // es
    "posta in arrivo",     // it
    "caixa de entrada",    // pt
    "postvak in",          // nl
    "inkorgen",            // sv
    "indbakke",            // da
    "innboks",             // no
    "saapuneet",           // fi
    "odebrane",            // pl
    "skrzynka odbiorcza",  // pl
    "doručená pošta",      // cs
    "beérkezett üzenetek", // hu
    "gelen kutusu",        // tr
    "входящие",            // ru
    "受信トレイ",          // ja
    "收件箱",              // zh
];

/// Top-level folder names that carry a SPECIAL-USE attribute, lower-case,
/// in order of preference within each attribute.
const SPECIAL_USE_NAMES: &[(SpecialUse, &[&str])] = &[
    (
        SpecialUse::Sent,
        &[
            "sent items",
            "sent",
            "sent messages",
            "sent mail",
            "gesendete elemente", // de (Outlook)
            "gesendete objekte",  // de (older Outlook)
            "gesendet",           // de
            "éléments envoyés",   // fr
            "messages envoyés",   // fr
            "envoyés",            // fr
            "elementos enviados", // es
            "enviados",           // es, pt
            "posta inviata",      // it
            "elementi inviati",   // it
            "itens enviados",     // pt
            "verzonden items",    // nl
            "verzonden",          // nl
            "skickade objekt",    // sv
            "skickat",            // sv
            "sendte elementer",   // da, no
            "lähetetyt",          // fi
            "wysłane",            // pl
            "elementy wysłane",   // pl
            "odeslaná pošta",     // cs
            "отправленные",       // ru
        ],
    ),
    (
        SpecialUse::Drafts,
        &[
            "drafts",
            "entwürfe",       // de
            "brouillons",     // fr
            "borradores",     // es
            "bozze",          // it
            "rascunhos",      // pt
            "concepten",      // nl
            "utkast",         // sv, no
            "kladder",        // da
            "luonnokset",     // fi
            "wersje robocze", // pl
            "koncepty",       // cs
            "черновики",      // ru
        ],
    ),
    (
        SpecialUse::Trash,
        &[
            "deleted items",
            "trash",
            "deleted messages",
            "bin",
            "gelöschte elemente",   // de (Outlook)
            "gelöschte objekte",    // de (older Outlook)
            "papierkorb",           // de
            "éléments supprimés",   // fr
            "corbeille",            // fr
            "elementos eliminados", // es
            "papelera",             // es
            "posta eliminata",      // it
            "cestino",              // it
            "itens excluídos",      // pt
            "lixeira",              // pt
            "lixo",                 // pt
            "verwijderde items",    // nl
            "prullenbak",           // nl
            "borttagna objekt",     // sv
            "papperskorgen",        // sv
            "slettet post",         // da, no
            "poistetut",            // fi
            "elementy usunięte",    // pl
            "kosz",                 // pl
            "odstraněná pošta",     // cs
            "koš",                  // cs
            "удалённые",            // ru
            "удаленные",            // ru
            "корзина",              // ru
        ],
    ),
    (
        SpecialUse::Junk,
        &[
            "junk e-mail",
            "junk email",
            "junk-e-mail", // de (Outlook)
            "junk",
            "spam",
            "courrier indésirable", // fr
            "correo no deseado",    // es
            "posta indesiderata",   // it
            "lixo eletrônico",      // pt
            "ongewenste e-mail",    // nl
            "skräppost",            // sv
            "uønsket e-mail",       // da
            "søppelpost",           // no
            "roskaposti",           // fi
            "wiadomości-śmieci",    // pl
            "nevyžádaná pošta",     // cs
            "нежелательная почта",  // ru
        ],
    ),
    (
        SpecialUse::Archive,
        &[
            "archive",
            "archives",
            "archiv",   // de, cs
            "archivio", // it
            "archivo",  // es
            "arquivo",  // pt
            "archief",  // nl
            "arkiv",    // sv, da, no
            "arkisto",  // fi
            "archiwum", // pl
            "архив",    // ru
        ],
    ),
];

/// A SPECIAL-USE attribute (RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
}

impl SpecialUse {
    /// The attribute as IMAP writes it, e.g. `\Sent`.
    pub fn attribute(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// The attribute a top-level folder named `name` carries, if any, with
    /// its rank among the names for that attribute (lower is preferred).
    fn for_name(name: &str) -> Option<(SpecialUse, usize)> {
        let lower = name.to_lowercase();
        SPECIAL_USE_NAMES.iter().find_map(|(use_, names)| {
            names
                .iter()
                .position(|n| *n == lower)
                .map(|rank| (*use_, rank))
        })
    }
}

impl fmt::Display for SpecialUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute())
    }
}

/// RFC 4314 rights on one mailbox.
///
/// From folder privileges ([`Rights::for_privileges`]): `read` gives `lrsw`
/// (flags are private to each user, so storing them never changes the
/// archive); `write` adds `ikx` (insert by MOVE/COPY/APPEND, create and
/// rename sub-folders; the IMAP layer still keeps moves inside one archive);
/// `delete` adds `tex`. `p` (post) and `a` (administer) are never granted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u16);

impl Rights {
    /// Every right in RFC 4314's canonical order.
    pub const LETTERS: &'static str = "lrswipkxtea";

    pub const NONE: Rights = Rights(0);
    /// `l`: what namespace nodes carry.
    pub const LOOKUP: Rights = Rights::from_letters("l");
    /// `lr`: the virtual INBOX.
    pub const LOOKUP_READ: Rights = Rights::from_letters("lr");
    const READ: Rights = Rights::from_letters("lrsw");
    const WRITE: Rights = Rights::from_letters("ikx");
    const DELETE: Rights = Rights::from_letters("tex");
    /// What changes the archive; removed when changes are not allowed.
    const CHANGES: Rights = Rights::from_letters("ikxte");

    const fn bit(letter: u8) -> u16 {
        let letters = Self::LETTERS.as_bytes();
        let mut i = 0;
        while i < letters.len() {
            if letters[i] == letter {
                return 1 << i;
            }
            i += 1;
        }
        0
    }

    /// Rights from RFC 4314 letters; letters it does not know are ignored.
    pub const fn from_letters(letters: &str) -> Rights {
        let bytes = letters.as_bytes();
        let mut bits = 0;
        let mut i = 0;
        while i < bytes.len() {
            bits |= Self::bit(bytes[i]);
            i += 1;
        }
        Rights(bits)
    }

    /// What `privileges` allow on a mailbox of that archive. Without `read`
    /// nothing at all (`write` or `delete` alone give no right to see).
    /// `changes_allowed` false (legal hold, write-protected archive) removes
    /// `ikxte`, leaving `lrsw`.
    pub fn for_privileges(privileges: FolderPrivileges, changes_allowed: bool) -> Rights {
        if !privileges.contains(FolderPrivileges::READ) {
            return Rights::NONE;
        }
        let mut rights = Rights::READ;
        if privileges.contains(FolderPrivileges::WRITE) {
            rights = rights.union(Rights::WRITE);
        }
        if privileges.contains(FolderPrivileges::DELETE) {
            rights = rights.union(Rights::DELETE);
        }
        if changes_allowed {
            rights
        } else {
            rights.without_changes()
        }
    }

    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// These rights less `ikxte`: what remains when nothing may change.
    pub const fn without_changes(self) -> Rights {
        Rights(self.0 & !Rights::CHANGES.0)
    }

    /// Whether the right with RFC 4314 letter `right` is held.
    pub fn contains(self, right: char) -> bool {
        u8::try_from(right).is_ok_and(|b| {
            let bit = Self::bit(b);
            bit != 0 && self.0 & bit != 0
        })
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `r`: SELECT/EXAMINE, FETCH, SEARCH, COPY from.
    pub fn may_read(self) -> bool {
        self.contains('r')
    }

    /// True when none of `s`, `w`, `i`, `t`, `e` is held: such a mailbox
    /// opens `[READ-ONLY]` (RFC 4314 §4).
    pub fn read_only(self) -> bool {
        Rights::from_letters("swite").0 & self.0 == 0
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, letter) in Self::LETTERS.chars().enumerate() {
            if self.0 & (1 << i) != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights(\"{self}\")")
    }
}

/// One mailbox of a [`View`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMailbox {
    /// The full name, `/`-separated: `INBOX`, `Sent Items`, `Projects/Acme`,
    /// `Other Users/bob/Inbox`.
    pub name: String,
    /// The folder behind it; `None` for the virtual INBOX and for namespace
    /// nodes (`Other Users`, `Other Users/bob`).
    pub folder: Option<Folder>,
    /// The archive it belongs to; `""` for the other users' namespace node.
    pub archive: String,
    pub rights: Rights,
    pub special_use: Option<SpecialUse>,
    /// False for namespace nodes (`\Noselect`).
    pub selectable: bool,
    pub has_children: bool,
}

impl ViewMailbox {
    /// The other users' namespace root itself (`Other Users`): a prefix,
    /// not a mailbox. Like Dovecot's shared-namespace root it has no rights
    /// to ask for; a client that asks gets the answer for a name that does
    /// not exist.
    pub fn is_namespace_root(&self) -> bool {
        self.folder.is_none() && self.archive.is_empty()
    }
}

/// What a user may do in one archive, with its folders: the input of
/// [`View::build`].
#[derive(Debug, Clone)]
pub struct ArchiveAccess {
    pub archive: String,
    pub privileges: FolderPrivileges,
    /// False when nothing in the archive may change (legal hold): its
    /// mailboxes then lose `ikxte`.
    pub changes_allowed: bool,
    /// Folders holding messages whose bytes lie in a write-protected or
    /// disabled store: nothing in them may change, so they lose `ikxte`.
    pub frozen: HashSet<i64>,
    /// The archive's folders; parents of every folder are among them.
    pub folders: Vec<Folder>,
}

impl ArchiveAccess {
    /// The rights on one of the archive's folders.
    pub fn rights(&self, folder: &Folder) -> Rights {
        let changes_allowed = self.changes_allowed && !self.frozen.contains(&folder.id);
        Rights::for_privileges(self.privileges, changes_allowed)
    }
}

/// The mailboxes one user sees.
///
/// # Layout
///
/// * **Personal namespace** (`""`): the folders of the user's own archive
///   (the archive named like the user), under their own paths:
///   `Projects/Acme` is mailbox `Projects/Acme`. Shown only when the user
///   holds `read` on it.
/// * **INBOX** always exists. It is the own archive's top-level inbox folder
///   (`Inbox`, `Posteingang`, `Boîte de réception`, ... case-insensitively;
///   see `INBOX_NAMES`), shown as `INBOX`, its sub-folders as
///   `INBOX/<child>`. When several top-level folders qualify, the one whose
///   name comes first in that list wins (ties, which only differ in case,
///   go to the first in byte order); another candidate that matches
///   `INBOX` case-insensitively (`inbox` next to `Inbox`) cannot be named
///   through IMAP, as every such name means INBOX, and is left out with its
///   sub-folders. A candidate in another language (`Posteingang` next to
///   `Inbox`) stays visible under its own name. Without any candidate
///   (or without `read` on the own archive) INBOX is an empty, selectable,
///   read-only mailbox with no folder behind it and rights `lr`.
/// * **Other users' namespace**: every other archive the user holds `read`
///   on appears as `<prefix>/<archive>/<folder path>`, below two
///   non-selectable nodes `<prefix>` and `<prefix>/<archive>` (rights `l`;
///   the IMAP layer answers rights on `<prefix>` as for a missing name, as
///   Dovecot does: see [`ViewMailbox::is_namespace_root`]).
///   The `<prefix>` node exists only if at least one such archive does; the
///   archive node exists even when the archive has no folder yet, so a grant
///   is always visible. Folders there keep their own names: Bob's `Inbox` is
///   `Other Users/bob/Inbox`, never an INBOX.
/// * The prefix is reserved: a top-level folder of the own archive with
///   exactly that name (and its sub-folders) is left out of the view, so the
///   namespace never depends on what a user happened to archive.
/// * Archives the user holds `none` on — or only `write`/`delete` without
///   `read`, which grant nothing without the right to see — are not in the
///   view at all, so resolving their names answers exactly as for names
///   that never existed.
///
/// # Order
///
/// [`View::mailboxes`] lists INBOX and its sub-folders first, then the rest
/// of the personal namespace, then the other users' namespace. Within each
/// part names are compared segment by segment (case-insensitively first,
/// then exactly), so every parent comes right before its children.
///
/// # SPECIAL-USE
///
/// Only top-level folders of the own archive carry RFC 6154 attributes,
/// by name (English and common localised names, case-insensitive; see
/// `SPECIAL_USE_NAMES`), and each attribute goes to one mailbox at most:
/// the best-ranked name wins (`Sent Items` over `Sent`). Folders of other
/// archives never carry one: a client would take Bob's `Sent Items` for the
/// place to keep its own user's sent mail.
#[derive(Debug, Clone)]
pub struct View {
    user: String,
    other_users: String,
    /// The own archive's folder shown as INBOX; `None` with the virtual
    /// INBOX. Only meaningful with `own_visible`.
    inbox_path: Option<String>,
    /// Whether the user holds `read` on their own archive.
    own_visible: bool,
    mailboxes: Vec<ViewMailbox>,
    by_name: HashMap<String, usize>,
}

impl Archives {
    /// The view of `user`, with other archives under the namespace prefix
    /// `other_users` (e.g. `Other Users`; one name, a trailing `/` allowed).
    pub fn view(&self, user: &UserRecord, other_users: &str) -> Result<View> {
        View::build(&user.name, other_users, self.accesses(user)?)
    }
}

impl View {
    /// Builds the view of user `user` (whose own archive is the one named
    /// alike) from what they may do in each archive. Archives without
    /// `read` are left out, however they are passed.
    pub fn build(user: &str, other_users: &str, archives: Vec<ArchiveAccess>) -> Result<View> {
        let prefix = namespace_prefix(other_users)?;
        let mut mailboxes = Vec::new();
        let mut own = None;
        let mut others = Vec::new();
        for access in archives {
            if !access.privileges.contains(FolderPrivileges::READ) {
                continue;
            }
            if access.archive == user {
                own = Some(access);
            } else {
                others.push(access);
            }
        }

        let own_visible = own.is_some();
        let inbox_path = match own {
            Some(own) => personal(own, &prefix, &mut mailboxes),
            None => None,
        };
        let has_inbox = inbox_path.is_some();
        if !has_inbox {
            mailboxes.push(ViewMailbox {
                name: INBOX.to_string(),
                folder: None,
                archive: user.to_string(),
                rights: Rights::LOOKUP_READ,
                special_use: None,
                selectable: true,
                has_children: false,
            });
        }

        if !others.is_empty() {
            mailboxes.push(node(prefix.clone(), String::new()));
        }
        for access in others {
            let root = format!("{prefix}{SEPARATOR}{}", access.archive);
            mailboxes.push(node(root.clone(), access.archive.clone()));
            for folder in &access.folders {
                mailboxes.push(ViewMailbox {
                    name: format!("{root}{SEPARATOR}{}", folder.path),
                    rights: access.rights(folder),
                    folder: Some(folder.clone()),
                    archive: access.archive.clone(),
                    special_use: None,
                    selectable: !folder.noselect,
                    has_children: false,
                });
            }
        }

        mailboxes.sort_by_cached_key(|m| sort_key(&m.name, &prefix));
        debug_assert!(
            mailboxes.windows(2).all(|w| w[0].name != w[1].name),
            "the rules above never give two mailboxes one name"
        );
        let parents: HashSet<&str> = mailboxes
            .iter()
            .filter_map(|m| m.name.rsplit_once(SEPARATOR).map(|(parent, _)| parent))
            .collect();
        let has_children: Vec<bool> = mailboxes
            .iter()
            .map(|m| parents.contains(m.name.as_str()))
            .collect();
        for (mailbox, children) in mailboxes.iter_mut().zip(has_children) {
            mailbox.has_children = children;
        }
        let by_name = mailboxes
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.clone(), i))
            .collect();
        Ok(View {
            user: user.to_string(),
            other_users: prefix,
            inbox_path,
            own_visible,
            mailboxes,
            by_name,
        })
    }

    /// Every mailbox the user may see, in the documented order.
    pub fn mailboxes(&self) -> &[ViewMailbox] {
        &self.mailboxes
    }

    /// The mailbox called `name`, if the user may see it. `INBOX` is matched
    /// case-insensitively, also as the first segment (`inbox/Clients`);
    /// every other name must match exactly.
    pub fn resolve(&self, name: &str) -> Option<&ViewMailbox> {
        let (first, rest) = match name.split_once(SEPARATOR) {
            Some((first, rest)) => (first, Some(rest)),
            None => (name, None),
        };
        let index = if first.eq_ignore_ascii_case(INBOX) && first != INBOX {
            let canonical = match rest {
                Some(rest) => format!("{INBOX}{SEPARATOR}{rest}"),
                None => INBOX.to_string(),
            };
            self.by_name.get(&canonical)
        } else {
            self.by_name.get(name)
        };
        index.map(|&i| &self.mailboxes[i])
    }

    /// Where a mailbox that does not exist yet would be made: (archive,
    /// folder path). `None` where no folder can be: the namespace node, an
    /// archive's root, below the virtual INBOX, or in an archive this user
    /// does not see.
    pub fn place(&self, name: &str) -> Option<(String, String)> {
        let name = name.strip_suffix(SEPARATOR).unwrap_or(name);
        if let Some(rest) = name
            .strip_prefix(self.other_users.as_str())
            .and_then(|r| r.strip_prefix(SEPARATOR))
        {
            let (archive, path) = rest.split_once(SEPARATOR)?;
            let root = self.resolve(&format!("{}{SEPARATOR}{archive}", self.other_users))?;
            return Some((root.archive.clone(), path.to_string()));
        }
        if name == self.other_users {
            return None;
        }
        let (first, rest) = match name.split_once(SEPARATOR) {
            Some((first, rest)) => (first, Some(rest)),
            None => (name, None),
        };
        if first.eq_ignore_ascii_case(INBOX) {
            let inbox = self.inbox().folder.as_ref()?;
            let path = match rest {
                Some(rest) => format!("{}{SEPARATOR}{rest}", inbox.path),
                None => inbox.path.clone(),
            };
            return Some((self.user.clone(), path));
        }
        Some((self.user.clone(), name.to_string()))
    }

    /// The name folder `path` of `archive` has (or would have) in this view,
    /// whether or not it exists: what a subscription to it is listed as.
    /// `None` where the view has no such name: an archive it does not
    /// show, or a path its rules leave out (the reserved prefix, a second
    /// inbox candidate).
    pub fn name_of(&self, archive: &str, path: &str) -> Option<String> {
        if archive == self.user {
            if !self.own_visible {
                return None;
            }
            let (first, rest) = match path.split_once(SEPARATOR) {
                Some((first, rest)) => (first, Some(rest)),
                None => (path, None),
            };
            return match (&self.inbox_path, rest) {
                (Some(inbox), None) if first == inbox => Some(INBOX.to_string()),
                (Some(inbox), Some(rest)) if first == inbox => {
                    Some(format!("{INBOX}{SEPARATOR}{rest}"))
                }
                _ if first.eq_ignore_ascii_case(INBOX) || first == self.other_users => None,
                _ => Some(path.to_string()),
            };
        }
        let root = format!("{}{SEPARATOR}{archive}", self.other_users);
        self.by_name
            .contains_key(&root)
            .then(|| format!("{root}{SEPARATOR}{path}"))
    }

    /// The INBOX, which always exists.
    pub fn inbox(&self) -> &ViewMailbox {
        &self.mailboxes[self.by_name[INBOX]]
    }

    /// The user the view belongs to.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The other users' namespace prefix, without a trailing separator.
    pub fn other_users(&self) -> &str {
        &self.other_users
    }
}

/// Adds the own archive's mailboxes; returns the path of the one that is
/// the INBOX, if any.
fn personal(own: ArchiveAccess, prefix: &str, mailboxes: &mut Vec<ViewMailbox>) -> Option<String> {
    let inbox = own
        .folders
        .iter()
        .filter(|f| !f.path.contains(SEPARATOR))
        .filter_map(|f| {
            let lower = f.path.to_lowercase();
            INBOX_NAMES
                .iter()
                .position(|n| *n == lower)
                .map(|rank| (rank, f.path.as_str()))
        })
        .min()
        .map(|(_, path)| path.to_string());

    // One mailbox per SPECIAL-USE attribute: the best-ranked name wins.
    let mut special: HashMap<SpecialUse, (usize, String)> = HashMap::new();
    for folder in &own.folders {
        if folder.path.contains(SEPARATOR) || Some(&folder.path) == inbox.as_ref() {
            continue;
        }
        if let Some((use_, rank)) = SpecialUse::for_name(&folder.path) {
            let better = special
                .get(&use_)
                .is_none_or(|(r, p)| (rank, folder.path.as_str()) < (*r, p.as_str()));
            if better {
                special.insert(use_, (rank, folder.path.clone()));
            }
        }
    }

    for folder in &own.folders {
        let first = folder.path.split(SEPARATOR).next().unwrap_or_default();
        let name = match &inbox {
            Some(inbox) if first == inbox => format!("{INBOX}{}", &folder.path[inbox.len()..]),
            // Another inbox candidate that IMAP would read as INBOX.
            _ if first.eq_ignore_ascii_case(INBOX) => continue,
            _ if first == prefix => continue,
            _ => folder.path.clone(),
        };
        let special_use = special
            .iter()
            .find(|(_, (_, path))| *path == folder.path)
            .map(|(use_, _)| *use_);
        mailboxes.push(ViewMailbox {
            name,
            rights: own.rights(folder),
            folder: Some(folder.clone()),
            archive: own.archive.clone(),
            special_use,
            selectable: !folder.noselect,
            has_children: false,
        });
    }
    inbox
}

fn node(name: String, archive: String) -> ViewMailbox {
    ViewMailbox {
        name,
        folder: None,
        archive,
        rights: Rights::LOOKUP,
        special_use: None,
        selectable: false,
        has_children: false,
    }
}

/// The other users' prefix: one segment, a trailing separator allowed.
fn namespace_prefix(prefix: &str) -> Result<String> {
    let name = prefix.strip_suffix(SEPARATOR).unwrap_or(prefix);
    let valid = !name.trim().is_empty()
        && !name.contains(SEPARATOR)
        && !name.chars().any(char::is_control)
        && !name.eq_ignore_ascii_case(INBOX)
        && name != "."
        && name != "..";
    if valid {
        Ok(name.to_string())
    } else {
        Err(Error::Invalid(format!(
            "other users' namespace {prefix:?}: use one name without '/', other than INBOX"
        )))
    }
}

/// Orders INBOX's tree first, the personal namespace next and the other
/// users' namespace last; within each, segment by segment.
fn sort_key(name: &str, prefix: &str) -> (u8, Vec<(String, String)>) {
    let first = name.split(SEPARATOR).next().unwrap_or_default();
    let group = if first == INBOX {
        0
    } else if first == prefix {
        2
    } else {
        1
    };
    let segments = name
        .split(SEPARATOR)
        .map(|s| (s.to_lowercase(), s.to_string()))
        .collect();
    (group, segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(id: i64, path: &str) -> Folder {
        Folder {
            id,
            archive_id: 1,
            path: path.to_string(),
            uidvalidity: 1,
            uidnext: 1,
            highestmodseq: 1,
            contents_modseq: 1,
            noselect: false,
        }
    }

    fn access(archive: &str, privileges: &str, paths: &[&str]) -> ArchiveAccess {
        ArchiveAccess {
            archive: archive.to_string(),
            privileges: privileges.parse().unwrap(),
            changes_allowed: true,
            frozen: HashSet::new(),
            folders: paths
                .iter()
                .enumerate()
                .map(|(i, p)| folder(i as i64 + 1, p))
                .collect(),
        }
    }

    fn names(view: &View) -> Vec<&str> {
        view.mailboxes().iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn rights_follow_privileges() {
        let of = |p: &str| Rights::for_privileges(p.parse().unwrap(), true).to_string();
        assert_eq!(of("none"), "");
        assert_eq!(of("write,delete"), "");
        assert_eq!(of("read"), "lrsw");
        assert_eq!(of("read,write"), "lrswikx");
        assert_eq!(of("read,delete"), "lrswxte");
        assert_eq!(of("read,write,delete"), "lrswikxte");
        let held = Rights::for_privileges("read,write,delete".parse().unwrap(), false);
        assert_eq!(held.to_string(), "lrsw");
        assert!(!held.read_only() && held.may_read());
        assert!(Rights::LOOKUP_READ.read_only());
        assert!(Rights::LOOKUP.read_only() && !Rights::LOOKUP.may_read());
        assert!(held.contains('l') && !held.contains('i') && !held.contains('é'));
        assert_eq!(format!("{:?}", Rights::LOOKUP), "Rights(\"l\")");
        assert_eq!(
            Rights::from_letters("aetxkpiwsrl").to_string(),
            "lrswipkxtea"
        );
    }

    #[test]
    fn special_use_by_name() {
        assert_eq!(
            SpecialUse::for_name("GESENDETE ELEMENTE").map(|(u, _)| u),
            Some(SpecialUse::Sent)
        );
        assert_eq!(
            SpecialUse::for_name("Éléments envoyés").map(|(u, _)| u),
            Some(SpecialUse::Sent)
        );
        assert_eq!(
            SpecialUse::for_name("Junk-E-Mail").map(|(u, _)| u),
            Some(SpecialUse::Junk)
        );
        assert_eq!(SpecialUse::for_name("Projects"), None);
        assert_eq!(SpecialUse::Trash.attribute(), "\\Trash");
        // No name belongs to two attributes.
        let mut seen = HashSet::new();
        for (_, names) in SPECIAL_USE_NAMES {
            for name in *names {
                assert!(seen.insert(*name), "{name} listed twice");
                assert_eq!(name.to_lowercase(), *name);
                assert!(!INBOX_NAMES.contains(name));
            }
        }
        for name in INBOX_NAMES {
            assert_eq!(name.to_lowercase(), *name);
        }
    }

    #[test]
    fn one_special_use_per_attribute_and_top_level_only() {
        let own = access(
            "alice",
            "read",
            &["Drafts", "Projects", "Projects/Sent", "Sent", "Sent Items"],
        );
        let view = View::build("alice", "Other Users", vec![own]).unwrap();
        let special = |n: &str| view.resolve(n).unwrap().special_use;
        assert_eq!(special("Sent Items"), Some(SpecialUse::Sent));
        assert_eq!(special("Sent"), None);
        assert_eq!(special("Projects/Sent"), None);
        assert_eq!(special("Drafts"), Some(SpecialUse::Drafts));
    }

    #[test]
    fn inbox_candidates_and_collisions() {
        let own = access(
            "alice",
            "read",
            &[
                "INBOX",
                "INBOX/a",
                "Inbox",
                "Inbox/b",
                "Posteingang",
                "Other Users",
                "Other Users/x",
                "other users",
            ],
        );
        let bob = access("bob", "read", &["Inbox"]);
        let view = View::build("alice", "Other Users/", vec![own, bob]).unwrap();
        assert_eq!(
            names(&view),
            [
                "INBOX",
                "INBOX/a",
                "other users",
                "Posteingang",
                "Other Users",
                "Other Users/bob",
                "Other Users/bob/Inbox",
            ]
        );
        assert_eq!(view.inbox().folder.as_ref().unwrap().path, "INBOX");
        assert!(view.resolve("inbox/b").is_none());
        assert_eq!(view.resolve("inbox/A"), None);
        assert_eq!(view.resolve("Inbox/a").unwrap().name, "INBOX/a");
        assert_eq!(view.other_users(), "Other Users");
    }

    #[test]
    fn localised_inbox_prefers_the_list_order() {
        let own = access("alice", "read", &["Posteingang", "Inkorgen"]);
        let view = View::build("alice", "Other Users", vec![own]).unwrap();
        assert_eq!(names(&view), ["INBOX", "Inkorgen"]);
        assert_eq!(view.inbox().folder.as_ref().unwrap().path, "Posteingang");
    }

    #[test]
    fn invisible_without_read_and_changes_hook() {
        let own = ArchiveAccess {
            changes_allowed: false,
            ..access("alice", "read,write,delete", &["Inbox"])
        };
        let carol = access("carol", "write,delete", &["Inbox"]);
        let view = View::build("alice", "Other Users", vec![own, carol]).unwrap();
        assert_eq!(names(&view), ["INBOX"]);
        assert_eq!(view.inbox().rights.to_string(), "lrsw");
        assert!(view.resolve("Other Users").is_none());
        assert!(view.resolve("Other Users/carol/Inbox").is_none());
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for bad in ["", "/", "a/b", "INBOX", "inbox/", "..", " "] {
            assert!(View::build("alice", bad, vec![]).is_err(), "{bad:?}");
        }
        assert!(View::build("alice", "Shared", vec![]).is_ok());
    }

    #[test]
    fn resolve_never_interprets_paths() {
        let own = access("alice", "read", &["Projects", "Projects/Acme"]);
        let bob = access("bob", "read", &["Inbox"]);
        let view = View::build("alice", "Other Users", vec![own, bob]).unwrap();
        for name in [
            "",
            "/",
            "Projects/",
            "/Projects",
            "Projects//Acme",
            "Projects/./Acme",
            "Projects/Acme/..",
            "Projects/../Projects",
            "projects/acme",
            "Projects/*",
            "%",
            "Other Users/bob/../bob/Inbox",
            "Other Users/Bob/Inbox",
            "INBOX/",
            "INBOX/..",
        ] {
            assert!(view.resolve(name).is_none(), "{name:?} resolved");
        }
    }
}
