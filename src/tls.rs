//! Fila's own TLS (`--tls-cert`, `--tls-key`), for a clinic without a proxy in front: rustls,
//! HTTP/1.1 only (what the server loop speaks; websockets go over it). The certificate and key
//! are read again on SIGHUP: new handshakes get the new pair, open connections keep theirs, and
//! a pair that does not load is logged and the old one kept.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// The certificate handshakes are given; replaced whole on reload.
#[derive(Debug)]
struct Current {
    key: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// The TLS side of the listener: the acceptor and where its certificate comes from.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
    current: Arc<Current>,
    provider: Arc<CryptoProvider>,
    cert: PathBuf,
    key: PathBuf,
}

impl Tls {
    /// Loads the PEM certificate chain and private key; an error names the file.
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Tls> {
        // ring rather than aws-lc-rs (rustls's default): no C toolchain beyond `cc` to build it.
        // rustls 0.23.48 deprecates it for lacking post-quantum key exchange, which browsers
        // then simply do not get.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let current = Arc::new(Current {
            key: RwLock::new(Arc::new(certified_key(&provider, cert, key)?)),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
            provider,
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
    }

    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the files again; on success new handshakes get the new pair.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = certified_key(&self.provider, &self.cert, &self.key)?;
        *self.current.key.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(())
    }
}

/// Reloads `tls` on every SIGHUP until the process ends. Without TLS a SIGHUP is logged and
/// ignored: `systemctl reload` never stops the server (SIGHUP's default is to end it).
pub fn reload_on_sighup(tls: Option<Tls>) -> anyhow::Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("listening for SIGHUP")?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(tls) = &tls else {
                tracing::info!("SIGHUP: nothing to reload (no --tls-cert)");
                continue;
            };
            match tls.reload() {
                Ok(()) => tracing::info!(cert = %tls.cert.display(), "TLS certificate reloaded"),
                Err(error) => tracing::error!(
                    error = format!("{error:#}"),
                    "TLS certificate not reloaded: keeping the previous one"
                ),
            }
        }
    });
    Ok(())
}

fn certified_key(
    provider: &CryptoProvider,
    cert: &Path,
    key: &Path,
) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading --tls-cert {}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "--tls-cert {}: no PEM certificate in it",
        cert.display()
    );
    let private = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading --tls-key {}", key.display()))?;
    CertifiedKey::from_der(chain, private, provider).with_context(|| {
        format!(
            "--tls-key {} does not go with --tls-cert {}",
            key.display(),
            cert.display()
        )
    })
}
