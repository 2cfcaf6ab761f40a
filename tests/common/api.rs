//! A plain HTTP/1.1 client for the admin API, the way MailStore's admin
//! scripts talk to it: form-encoded POSTs with Basic auth, over TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::imap::Server;

/// An answer: HTTP status, headers (lower-case names) and the JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn status_code(&self) -> &str {
        self.body["statusCode"].as_str().unwrap_or("")
    }

    pub fn error_message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// The admin API of `server`, signed in as `user` (no credentials: `None`).
pub struct ApiClient<'a> {
    pub server: &'a Server,
    pub credentials: Option<(String, String)>,
}

impl<'a> ApiClient<'a> {
    pub fn new(server: &'a Server, user: &str, password: &str) -> ApiClient<'a> {
        ApiClient {
            server,
            credentials: Some((user.to_string(), password.to_string())),
        }
    }

    pub fn anonymous(server: &'a Server) -> ApiClient<'a> {
        ApiClient {
            server,
            credentials: None,
        }
    }

    /// `POST path` with `fields` form-encoded.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(
            "POST",
            path,
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        )
    }

    /// Sends one request on a new connection and reads its answer.
    pub fn request(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Answer {
        let mut stream = self.server.api_tls();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        if let Some((user, password)) = &self.credentials {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            head.push_str(&format!("Authorization: Basic {encoded}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        stream.flush().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut bytes = vec![0; length];
        reader.read_exact(&mut bytes).unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Invokes `function`; the answer must be HTTP 200 (failures are
    /// reported in the envelope).
    pub fn invoke(&self, function: &str, args: &[(&str, &str)]) -> Answer {
        let answer = self.post(&format!("/api/invoke/{function}"), args);
        assert_eq!(answer.status, 200, "{function}: {answer:?}");
        answer
    }

    /// Invokes `function` and returns its result; it must succeed.
    pub fn ok(&self, function: &str, args: &[(&str, &str)]) -> Value {
        let answer = self.invoke(function, args);
        assert_eq!(answer.status_code(), "succeeded", "{function}: {answer:?}");
        answer.body["result"].clone()
    }

    /// Invokes `function`, which must fail; returns the error message.
    pub fn fails(&self, function: &str, args: &[(&str, &str)]) -> String {
        let answer = self.invoke(function, args);
        assert_eq!(answer.status_code(), "failed", "{function}: {answer:?}");
        assert!(answer.body["result"].is_null(), "{answer:?}");
        answer.error_message().to_string()
    }

    /// Invokes a long operation and follows it with `get-status` until it
    /// ends; returns the final envelope.
    pub fn run_job(&self, function: &str, args: &[(&str, &str)]) -> Value {
        let started = self.invoke(function, args);
        assert_eq!(started.status_code(), "running", "{function}: {started:?}");
        let token = started.body["token"].as_str().unwrap().to_string();
        self.follow(&token)
    }

    /// Polls the job `token` until it is no longer running.
    pub fn follow(&self, token: &str) -> Value {
        let mut version = -1i64;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "job {token} never ended"
            );
            let answer = self.post(
                "/api/get-status",
                &[
                    ("token", token),
                    ("lastKnownStatusVersion", &version.to_string()),
                    ("millisecondsTimeout", "5000"),
                ],
            );
            assert_eq!(answer.status, 200, "{answer:?}");
            if answer.status_code() != "running" {
                return answer.body;
            }
            version = answer.body["statusVersion"].as_i64().unwrap();
        }
    }
}
