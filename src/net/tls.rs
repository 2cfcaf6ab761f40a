//! TLS configuration: the configured PEM certificate and key, or a
//! self-signed pair generated on first start and kept in the data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Error, Result};

/// Where the generated certificate lives when none is configured.
pub fn generated_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (
        dir.join("self-signed-cert.pem"),
        dir.join("self-signed-key.pem"),
    )
}

/// The server's TLS settings: TLS 1.2 and 1.3 only.
pub fn server_config(config: &Config) -> Result<Arc<ServerConfig>> {
    let (cert_path, key_path) = match (&config.tls.certificate, &config.tls.private_key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        (None, None) => ensure_self_signed(&config.data_dir)?,
        _ => {
            return Err(Error::Invalid(
                "tls: set both `certificate` and `private_key`, or neither".into(),
            ));
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|iter| iter.collect::<Result<_, _>>())
        .map_err(|e| Error::Invalid(format!("certificate {}: {e}", cert_path.display())))?;
    let first = certs
        .first()
        .ok_or_else(|| Error::Invalid(format!("{} holds no certificate", cert_path.display())))?;
    tracing::info!(
        certificate = %cert_path.display(),
        sha256 = %hex::encode(Sha256::digest(first.as_ref())),
        "TLS certificate loaded"
    );
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| Error::Invalid(format!("private key {}: {e}", key_path.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| Error::Invalid(format!("TLS setup: {e}")))?;
    Ok(Arc::new(server))
}

fn ensure_self_signed(data_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let (cert_path, key_path) = generated_paths(data_dir);
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::Invalid(format!("generating a self-signed certificate: {e}")))?;
    let dir = cert_path.parent().expect("has a parent");
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    write_private(&key_path, generated.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, generated.cert.pem())
        .map_err(|e| Error::io(format!("writing {}", cert_path.display()), e))?;
    tracing::warn!(
        certificate = %cert_path.display(),
        sha256 = %hex::encode(Sha256::digest(generated.cert.der())),
        "no TLS certificate configured: generated a self-signed one; clients will ask to trust it"
    );
    Ok((cert_path, key_path))
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
