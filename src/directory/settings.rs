//! The `[directory]` configuration checked and completed: the defaults of
//! its kind filled in, the password and CA certificates read, privileges
//! parsed. Every mistake shows when archimap starts, not at a user's login.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use url::Url;

use crate::archive::{FolderPrivileges, GlobalPrivileges};
use crate::config::{DirectoryConfig, DirectoryKind, GoneUsers, GroupMembership};
use crate::error::{Error, Result};

pub struct Settings {
    pub kind: DirectoryKind,
    pub urls: Vec<Url>,
    pub tls: Arc<ClientConfig>,
    /// The service account's DN and password; `None` searches anonymously.
    pub service: Option<(String, String)>,
    pub base_dn: String,
    pub user_filter: String,
    pub groups: Vec<String>,
    pub membership: GroupMembership,
    pub login_attribute: String,
    pub email_attributes: Vec<String>,
    pub full_name_attributes: Vec<String>,
    pub timeout: Duration,
    pub policy: Policy,
}

/// What a sync grants and takes away.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub default_privileges: GlobalPrivileges,
    pub default_archive_privileges: FolderPrivileges,
    pub gone_users: GoneUsers,
}

/// What a kind of directory calls things when the configuration is silent.
struct KindDefaults {
    user_filter: &'static str,
    login: &'static str,
    emails: &'static [&'static str],
    membership: GroupMembership,
}

fn kind_defaults(kind: DirectoryKind) -> KindDefaults {
    match kind {
        DirectoryKind::Ldap => KindDefaults {
            user_filter: "(objectClass=inetOrgPerson)",
            login: "uid",
            emails: &["mail"],
            membership: GroupMembership::Member,
        },
        // Person accounts that are not disabled (bit 2 of userAccountControl).
        DirectoryKind::ActiveDirectory => KindDefaults {
            user_filter: "(&(objectCategory=person)(objectClass=user)\
                          (!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
            login: "sAMAccountName",
            emails: &["mail", "proxyAddresses"],
            membership: GroupMembership::MemberOf,
        },
    }
}

const FULL_NAME_ATTRIBUTES: [&str; 2] = ["displayName", "cn"];

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("directory: {message}"))
}

impl Settings {
    pub fn new(config: &DirectoryConfig) -> Result<Settings> {
        let defaults = kind_defaults(config.kind);
        if config.urls.is_empty() {
            return Err(invalid("`urls` names no server"));
        }
        let urls = config
            .urls
            .iter()
            .map(|text| match Url::parse(text) {
                Ok(url) if matches!(url.scheme(), "ldap" | "ldaps") && url.host().is_some() => {
                    Ok(url)
                }
                _ => Err(invalid(format!(
                    "{text:?} is not an ldaps:// or ldap:// (StartTLS) URL with a host"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let user_filter = match config.user_filter.as_deref().map(str::trim) {
            Some(filter) if filter.starts_with('(') => filter.to_string(),
            Some(filter) => format!("({filter})"),
            None => defaults.user_filter.into(),
        };
        if ldap3::parse_filter(&user_filter).is_err() {
            return Err(invalid(format!(
                "user_filter {user_filter:?} is not an LDAP filter"
            )));
        }
        let strings = |list: Option<&Vec<String>>, default: &[&str]| -> Vec<String> {
            list.cloned()
                .unwrap_or_else(|| default.iter().map(|s| s.to_string()).collect())
        };
        Ok(Settings {
            kind: config.kind,
            urls,
            tls: tls_config(config.ca_file.as_deref())?,
            service: service_account(config)?,
            base_dn: config.base_dn.clone(),
            user_filter,
            groups: config.groups.clone(),
            membership: config.group_membership.unwrap_or(defaults.membership),
            login_attribute: config
                .login_attribute
                .clone()
                .unwrap_or_else(|| defaults.login.into()),
            email_attributes: strings(config.email_attributes.as_ref(), defaults.emails),
            full_name_attributes: strings(
                config.full_name_attributes.as_ref(),
                &FULL_NAME_ATTRIBUTES,
            ),
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            policy: Policy {
                default_privileges: config
                    .default_privileges
                    .parse()
                    .map_err(|e| invalid(format!("default_privileges: {e}")))?,
                default_archive_privileges: config
                    .default_archive_privileges
                    .parse()
                    .map_err(|e| invalid(format!("default_archive_privileges: {e}")))?,
                gone_users: config.gone_users,
            },
        })
    }
}

fn service_account(config: &DirectoryConfig) -> Result<Option<(String, String)>> {
    let password = match (&config.bind_password, &config.bind_password_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "set `bind_password` or `bind_password_file`, not both",
            ));
        }
        (Some(password), None) => Some(password.clone()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            Some(text.lines().next().unwrap_or_default().to_string())
        }
        (None, None) => None,
    };
    match (&config.bind_dn, password) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(invalid("a bind password without `bind_dn`")),
        // A simple bind with a DN and no password is an unauthenticated
        // bind: servers answer success and search anonymously.
        (Some(_), None) => Err(invalid("`bind_dn` needs a password")),
        (Some(_), Some(password)) if password.is_empty() => {
            Err(invalid("the bind password is empty"))
        }
        (Some(dn), Some(password)) => Ok(Some((dn.clone(), password))),
    }
}

/// TLS 1.2+ with the configured CA certificates, or the system's roots.
fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<_, _>>())
                .map_err(|e| invalid(format!("ca_file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(invalid(format!(
                    "ca_file {} holds no certificate",
                    path.display()
                )));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| invalid(format!("ca_file {}: {e}", path.display())))?;
            }
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| invalid(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
impl Settings {
    /// Settings of `kind` for a made-up directory, with `extra` TOML lines.
    pub fn for_tests(kind: DirectoryKind, extra: &str) -> Settings {
        let kind = match kind {
            DirectoryKind::Ldap => "ldap",
            DirectoryKind::ActiveDirectory => "activeDirectory",
        };
        let text = format!(
            "kind = \"{kind}\"\nurls = [\"ldaps://ldap.example\"]\nbase_dn = \"dc=example\"\n{extra}"
        );
        Settings::new(&toml::from_str(&text).unwrap()).unwrap()
    }
}
