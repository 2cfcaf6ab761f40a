//! The administration API, compatible with MailStore Server's so that its
//! admin scripts keep working: `POST /api/invoke/<Function>` with
//! form-encoded arguments and HTTP Basic auth by a user holding `admin`;
//! every answer is MailStore's JSON envelope. Long operations run as jobs
//! that `/api/get-status` follows and `/api/cancel-async` stops;
//! `/api/get-metadata` lists every function and its arguments.
//!
//! This module knows nothing of HTTP's wire format: `net::http` hands it
//! a [`Request`] and sends back the [`Reply`].

pub(crate) mod args;
mod basic;
mod envelope;
pub(crate) mod functions;
mod jobs;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::archive::{Actor, Archives};
use crate::auth::{Authenticator, LoginError, Service};
use crate::config::Config;
use crate::error::{Error, Result};
use args::Args;
pub use envelope::Envelope;
use envelope::ErrorBody;
use functions::{Call, Outcome};
pub use jobs::Jobs;

/// What the functions may reach besides their arguments.
pub struct Context {
    pub archives: Arc<Archives>,
    pub auth: Arc<Authenticator>,
    pub config: Arc<Config>,
    pub jobs: Jobs,
}

/// One HTTP request, as far as the API cares.
pub struct Request {
    pub method: String,
    pub path: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub ip: IpAddr,
}

/// The answer: an HTTP status and a JSON body.
pub struct Reply {
    pub status: u16,
    /// Ask for Basic credentials (`WWW-Authenticate`), with a 401.
    pub challenge: bool,
    pub body: Value,
}

impl Reply {
    fn envelope(envelope: Envelope) -> Reply {
        Reply {
            status: 200,
            challenge: false,
            body: serde_json::to_value(envelope).unwrap_or(Value::Null),
        }
    }

    /// A refusal before any function ran, in the envelope's shape.
    pub fn refused(status: u16, kind: &str, message: impl Into<String>) -> Reply {
        Reply {
            status,
            challenge: status == 401,
            body: serde_json::to_value(Envelope::failed(ErrorBody::new(kind, message)))
                .unwrap_or(Value::Null),
        }
    }
}

pub struct Api {
    context: Arc<Context>,
}

impl Api {
    pub fn new(context: Context) -> Api {
        Api {
            context: Arc::new(context),
        }
    }

    pub async fn handle(&self, request: Request) -> Reply {
        let Some(route) = request.path.strip_prefix("/api/") else {
            return Reply::refused(404, "notFound", format!("no such path {}", request.path));
        };
        if request.method != "POST" && !(request.method == "GET" && route == "get-metadata") {
            return Reply::refused(
                405,
                "methodNotAllowed",
                format!("{} takes POST", request.path),
            );
        }
        let admin = match self.authenticate(&request).await {
            Ok(admin) => admin,
            Err(reply) => return reply,
        };
        let fields = match form_fields(&request) {
            Ok(fields) => fields,
            Err(error) => return Reply::refused(400, "invalidArgument", error.to_string()),
        };
        let answer = match route {
            "get-metadata" => Ok(Envelope::succeeded(metadata())),
            "get-status" => self.status(fields).await,
            "cancel-async" => self.cancel(fields),
            _ => match route.strip_prefix("invoke/") {
                Some(name) => match functions::find(name) {
                    Some(function) => self.invoke(function, admin, request.ip, fields).await,
                    None => {
                        return Reply::refused(
                            404,
                            "notFound",
                            format!("no function {name} (get-metadata lists them)"),
                        );
                    }
                },
                None => {
                    return Reply::refused(
                        404,
                        "notFound",
                        format!("no such path {}", request.path),
                    );
                }
            },
        };
        Reply::envelope(answer.unwrap_or_else(|error| Envelope::failed(ErrorBody::from(&error))))
    }

    /// The administrator's name, or the 401 to answer. Failed attempts are
    /// slowed and recorded like IMAP logins (by the [`Authenticator`]).
    async fn authenticate(&self, request: &Request) -> Result<String, Reply> {
        let unauthorized = |message: &str| Reply::refused(401, "unauthorized", message);
        let Some(header) = &request.authorization else {
            return Err(unauthorized(
                "sign in with HTTP Basic authentication as a user holding the admin privilege",
            ));
        };
        let Some((login, password)) = basic::credentials(header) else {
            return Err(unauthorized(
                "the Authorization header is not valid Basic credentials",
            ));
        };
        match self
            .context
            .auth
            .login(Service::Api, request.ip, &login, &password)
            .await
        {
            Ok(user) => Ok(user.name),
            Err(LoginError::Failed) => Err(unauthorized(
                "authentication failed: wrong user name or password, or no admin privilege",
            )),
            Err(LoginError::Unavailable) => Err(Reply::refused(
                503,
                "unavailable",
                "the credentials could not be checked now; try again later",
            )),
        }
    }

    async fn invoke(
        &self,
        function: &'static functions::Function,
        admin: String,
        ip: IpAddr,
        fields: Vec<(String, String)>,
    ) -> Result<Envelope> {
        let args = Args::check(function.name, function.args, fields)?;
        let call = Call {
            archives: self.context.archives.acting_as(Actor {
                name: admin.clone(),
                ip: Some(ip),
            }),
            args,
            context: self.context.clone(),
        };
        let outcome = tokio::task::spawn_blocking(move || (function.run)(&call))
            .await
            .map_err(|_| Error::Corrupt(format!("{} panicked", function.name)))?;
        match outcome {
            Ok(Outcome::Done(result)) => {
                tracing::info!(function = function.name, %admin, %ip, "admin API call");
                Ok(Envelope::succeeded(result))
            }
            Ok(Outcome::Job(work)) => {
                tracing::info!(function = function.name, %admin, %ip, "admin API job started");
                self.context.jobs.start(function.name, work)
            }
            Err(error) => {
                tracing::warn!(function = function.name, %admin, %ip, %error, "admin API call failed");
                Err(error)
            }
        }
    }

    async fn status(&self, fields: Vec<(String, String)>) -> Result<Envelope> {
        let args = Args::check("get-status", STATUS_ARGS, fields)?;
        let last_known = args
            .optional_number("lastKnownStatusVersion")?
            .unwrap_or(-1);
        let wait = args.optional_number("millisecondsTimeout")?.unwrap_or(0);
        self.context
            .jobs
            .status(
                args.string("token")?,
                u64::try_from(last_known).ok(),
                Duration::from_millis(wait.max(0) as u64),
            )
            .await
    }

    fn cancel(&self, fields: Vec<(String, String)>) -> Result<Envelope> {
        let args = Args::check("cancel-async", CANCEL_ARGS, fields)?;
        self.context.jobs.cancel(args.string("token")?)
    }
}

const STATUS_ARGS: &[args::Arg] = &[
    args::required("token", args::Kind::String),
    args::optional("lastKnownStatusVersion", args::Kind::Number),
    args::optional("millisecondsTimeout", args::Kind::Number),
];

const CANCEL_ARGS: &[args::Arg] = &[args::required("token", args::Kind::String)];

/// Every function with its arguments, in MailStore's metadata shape.
fn metadata() -> Value {
    functions::all()
        .map(|function| {
            json!({
                "name": function.name,
                "args": function.args.iter().map(|arg| json!({
                    "name": arg.name,
                    "type": arg.kind.as_str(),
                    "nullable": arg.optional,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The form fields of the body (an empty body has none).
fn form_fields(request: &Request) -> Result<Vec<(String, String)>> {
    if request.body.is_empty() {
        return Ok(Vec::new());
    }
    let form = request.content_type.as_deref().is_some_and(|t| {
        t.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !form {
        return Err(Error::Invalid(
            "send arguments as application/x-www-form-urlencoded".into(),
        ));
    }
    Ok(form_urlencoded::parse(&request.body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect())
}
