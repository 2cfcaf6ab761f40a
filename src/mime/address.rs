//! Address lists as Dovecot's `message-address.c` parses them for ENVELOPE
//! (with `MESSAGE_ADDRESS_PARSE_FLAG_FILL_MISSING`).

use super::rfc822::Parser;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: Option<Vec<u8>>,
    pub route: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub domain: Option<Vec<u8>>,
}

struct Ctx<'a> {
    p: Parser<'a>,
    addr: Address,
    out: Vec<Address>,
}

impl Ctx<'_> {
    fn add(&mut self) {
        self.out.push(std::mem::take(&mut self.addr));
    }

    fn parse_local_part(&mut self) -> i32 {
        let mut s = Vec::new();
        let ret = if self.p.cur() == b'"' {
            self.p.parse_quoted_string(&mut s)
        } else {
            self.p.parse_dot_atom(&mut s)
        };
        if ret < 0 {
            return -1;
        }
        self.addr.mailbox = Some(s);
        ret
    }

    fn parse_domain(&mut self) -> i32 {
        let mut s = Vec::new();
        let ret = self.p.parse_domain(&mut s);
        if ret < 0 {
            return -1;
        }
        self.addr.domain = Some(s);
        ret
    }

    fn parse_domain_list(&mut self) -> i32 {
        let mut s = Vec::new();
        loop {
            if self.p.at_end() {
                return 0;
            }
            if self.p.cur() != b'@' {
                break;
            }
            if !s.is_empty() {
                s.push(b',');
            }
            s.push(b'@');
            let ret = self.p.parse_domain(&mut s);
            if ret <= 0 {
                return ret;
            }
            while self.p.skip_lwsp() > 0 && self.p.cur() == b',' {
                self.p.pos += 1;
            }
        }
        self.addr.route = Some(s);
        1
    }

    fn parse_angle_addr(&mut self) -> i32 {
        self.p.pos += 1; // '<'
        if self.p.skip_lwsp() <= 0 {
            return -1;
        }
        if self.p.cur() == b'@' {
            if self.parse_domain_list() > 0 && self.p.cur() == b':' {
                self.p.pos += 1;
            } else {
                self.addr.route = Some(b"INVALID_ROUTE".to_vec());
                if self.p.at_end() {
                    return -1;
                }
            }
            if self.p.skip_lwsp() <= 0 {
                return -1;
            }
        }
        if self.p.cur() != b'>' {
            if self.parse_local_part() <= 0 {
                return -1;
            }
            if self.p.cur() == b'@' && self.parse_domain() <= 0 {
                return -1;
            }
        }
        if self.p.cur() != b'>' {
            return -1;
        }
        self.p.pos += 1;
        self.p.skip_lwsp()
    }

    fn parse_name_addr(&mut self) -> i32 {
        let mut s = Vec::new();
        if self.p.cur() != b'<' && (self.p.parse_phrase(&mut s) <= 0 || self.p.cur() != b'<') {
            return -1;
        }
        self.addr.name = if s.is_empty() { None } else { Some(s) };
        if self.parse_angle_addr() < 0 {
            self.addr.domain = Some(b"SYNTAX_ERROR".to_vec());
        }
        if self.p.at_end() { 0 } else { 1 }
    }

    fn parse_addr_spec(&mut self) -> i32 {
        if let Some(c) = self.p.last_comment.as_mut() {
            c.clear();
        }
        let quoted = self.p.cur() == b'"';
        let mut ret = self.parse_local_part();
        let mut ret2 = -2;
        if ret != 0 && self.p.cur() == b'@' {
            ret2 = self.parse_domain();
            if ret2 <= 0 {
                ret = ret2;
            }
        }
        let comment = self.p.last_comment.clone().unwrap_or_default();
        if !comment.is_empty() {
            self.addr.name = Some(comment);
        } else if ret2 == -2 {
            // "user" alone is a mailbox, but followed by more words it is
            // a display name
            let mut s = self.addr.mailbox.clone().unwrap_or_default();
            s.push(b' ');
            let orig = s.len();
            self.p.parse_phrase(&mut s);
            if s.len() != orig {
                self.addr.mailbox = None;
                self.addr.name = Some(s);
            } else if !quoted {
                self.addr.domain = Some(Vec::new());
            }
            ret = -1;
        }
        ret
    }

    fn parse_mailbox(&mut self) -> i32 {
        let start = self.p.pos;
        let mut ret = self.parse_name_addr();
        if ret < 0 {
            self.p.pos = start;
            ret = self.parse_addr_spec();
        }
        if self.addr.mailbox.as_deref().is_none_or(|m| m.is_empty()) {
            self.addr.mailbox = Some(b"MISSING_MAILBOX".to_vec());
        }
        if self.addr.domain.as_deref().is_none_or(|d| d.is_empty()) {
            self.addr.domain = Some(b"MISSING_DOMAIN".to_vec());
        }
        self.add();
        ret
    }

    fn parse_group(&mut self) -> i32 {
        let mut s = Vec::new();
        if self.p.parse_phrase(&mut s) <= 0 || self.p.cur() != b':' {
            return -1;
        }
        self.p.pos += 1;
        let mut ret = self.p.skip_lwsp();
        if ret <= 0 {
            ret = -1;
        }
        self.addr = Address {
            mailbox: Some(s),
            ..Default::default()
        };
        self.add();
        if ret > 0 && self.p.cur() != b';' {
            loop {
                if self.parse_mailbox() <= 0 {
                    ret = -1;
                    break;
                }
                if self.p.cur() != b',' {
                    break;
                }
                self.p.pos += 1;
                if self.p.skip_lwsp() <= 0 {
                    ret = -1;
                    break;
                }
            }
        }
        if ret >= 0 {
            if self.p.at_end() || self.p.cur() != b';' {
                ret = -1;
            } else {
                self.p.pos += 1;
                ret = self.p.skip_lwsp();
            }
        }
        self.addr = Address::default();
        self.add();
        if ret == 0 { 0 } else { 1 }
    }

    fn parse_address(&mut self) -> i32 {
        let start = self.p.pos;
        let n = self.out.len();
        let ret = self.parse_group();
        if ret < 0 {
            self.out.truncate(n);
            self.addr = Address::default();
            self.p.pos = start;
            return self.parse_mailbox();
        }
        ret
    }

    fn parse_address_list(&mut self) {
        loop {
            if self.parse_address() == 0 {
                break;
            }
            if self.p.cur() != b',' || self.p.at_end() {
                break;
            }
            self.p.pos += 1;
            if self.p.skip_lwsp() <= 0 {
                break;
            }
        }
    }
}

/// `message_address_parse()` of a raw header value.
pub fn parse(value: &[u8]) -> Vec<Address> {
    let mut ctx = Ctx {
        p: Parser {
            data: value,
            pos: 0,
            last_comment: Some(Vec::new()),
        },
        addr: Address::default(),
        out: Vec::new(),
    };
    if ctx.p.skip_lwsp() <= 0 {
        return Vec::new();
    }
    ctx.parse_address_list();
    ctx.out
}
