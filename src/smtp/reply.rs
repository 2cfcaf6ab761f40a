//! SMTP replies: a code, an enhanced status code (RFC 3463) and text, one
//! line or several; written by `smtp-proto`.

use std::borrow::Cow;

use smtp_proto::Response;

pub struct Reply {
    code: u16,
    /// `[0, 0, 0]`: none (334 and 354 carry none).
    status: [u8; 3],
    lines: Vec<Cow<'static, str>>,
}

impl Reply {
    pub fn new(code: u16, status: [u8; 3], text: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            code,
            status,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply without status codes (EHLO's).
    pub fn lines(code: u16, lines: Vec<String>) -> Reply {
        Reply {
            code,
            status: [0, 0, 0],
            lines: lines.into_iter().map(Cow::Owned).collect(),
        }
    }

    /// Nothing to say now (BDAT is answered when its chunk is in).
    pub fn none() -> Reply {
        Reply {
            code: 0,
            status: [0, 0, 0],
            lines: Vec::new(),
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            let separator = if i == last { ' ' } else { '-' };
            if self.status == [0, 0, 0] || i < last {
                out.extend_from_slice(format!("{}{separator}{line}\r\n", self.code).as_bytes());
            } else {
                let [class, subject, detail] = self.status;
                let _ = Response::new(self.code, class, subject, detail, line).write(&mut *out);
            }
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }
}

/// The answer to a line `smtp-proto` could not take as a command.
pub fn unparsed(error: &smtp_proto::Error) -> Reply {
    use smtp_proto::Error;
    match error {
        Error::UnknownCommand => Reply::new(500, [5, 5, 1], "Unknown command"),
        Error::InvalidSenderAddress => Reply::new(501, [5, 1, 7], "Bad sender address"),
        Error::InvalidRecipientAddress => Reply::new(501, [5, 1, 3], "Bad recipient address"),
        Error::SyntaxError { syntax } => Reply::new(501, [5, 5, 4], format!("Syntax: {syntax}")),
        Error::InvalidParameter { param } => {
            Reply::new(501, [5, 5, 4], format!("Bad parameter {param}"))
        }
        Error::UnsupportedParameter { param } => {
            Reply::new(555, [5, 5, 4], format!("Unsupported parameter {param}"))
        }
        Error::ResponseTooLong => Reply::new(500, [5, 5, 6], "Line too long"),
        Error::NeedsMoreData { .. } | Error::InvalidResponse { .. } => {
            Reply::new(500, [5, 5, 1], "Syntax error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_on_the_wire() {
        assert_eq!(
            Reply::new(250, [2, 1, 5], "Recipient OK").bytes(),
            b"250 2.1.5 Recipient OK\r\n"
        );
        assert_eq!(
            Reply::lines(250, vec!["host".into(), "PIPELINING".into()]).bytes(),
            b"250-host\r\n250 PIPELINING\r\n"
        );
        assert_eq!(Reply::new(334, [0, 0, 0], "").bytes(), b"334 \r\n");
        assert_eq!(
            Reply::new(538, [5, 7, 11], "Encryption required").bytes(),
            b"538 5.7.11 Encryption required\r\n"
        );
        assert!(Reply::none().bytes().is_empty());
    }
}
