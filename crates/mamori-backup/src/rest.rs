//! The restic REST protocol client (T3 off-site on rest-server or `rclone serve restic`).
//!
//! A port of rustic_backend 0.7.0's `rest.rs` (MIT OR Apache-2.0, the rustic authors) that builds on
//! reqwest's `rustls-no-provider` with rustls' *ring* provider — the TLS stack mamori-web already
//! builds — instead of rustic_backend's `rest` feature, which forces reqwest's default TLS provider
//! aws-lc-rs (a C library built from source: minutes on a clean build). Same protocol and the same
//! behaviour: list (`application/vnd.x.restic.rest.v2`), GET with Range, POST, DELETE; client errors
//! (4xx) are final, other failures are retried with exponential backoff (1, 2, 4, 8, 16 s).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Url;
use reqwest::blocking::{Body, Client, ClientBuilder};
use reqwest::header::{HeaderMap, HeaderValue};
use rustic_core::{BytesList, ErrorKind, FileType, Id, ReadBackend, RusticError, RusticResult, WriteBackend};

/// Environment variable naming a PEM file with the CA certificate(s) of a REST server whose certificate
/// is not signed by a CA the system trusts (a hospital's own rest-server).
pub const REST_CACERT_ENV: &str = "MAMORI_BACKUP_REST_CACERT";

#[derive(Clone, Debug)]
pub(crate) struct RestBackend {
    url: Url,
    client: Client,
    retries: usize,
}

fn backend_error(what: &'static str, err: impl std::error::Error + Send + Sync + 'static) -> Box<RusticError> {
    RusticError::with_source(ErrorKind::Backend, what, err)
}

/// Installs rustls' ring provider as the process default once (reqwest's `rustls-no-provider` needs
/// one; mamori-web installs the same provider for its HTTPS listener).
fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl RestBackend {
    /// `url`: `http(s)://[user:password@]host:port/path` (without the `rest:` prefix).
    /// `retries`: how often a failure that is not a client error is retried; `timeout`: per request.
    pub(crate) fn new(url: &str, retries: usize, timeout: Duration) -> RusticResult<Self> {
        ensure_crypto_provider();
        let url = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
        let url = Url::parse(&url)
            .map_err(|e| RusticError::with_source(ErrorKind::InvalidInput, "REST URL parsing failed", e))?;
        let mut headers = HeaderMap::new();
        let _ = headers.insert("User-Agent", HeaderValue::from_static("mamori"));
        let mut builder = ClientBuilder::new().default_headers(headers).timeout(timeout);
        if let Some(path) = std::env::var_os(REST_CACERT_ENV) {
            let pem = std::fs::read(&path).map_err(|e| {
                RusticError::with_source(ErrorKind::InvalidInput, "cannot read the CA file `{path}`", e)
                    .attach_context("path", path.to_string_lossy().into_owned())
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                RusticError::with_source(ErrorKind::InvalidInput, "cannot parse the CA file `{path}`", e)
                    .attach_context("path", path.to_string_lossy().into_owned())
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| backend_error("cannot build the HTTP client", e))?;
        Ok(Self { url, client, retries })
    }

    pub(crate) fn into_backends(self) -> rustic_core::RepositoryBackends {
        rustic_core::RepositoryBackends::new(Arc::new(self), None)
    }

    /// Runs `op`, retrying failures that are not client errors (4xx) with exponential backoff.
    fn retry<T>(&self, mut op: impl FnMut() -> Result<T, reqwest::Error>) -> Result<T, reqwest::Error> {
        let mut delay = Duration::from_secs(1);
        let mut attempt = 0;
        loop {
            match op() {
                Ok(v) => return Ok(v),
                Err(e) if attempt < self.retries && !e.status().is_some_and(|s| s.is_client_error()) => {
                    log::warn!("REST request failed ({}), retrying in {delay:?}", e.without_url());
                    std::thread::sleep(delay);
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn path(tpe: FileType, id: &Id) -> String {
        if tpe == FileType::Config { "config".to_string() } else { format!("{}/{}", tpe.dirname(), &*id.to_hex()) }
    }

    fn join(&self, path: &str) -> RusticResult<Url> {
        self.url.join(path).map_err(|e| {
            RusticError::with_source(ErrorKind::Internal, "joining the REST URL with `{path}` failed", e)
                .attach_context("path", path.to_string())
        })
    }
}

/// reqwest errors quote the URL, which holds the basic-auth password: drop it from every message.
fn request_error(err: reqwest::Error) -> Box<RusticError> {
    let status = err.status();
    let err = err.without_url();
    let what = match status.map(|s| s.as_u16()) {
        Some(401) | Some(403) => {
            "the REST server refused the request (HTTP {status}): check MAMORI_BACKUP_REST_USER / MAMORI_BACKUP_REST_PASSWORD, or the server is append-only"
        }
        Some(_) => "the REST server answered HTTP {status}",
        None => "the REST server could not be reached (after retries)",
    };
    RusticError::with_source(ErrorKind::Backend, what, err)
        .attach_context("status", status.map(|s| s.to_string()).unwrap_or_default())
}

impl ReadBackend for RestBackend {
    fn location(&self) -> String {
        let mut url = self.url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        format!("rest:{url}")
    }

    fn list_with_size(&self, tpe: FileType) -> RusticResult<Vec<(Id, u32)>> {
        #[derive(serde::Deserialize)]
        struct ListEntry {
            name: String,
            size: u32,
        }
        let path = if tpe == FileType::Config { "config".to_string() } else { format!("{}/", tpe.dirname()) };
        let url = self.join(&path)?;
        if tpe == FileType::Config {
            // A missing config is 404, not an error; anything else (no answer, 401, 5xx) is.
            let status = self.retry(|| self.client.head(url.clone()).send()).map_err(request_error)?.status();
            if status.is_success() {
                return Ok(vec![(Id::default(), 0)]);
            }
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(Vec::new());
            }
            return Err(RusticError::new(ErrorKind::Backend, "the REST server answered HTTP {status} for the config")
                .attach_context("status", status.to_string()));
        }
        let body = self
            .retry(|| {
                self.client
                    .get(url.clone())
                    .header("Accept", "application/vnd.x.restic.rest.v2")
                    .send()?
                    .error_for_status()?
                    .bytes()
            })
            .map_err(request_error)?;
        let list: Option<Vec<ListEntry>> = serde_json::from_slice(&body)
            .map_err(|e| RusticError::with_source(ErrorKind::Backend, "the REST server sent an unreadable list", e))?;
        Ok(list.unwrap_or_default().into_iter().filter_map(|e| Some((Id::parse_some(&e.name, tpe)?, e.size))).collect())
    }

    fn read_full(&self, tpe: FileType, id: &Id) -> RusticResult<Bytes> {
        let url = self.join(&Self::path(tpe, id))?;
        self.retry(|| self.client.get(url.clone()).send()?.error_for_status()?.bytes()).map_err(request_error)
    }

    fn read_partial(&self, tpe: FileType, id: &Id, _cacheable: bool, offset: u32, length: u32) -> RusticResult<Bytes> {
        let url = self.join(&Self::path(tpe, id))?;
        let range = format!("bytes={offset}-{}", u64::from(offset) + u64::from(length).max(1) - 1);
        self.retry(|| self.client.get(url.clone()).header("Range", range.clone()).send()?.error_for_status()?.bytes())
            .map_err(request_error)
    }

    fn warmup_path(&self, tpe: FileType, id: &Id) -> String {
        self.join(&Self::path(tpe, id)).map(|u| u.to_string()).unwrap_or_default()
    }
}

impl WriteBackend for RestBackend {
    fn create(&self) -> RusticResult<()> {
        let url = self.join("?create=true")?;
        self.retry(|| self.client.post(url.clone()).send()?.error_for_status().map(|_| ())).map_err(request_error)
    }

    fn write_bytes(&self, tpe: FileType, id: &Id, _cacheable: bool, content: BytesList) -> RusticResult<()> {
        let url = self.join(&Self::path(tpe, id))?;
        self.retry(|| {
            let len = content.size() as u64;
            let body = Body::sized(content.clone().reader(), len);
            self.client.post(url.clone()).body(body).send()?.error_for_status().map(|_| ())
        })
        .map_err(request_error)
    }

    fn remove(&self, tpe: FileType, id: &Id, _cacheable: bool) -> RusticResult<()> {
        let url = self.join(&Self::path(tpe, id))?;
        self.retry(|| self.client.delete(url.clone()).send()?.error_for_status().map(|_| ())).map_err(request_error)
    }
}
