//! A function's arguments: form fields checked against what the function
//! declares, so that a typo or a wrong type fails before anything changes.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// The type of an argument, as MailStore's function reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Bool,
    Json,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Bool => "bool",
            Kind::Json => "json",
        }
    }
}

/// One declared argument.
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: Kind,
    pub optional: bool,
}

pub const fn required(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        optional: false,
    }
}

pub const fn optional(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        optional: true,
    }
}

/// The arguments of one call, already checked against the declaration.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<&'static str, String>,
}

impl Args {
    /// Checks `fields` (name, value pairs) against `declared`: every
    /// required argument present, no unknown or repeated one, and each value
    /// of its type. An empty value of an optional argument counts as absent.
    pub fn check(function: &str, declared: &[Arg], fields: Vec<(String, String)>) -> Result<Args> {
        let mut values = HashMap::new();
        for (name, value) in fields {
            let Some(arg) = declared.iter().find(|a| a.name == name) else {
                let known: Vec<&str> = declared.iter().map(|a| a.name).collect();
                return Err(Error::Invalid(if known.is_empty() {
                    format!("{function} takes no arguments, but {name:?} was given")
                } else {
                    format!(
                        "{function} has no argument {name:?} (it takes {})",
                        known.join(", ")
                    )
                }));
            };
            if arg.optional && value.is_empty() {
                continue;
            }
            check_type(arg, &value)?;
            if values.insert(arg.name, value).is_some() {
                return Err(Error::Invalid(format!("argument {name} was given twice")));
            }
        }
        if let Some(missing) = declared
            .iter()
            .find(|a| !a.optional && !values.contains_key(a.name))
        {
            return Err(Error::Invalid(format!(
                "{function} needs the argument {} ({})",
                missing.name,
                missing.kind.as_str()
            )));
        }
        Ok(Args { values })
    }

    /// A required string argument.
    pub fn string(&self, name: &str) -> Result<&str> {
        self.optional_string(name)
            .ok_or_else(|| Error::Invalid(format!("the argument {name} is missing")))
    }

    pub fn optional_string(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn number(&self, name: &str) -> Result<i64> {
        self.optional_number(name)?
            .ok_or_else(|| Error::Invalid(format!("the argument {name} is missing")))
    }

    pub fn optional_number(&self, name: &str) -> Result<Option<i64>> {
        self.optional_string(name).map(parse_number).transpose()
    }

    /// A bool argument; `default` when absent.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool> {
        Ok(match self.optional_string(name) {
            Some(text) => parse_bool(text)?,
            None => default,
        })
    }

    /// A JSON argument, as `T`; what does not fit `T` is an invalid argument.
    pub fn json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<T> {
        let value: Value = serde_json::from_str(self.string(name)?)
            .map_err(|e| Error::Invalid(format!("the argument {name} is not JSON: {e}")))?;
        serde_json::from_value(value)
            .map_err(|e| Error::Invalid(format!("the argument {name} does not fit: {e}")))
    }
}

fn check_type(arg: &Arg, value: &str) -> Result<()> {
    match arg.kind {
        Kind::String => Ok(()),
        Kind::Number => parse_number(value).map(drop),
        Kind::Bool => parse_bool(value).map(drop),
        Kind::Json => serde_json::from_str::<Value>(value)
            .map(drop)
            .map_err(|e| Error::Invalid(format!("the argument {} is not JSON: {e}", arg.name))),
    }
}

fn parse_number(text: &str) -> Result<i64> {
    text.trim()
        .parse()
        .map_err(|_| Error::Invalid(format!("{text:?} is not a number")))
}

/// `true`/`false` in any case (Python sends `True`), or `1`/`0`.
fn parse_bool(text: &str) -> Result<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::Invalid(format!(
            "{text:?} is not a bool (true or false)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[Arg] = &[
        required("userName", Kind::String),
        optional("maxLevels", Kind::Number),
        optional("dryRun", Kind::Bool),
    ];

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn checks_presence_names_and_types() {
        let args = Args::check(
            "F",
            DECLARED,
            fields(&[("userName", "bob"), ("dryRun", "True"), ("maxLevels", "")]),
        )
        .unwrap();
        assert_eq!(args.string("userName").unwrap(), "bob");
        assert!(args.bool("dryRun", false).unwrap());
        assert_eq!(args.optional_number("maxLevels").unwrap(), None);

        let error = |pairs: &[(&str, &str)]| {
            Args::check("F", DECLARED, fields(pairs))
                .unwrap_err()
                .to_string()
        };
        assert!(error(&[]).contains("needs the argument userName"));
        assert!(
            error(&[("userName", "b"), ("username", "c")]).contains("no argument \"username\"")
        );
        assert!(error(&[("userName", "b"), ("maxLevels", "two")]).contains("not a number"));
        assert!(error(&[("userName", "b"), ("dryRun", "yes")]).contains("not a bool"));
        assert!(error(&[("userName", "b"), ("userName", "c")]).contains("twice"));
    }
}
