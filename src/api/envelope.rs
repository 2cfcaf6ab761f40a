//! The JSON envelope every answer of MailStore's administration API has.

use serde::Serialize;
use serde_json::Value;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StatusCode {
    Succeeded,
    Failed,
    Running,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    pub message: String,
    /// The kind of failure (`notFound`, `invalidArgument`, ...), for
    /// scripts that branch on it.
    pub details: String,
}

impl ErrorBody {
    pub fn new(kind: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            message: message.into(),
            details: kind.to_string(),
        }
    }
}

impl From<&Error> for ErrorBody {
    fn from(error: &Error) -> ErrorBody {
        let kind = match error {
            Error::NotFound(_) | Error::Expunged(_) => "notFound",
            Error::AlreadyExists(_) => "alreadyExists",
            Error::Invalid(_) => "invalidArgument",
            Error::NotPermitted(_) => "notPermitted",
            Error::Refused(_) | Error::Limit(_) => "refused",
            Error::Unavailable(_) | Error::NoSpace(_) => "unavailable",
            Error::Io { .. } | Error::Storage(_) | Error::Corrupt(_) => "internal",
        };
        ErrorBody::new(kind, error.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub error: Option<ErrorBody>,
    pub token: Option<String>,
    pub status_version: u64,
    pub status_code: StatusCode,
    pub percent_progress: Option<u8>,
    pub status_text: Option<String>,
    pub result: Value,
    pub log_output: Option<String>,
}

/// The status version of an answer that is final at once (MailStore's).
const FINAL_VERSION: u64 = 2;

impl Envelope {
    pub fn succeeded(result: Value) -> Envelope {
        Envelope {
            error: None,
            token: None,
            status_version: FINAL_VERSION,
            status_code: StatusCode::Succeeded,
            percent_progress: None,
            status_text: None,
            result,
            log_output: None,
        }
    }

    pub fn failed(error: ErrorBody) -> Envelope {
        Envelope {
            error: Some(error),
            status_code: StatusCode::Failed,
            ..Envelope::succeeded(Value::Null)
        }
    }
}
