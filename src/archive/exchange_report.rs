//! Exchange and Microsoft 365 envelope journal reports: a message with the
//! header `X-MS-Journal-Report` whose first text part lists the original
//! message's sender and every recipient (Bcc and the members of expanded
//! groups included: what its header does not tell), and whose attached
//! message/rfc822 part is the original, byte for byte.
//!
//! The report's fields, one per line: `Sender: addr`, `Subject: ...`,
//! `Message-Id: ...`, `On-Behalf-Of: addr`, and for each recipient
//! `To: addr`, `Cc: addr`, `Bcc: addr` or `Recipient: addr`, optionally
//! followed by `, Expanded: group` or `, Forwarded: addr` (how the message
//! reached that recipient).

use mail_parser::{MessageParser, PartType};

/// What a journal report says of the message it carries.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `Sender:` and `On-Behalf-Of:`, lower-case.
    pub senders: Vec<String>,
    /// Every recipient line's address, lower-case.
    pub recipients: Vec<String>,
    /// The original message's bytes; `None` when the report has none (it
    /// is then archived itself).
    pub original: Option<Vec<u8>>,
}

/// The report `bytes` is, if it is one.
pub fn parse(bytes: &[u8]) -> Option<Report> {
    // The header first: most journaled mail is not a report, and reading
    // a whole message (every part decoded) costs far more.
    MessageParser::default()
        .parse_headers(bytes)?
        .header("X-MS-Journal-Report")?;
    let message = MessageParser::default().parse(bytes)?;
    let mut report = Report::default();
    if let Some(text) = message.body_text(0) {
        for line in text.lines() {
            let Some((field, value)) = line.split_once(':') else {
                continue;
            };
            // `To: bob@contoso.com, Expanded: team@contoso.com`: the
            // recipient is the first address.
            let address = value
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_lowercase();
            if !address.contains('@') {
                continue;
            }
            match field.trim().to_ascii_lowercase().as_str() {
                "sender" | "on-behalf-of" => report.senders.push(address),
                "to" | "cc" | "bcc" | "recipient" => report.recipients.push(address),
                _ => {}
            }
        }
    }
    report.original = message.parts.iter().find_map(|part| match &part.body {
        PartType::Message(original) => Some(original.raw_message().to_vec()),
        _ => None,
    });
    Some(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &[u8] = b"From: Alice <alice@contoso.com>\r\nTo: Team <team@contoso.com>\r\nSubject: Q3\r\nMessage-ID: <q3@contoso.com>\r\n\r\nNumbers attached.\r\n";

    fn report(fields: &str, original: &[u8]) -> Vec<u8> {
        let mut bytes = format!(
            "From: Microsoft Outlook <MicrosoftExchange@contoso.com>\r\nTo: journal@archive.example\r\n\
             Subject: Q3\r\nX-MS-Journal-Report:\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"r\"\r\n\r\n--r\r\n\
             Content-Type: text/plain; charset=us-ascii\r\n\r\n{fields}\r\n--r\r\n\
             Content-Type: message/rfc822\r\n\r\n"
        )
        .into_bytes();
        bytes.extend_from_slice(original);
        bytes.extend_from_slice(b"\r\n--r--\r\n");
        bytes
    }

    #[test]
    fn fields_and_the_original() {
        let bytes = report(
            "Sender: alice@contoso.com\r\nSubject: Q3\r\nMessage-Id: <q3@contoso.com>\r\n\
             To: bob@contoso.com, Expanded: team@contoso.com\r\nTo: Carol@Contoso.com, Expanded: team@contoso.com\r\n\
             Bcc: dave@contoso.com\r\nRecipient: erin@fabrikam.com, Forwarded: frank@contoso.com",
            ORIGINAL,
        );
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.senders, vec!["alice@contoso.com"]);
        assert_eq!(
            parsed.recipients,
            vec![
                "bob@contoso.com",
                "carol@contoso.com",
                "dave@contoso.com",
                "erin@fabrikam.com"
            ]
        );
        assert_eq!(parsed.original.as_deref(), Some(ORIGINAL));
    }

    #[test]
    fn not_a_report() {
        assert_eq!(parse(ORIGINAL), None);
    }
}
