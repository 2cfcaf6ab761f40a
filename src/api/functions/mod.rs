//! The functions of the API: one table, which both dispatch and
//! `get-metadata` read. Each function is thin glue: it reads its
//! arguments, calls the library function the CLI calls too, and shapes
//! the result as MailStore's JSON.

mod compliance;
mod directory;
mod folders;
mod server;
mod sessions;
mod stores;
mod users;

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::Context;
use super::args::{Arg, Args};
use super::jobs::Work;
use crate::archive::Archives;
use crate::error::{Error, Result};

/// One function of the API.
pub struct Function {
    pub name: &'static str,
    pub args: &'static [Arg],
    pub run: fn(&Call) -> Result<Outcome>,
}

/// What a function was called with.
pub struct Call {
    /// The archives, with changes recorded as the calling administrator's.
    pub archives: Archives,
    pub args: Args,
    pub context: Arc<Context>,
}

/// A function's answer: its result now, or a job to follow by token.
pub enum Outcome {
    Done(Value),
    Job(Work),
}

/// A result that is ready now.
pub fn done(result: impl Serialize) -> Result<Outcome> {
    to_json(result).map(Outcome::Done)
}

/// A result as JSON (a job's, or one that is ready now).
pub fn to_json(result: impl Serialize) -> Result<Value> {
    serde_json::to_value(result)
        .map_err(|e| Error::Corrupt(format!("a result did not serialize: {e}")))
}

/// Every function, in the order `get-metadata` lists them.
pub fn all() -> impl Iterator<Item = &'static Function> {
    [
        server::FUNCTIONS,
        users::FUNCTIONS,
        folders::FUNCTIONS,
        stores::FUNCTIONS,
        directory::FUNCTIONS,
        compliance::FUNCTIONS,
        sessions::FUNCTIONS,
    ]
    .into_iter()
    .flatten()
}

/// The function called `name`; MailStore's names match exactly, but a
/// difference of case is forgiven.
pub fn find(name: &str) -> Option<&'static Function> {
    all().find(|f| f.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn names_and_arguments_are_unique() {
        let mut names = HashSet::new();
        for function in super::all() {
            assert!(names.insert(function.name), "{} twice", function.name);
            let mut args = HashSet::new();
            for arg in function.args {
                assert!(
                    args.insert(arg.name),
                    "{}: {} twice",
                    function.name,
                    arg.name
                );
            }
        }
    }
}
