//! Status responses (RFC 3501 7.1): the tagged OK, NO or BAD that ends
//! every command, the untagged OK that carries a response code, and BYE;
//! with the one mapping from the domain's errors to them. Handlers return
//! a [`Reply`]; the session writes it under the command's tag.

use std::borrow::Cow;
use std::fmt;

use crate::error::Error;

/// The status a response reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Ok,
    No,
    Bad,
    Bye,
}

/// A response code: RFC 3501 7.1, RFC 5530, and the extensions'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    AlreadyExists,
    /// The UIDs as `uid_list` writes them.
    AppendUid {
        uidvalidity: u32,
        uids: String,
    },
    AuthenticationFailed,
    /// A CATENATE URL that names nothing to read (RFC 4469 6).
    BadUrl(String),
    AuthorizationFailed,
    /// The charsets SEARCH accepts.
    BadCharset(&'static str),
    /// The NOTIFY events the server tells (RFC 5465 3.1).
    BadEvent(&'static str),
    Cannot,
    Capability(&'static str),
    ClientBug,
    /// The mailbox selected before was closed (RFC 7162 3.2.11).
    Closed,
    /// COMPRESS while compression is on (RFC 4978).
    CompressionActive,
    /// The UIDs as `uid_list` writes them.
    CopyUid {
        uidvalidity: u32,
        from: String,
        to: String,
    },
    Expired,
    ExpungeIssued,
    HighestModSeq(u64),
    Limit,
    /// The messages a conditional STORE left alone (RFC 7162 3.1.3), as a
    /// sequence set.
    Modified(String),
    Nonexistent,
    NoPerm,
    /// BINARY of a part whose encoded content is broken (RFC 3516).
    Parse,
    PermanentFlags(String),
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TooBig,
    TryCreate,
    UidNext(u32),
    UidValidity(u32),
    /// BINARY of a part whose Content-Transfer-Encoding is not known.
    UnknownCte,
    Unavailable,
    Unseen(usize),
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::AlreadyExists => f.write_str("ALREADYEXISTS"),
            Code::AppendUid { uidvalidity, uids } => write!(f, "APPENDUID {uidvalidity} {uids}"),
            Code::AuthenticationFailed => f.write_str("AUTHENTICATIONFAILED"),
            Code::BadUrl(url) => write!(f, "BADURL {url}"),
            Code::AuthorizationFailed => f.write_str("AUTHORIZATIONFAILED"),
            Code::BadCharset(charsets) => write!(f, "BADCHARSET ({charsets})"),
            Code::BadEvent(events) => write!(f, "BADEVENT ({events})"),
            Code::Cannot => f.write_str("CANNOT"),
            Code::Capability(capabilities) => write!(f, "CAPABILITY {capabilities}"),
            Code::ClientBug => f.write_str("CLIENTBUG"),
            Code::Closed => f.write_str("CLOSED"),
            Code::CompressionActive => f.write_str("COMPRESSIONACTIVE"),
            Code::CopyUid {
                uidvalidity,
                from,
                to,
            } => write!(f, "COPYUID {uidvalidity} {from} {to}"),
            Code::Expired => f.write_str("EXPIRED"),
            Code::ExpungeIssued => f.write_str("EXPUNGEISSUED"),
            Code::HighestModSeq(modseq) => write!(f, "HIGHESTMODSEQ {modseq}"),
            Code::Limit => f.write_str("LIMIT"),
            Code::Modified(set) => write!(f, "MODIFIED {set}"),
            Code::Nonexistent => f.write_str("NONEXISTENT"),
            Code::NoPerm => f.write_str("NOPERM"),
            Code::Parse => f.write_str("PARSE"),
            Code::PermanentFlags(flags) => write!(f, "PERMANENTFLAGS ({flags})"),
            Code::PrivacyRequired => f.write_str("PRIVACYREQUIRED"),
            Code::ReadOnly => f.write_str("READ-ONLY"),
            Code::ReadWrite => f.write_str("READ-WRITE"),
            Code::ServerBug => f.write_str("SERVERBUG"),
            Code::TooBig => f.write_str("TOOBIG"),
            Code::TryCreate => f.write_str("TRYCREATE"),
            Code::UidNext(uid) => write!(f, "UIDNEXT {uid}"),
            Code::UidValidity(validity) => write!(f, "UIDVALIDITY {validity}"),
            Code::UnknownCte => f.write_str("UNKNOWN-CTE"),
            Code::Unavailable => f.write_str("UNAVAILABLE"),
            Code::Unseen(number) => write!(f, "UNSEEN {number}"),
        }
    }
}

/// One status response, and the untagged data that comes before it.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub condition: Condition,
    pub code: Option<Code>,
    pub text: Cow<'static, str>,
    /// Untagged responses the command produced, written before the status
    /// line in the same write.
    data: Vec<u8>,
    /// Why the server failed, for the log only: the client hears the code.
    cause: Option<String>,
}

impl Reply {
    fn new(condition: Condition, code: Option<Code>, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            condition,
            code,
            text: text.into(),
            data: Vec::new(),
            cause: None,
        }
    }

    pub fn ok(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::new(Condition::Ok, None, text)
    }

    pub fn no(code: Code, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::new(Condition::No, Some(code), text)
    }

    pub fn bad(text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::new(Condition::Bad, None, text)
    }

    pub fn bye(code: Option<Code>, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply::new(Condition::Bye, code, text)
    }

    /// `OK <verb> completed`.
    pub fn completed(verb: &str) -> Reply {
        Reply::ok(format!("{verb} completed"))
    }

    /// The answer of FETCH, STORE and the like, which pass over messages
    /// another session expunged and say so (RFC 5530, as Dovecot).
    pub fn completed_passing_over(verb: &str, passed_over_expunged: bool) -> Reply {
        if passed_over_expunged {
            Reply::ok(format!(
                "{verb} completed; some messages were expunged meanwhile"
            ))
            .with_code(Code::ExpungeIssued)
        } else {
            Reply::completed(verb)
        }
    }

    /// A name that does not exist, or that the user may not see: the two
    /// answer alike.
    pub fn no_mailbox() -> Reply {
        Reply::no(Code::Nonexistent, "No such mailbox")
    }

    /// The target of APPEND, COPY or MOVE does not exist (RFC 3501 6.3.11).
    pub fn try_create() -> Reply {
        Reply::no(Code::TryCreate, "No such mailbox")
    }

    pub fn not_selected() -> Reply {
        Reply::bad("No mailbox selected")
    }

    pub fn malformed_name() -> Reply {
        Reply::bad("Malformed mailbox name")
    }

    /// A failure of the server: the client hears `text`, the log `cause`.
    pub fn failed(code: Code, text: &'static str, cause: &dyn fmt::Display) -> Reply {
        let mut reply = Reply::no(code, text);
        reply.cause = Some(cause.to_string());
        reply
    }

    pub fn with_code(mut self, code: Code) -> Reply {
        self.code = Some(code);
        self
    }

    /// The reply with `data` (complete untagged lines) written before it.
    pub fn after(mut self, data: impl Into<Vec<u8>>) -> Reply {
        let mut data = data.into();
        data.append(&mut self.data);
        self.data = data;
        self
    }

    /// What the log says of it: the server's failure, or the refusal.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// The status line under `tag` (`*` for an untagged one), CRLF ended.
    pub fn line(&self, tag: &str) -> String {
        let condition = match self.condition {
            Condition::Ok => "OK",
            Condition::No => "NO",
            Condition::Bad => "BAD",
            Condition::Bye => "BYE",
        };
        let tag = if self.condition == Condition::Bye {
            "*"
        } else {
            tag
        };
        match &self.code {
            Some(code) => format!("{tag} {condition} [{code}] {}\r\n", self.text),
            None => format!("{tag} {condition} {}\r\n", self.text),
        }
    }

    /// The untagged data and the status line, as written.
    /// The untagged responses alone, for a command the server runs on its
    /// own (NOTIFY's FETCH of new messages): no status line.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    pub fn into_bytes(self, tag: &str) -> Vec<u8> {
        let line = self.line(tag);
        let mut out = self.data;
        out.extend_from_slice(line.as_bytes());
        out
    }
}

/// The one mapping from what the domain says to what IMAP answers: a
/// refusal gets the RFC 5530 code that says why; a failure of the server
/// gets `SERVERBUG` (or `UNAVAILABLE` when it will pass) and its cause
/// goes to the log, not to the client.
impl From<Error> for Reply {
    fn from(error: Error) -> Reply {
        let (code, text): (Code, Cow<'static, str>) = match error {
            Error::NotPermitted(text) => (Code::NoPerm, text.into()),
            Error::Limit(text) => (Code::Limit, text.into()),
            Error::Refused(text) | Error::Invalid(text) => (Code::Cannot, text.into()),
            Error::NotFound(_) => (Code::Nonexistent, "No such mailbox".into()),
            Error::AlreadyExists(what) => {
                (Code::AlreadyExists, format!("{what} exists already").into())
            }
            Error::Expunged(what) => (
                Code::ExpungeIssued,
                format!("{what} was expunged meanwhile").into(),
            ),
            // The server's condition, not a bug, and it passes.
            Error::NoSpace(_) => {
                return Reply::failed(
                    Code::Unavailable,
                    "The archive's storage is full; nothing was changed. Try again later",
                    &error,
                );
            }
            Error::Unavailable(_) => {
                return Reply::failed(
                    Code::Unavailable,
                    "A service the archive depends on did not answer; try again later",
                    &error,
                );
            }
            Error::Io { .. } | Error::Storage(_) | Error::Corrupt(_) => {
                return Reply::failed(
                    Code::ServerBug,
                    "The archive could not be read or changed; the error is logged",
                    &error,
                );
            }
        };
        Reply::no(code, text)
    }
}

/// Why a handler stopped short of its own reply: the connection failed, or
/// the command is answered with a refusal. `?` turns a domain error into
/// its refusal, so handlers read as the rules they follow.
#[derive(Debug)]
pub enum Failure {
    Io(std::io::Error),
    Reply(Box<Reply>),
}

/// What a command handler returns.
pub type Handled = Result<Reply, Failure>;

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        Failure::Io(error)
    }
}

impl From<Reply> for Failure {
    fn from(reply: Reply) -> Failure {
        Failure::Reply(Box::new(reply))
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Reply(Box::new(error.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::{Code, Reply};
    use crate::error::Error;

    fn tagged(reply: Reply) -> String {
        String::from_utf8(reply.into_bytes("a1")).unwrap()
    }

    #[test]
    fn status_lines_byte_for_byte() {
        assert_eq!(tagged(Reply::completed("NOOP")), "a1 OK NOOP completed\r\n");
        assert_eq!(
            tagged(Reply::no_mailbox()),
            "a1 NO [NONEXISTENT] No such mailbox\r\n"
        );
        assert_eq!(
            tagged(Reply::completed("APPEND").with_code(Code::AppendUid {
                uidvalidity: 7,
                uids: "42:43".into()
            })),
            "a1 OK [APPENDUID 7 42:43] APPEND completed\r\n"
        );
        assert_eq!(
            tagged(Reply::ok("Moved").with_code(Code::CopyUid {
                uidvalidity: 3,
                from: "1:2".into(),
                to: "5,7".into()
            })),
            "a1 OK [COPYUID 3 1:2 5,7] Moved\r\n"
        );
        assert_eq!(
            tagged(Reply::no(Code::BadCharset("UTF-8"), "Unsupported charset")),
            "a1 NO [BADCHARSET (UTF-8)] Unsupported charset\r\n"
        );
        assert_eq!(
            tagged(Reply::bye(Some(Code::NoPerm), "Gone")),
            "* BYE [NOPERM] Gone\r\n"
        );
        assert_eq!(
            tagged(Reply::completed_passing_over("FETCH", true)),
            "a1 OK [EXPUNGEISSUED] FETCH completed; some messages were expunged meanwhile\r\n"
        );
        assert_eq!(
            tagged(Reply::not_selected().after(b"* 1 EXISTS\r\n".to_vec())),
            "* 1 EXISTS\r\na1 BAD No mailbox selected\r\n"
        );
        assert_eq!(
            Reply::ok("Moved").line("*"),
            "* OK Moved\r\n",
            "an untagged status"
        );
    }

    #[test]
    fn domain_errors_map_to_their_codes() {
        let cases = [
            (Error::NotPermitted("no".into()), "a1 NO [NOPERM] no\r\n"),
            (
                Error::Limit("too many".into()),
                "a1 NO [LIMIT] too many\r\n",
            ),
            (Error::Refused("held".into()), "a1 NO [CANNOT] held\r\n"),
            (
                Error::NotFound("folder 9".into()),
                "a1 NO [NONEXISTENT] No such mailbox\r\n",
            ),
            (
                Error::AlreadyExists("Mailbox".into()),
                "a1 NO [ALREADYEXISTS] Mailbox exists already\r\n",
            ),
            (
                Error::Expunged("Message 4".into()),
                "a1 NO [EXPUNGEISSUED] Message 4 was expunged meanwhile\r\n",
            ),
        ];
        for (error, line) in cases {
            assert_eq!(tagged(error.into()), line);
        }
    }

    #[test]
    fn server_failures_keep_their_cause_from_the_client() {
        let reply = Reply::from(Error::Corrupt("pack 3 checksum".into()));
        assert_eq!(reply.cause(), Some("corrupt data: pack 3 checksum"));
        assert_eq!(
            tagged(reply),
            "a1 NO [SERVERBUG] The archive could not be read or changed; the error is logged\r\n"
        );
        let full = Reply::from(Error::NoSpace("packs".into()));
        assert!(tagged(full).starts_with("a1 NO [UNAVAILABLE] "));
    }
}
