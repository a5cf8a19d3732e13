//! What the behaviour tests share: the binary, free ports, child processes killed at the end, a small HTTP
//! client for direct URLs and forged form posts, and headless Chromium (chromedriver + fantoccini) with
//! 1280×800 screenshots saved to target/screenshots/.
//!
//! Browser tests are skipped with a message when /usr/bin/chromedriver is missing, unless
//! MAMORI_REQUIRE_BROWSER=1 (CI), which makes them fail instead.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_mamori");
pub(crate) const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) fn wait_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "port {port} did not open");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed when the test ends (also on panic).
pub(crate) struct Proc(pub(crate) Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| {
                v.split(';').next()?.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v.to_string())
            })
            .next()
    }
}

pub(crate) fn http(port: u16, method: &str, path: &str, cookie: &str, form: Option<&str>) -> Resp {
    http_with(port, method, path, cookie, form, &[])
}

pub(crate) fn http_with(
    port: u16,
    method: &str,
    path: &str,
    cookie: &str,
    form: Option<&str>,
    extra: &[(&str, &str)],
) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = form.unwrap_or("");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if form.is_some() {
        req.push_str(&format!("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    Resp { status, headers, body }
}

pub(crate) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(crate) fn browser_available() -> bool {
    if Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("MAMORI_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!(
            "MAMORI_REQUIRE_BROWSER=1 but {CHROMEDRIVER} or {CHROMIUM} is missing (Debian: chromium chromium-driver)"
        );
    }
    eprintln!("skipped: browser tests need {CHROMEDRIVER} and {CHROMIUM} (Debian: chromium chromium-driver)");
    false
}

pub(crate) fn screenshots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) async fn browser() -> (Client, Proc) {
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Proc(driver);
    wait_port(port);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--window-size=1280,800", "--lang=ja"]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("chromedriver session");
    // Make the page itself (the viewport) 1280×800, whatever the window decorations take.
    let dims = client
        .execute("return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];", vec![])
        .await
        .unwrap();
    let extra = |i: usize| dims.get(i).and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    client.set_window_size(1280 + extra(0), 800 + extra(1)).await.unwrap();
    (client, driver)
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

/// Retries an element operation while the page changes under it (htmx swaps parts of a page after it
/// loads, so an element found a moment ago can be replaced): up to 10 seconds.
async fn settled<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
{
    let start = Instant::now();
    loop {
        match op().await {
            Ok(v) => return v,
            Err(e) if start.elapsed() < Duration::from_secs(10) => {
                let stale = matches!(&e, fantoccini::error::CmdError::Standard(w)
                    if w.error == fantoccini::error::ErrorStatus::StaleElementReference
                        || w.error == fantoccini::error::ErrorStatus::NoSuchElement);
                assert!(stale, "{what}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

pub(crate) async fn text_of(c: &Client, css: &str) -> String {
    settled(css, || async {
        c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await?.text().await
    })
    .await
}

/// Waits until the element's text contains `want` (a page that is still loading, or an htmx swap still on its
/// way, shows the old text for a moment); fails with the last text seen after 10 seconds.
pub(crate) async fn expect_text(c: &Client, css: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let now = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if now.contains(want) {
            return now;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{css} never showed {want:?}; last text: {now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn fill(c: &Client, css: &str, value: &str) {
    settled(css, || async {
        let e = c.find(Locator::Css(css)).await?;
        e.clear().await?;
        e.send_keys(value).await
    })
    .await
}

pub(crate) async fn click(c: &Client, css: &str) {
    settled(css, || async { c.find(Locator::Css(css)).await?.click().await }).await
}
