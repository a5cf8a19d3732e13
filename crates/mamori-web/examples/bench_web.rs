//! Benchmark of the web app (prints figures, judges nothing): 10 000 devices in a SQLite store, the
//! server on loopback, 50 concurrent keep-alive clients requesting ledger list pages (paging, search,
//! filter, sort) and the dashboard as a signed-in administrator. Prints p50/p95/p99 per page kind.
//!
//!     cargo run --release -p mamori-web --example bench_web [-- DEVICES CLIENTS REQUESTS_PER_CLIENT]

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use mamori_model::auth::Role;
use mamori_model::ledger::Device;
use mamori_model::{FacilityKind, NewFacility};
use mamori_store::{NewUser, Store};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The allocator of the `mamori` binary that serves these pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn device(i: usize) -> Device {
    let os = ["Windows 11 Pro", "Windows 10 Pro", "Windows Server 2019 Standard", "Ubuntu 22.04", "RHEL 8"][i % 5];
    Device {
        asset_no: format!("D{i:06}"),
        category: Some(["pc", "server", "network", "medical", "other"][i % 5].into()),
        maker: ["富士通", "NEC", "HP", "Dell", "Cisco"][i % 5].into(),
        model: format!("Model-{}", i % 37),
        os: os.into(),
        hostname: format!("HOST-{i:06}"),
        location: format!("{}階 {}", i % 9 + 1, ["外来", "病棟", "検査室", "医局"][i % 4]),
        user: format!("部署{}", i % 40),
        ip_addresses: format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
        status: Some(if i.is_multiple_of(11) { "retired" } else { "active" }.into()),
        managed_by: if i.is_multiple_of(7) { "ベンダーA".into() } else { "病院".into() },
        ..Default::default()
    }
}

struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn get(&mut self, path: &str, cookie: &str) -> u16 {
        let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nCookie: {cookie}\r\n\r\n");
        self.s.write_all(req.as_bytes()).await.expect("write");
        self.buf.clear();
        let mut chunk = [0u8; 16384];
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = self.s.read(&mut chunk).await.expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_ascii_lowercase();
        let status: u16 = head[9..12].parse().expect("status");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().expect("length"))
            .expect("content-length");
        while self.buf.len() < head_end + len {
            let n = self.s.read(&mut chunk).await.expect("read");
            assert!(n > 0);
            self.buf.extend_from_slice(&chunk[..n]);
        }
        status
    }
}

/// CPU time (user + system) of this whole process so far, server and clients together, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name (which may hold spaces) come state (field 3) … utime (14) and stime (15), in ticks
    // of USER_HZ = 100 on Linux.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (n_devices, clients, per_client) = (
        args.first().copied().unwrap_or(10_000),
        args.get(1).copied().unwrap_or(50),
        args.get(2).copied().unwrap_or(40),
    );
    let dir = tempfile::tempdir()?;
    // MAMORI_BENCH_DB=path keeps the database for a look at query plans (sqlite3 path 'EXPLAIN QUERY PLAN …').
    let db = std::env::var("MAMORI_BENCH_DB")
        .unwrap_or_else(|_| dir.path().join("bench.db").to_str().expect("utf-8 path").to_string());
    let _ = std::fs::remove_file(&db);
    let store = Store::open(&db).await?;
    let f = store
        .add_facility(&NewFacility {
            name: "ベンチマーク病院".into(),
            kind: FacilityKind::Hospital,
            prefecture: "東京都".into(),
            municipality: String::new(),
            beds: Some(500),
            has_ehr: true,
            medical_code: None,
        })
        .await?;
    let t = Instant::now();
    let devices: Vec<Device> = (0..n_devices).map(device).collect();
    store.upsert(f.id, &devices, |_, _| {}).await?;
    println!("{n_devices} devices loaded in {:.1} s", t.elapsed().as_secs_f64());
    let admin = store
        .add_user(&NewUser {
            login: "bench".into(),
            name: "ベンチ".into(),
            role: Role::Admin,
            facility_id: None,
            vendor_name: String::new(),
            prefecture: String::new(),
            password_hash: mamori_web::hash_password("bench bench bench")?,
        })
        .await?;
    let token = "b".repeat(64);
    let th: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    store.create_session(&th, admin.id, &"c".repeat(64), chrono::Utc::now().timestamp(), "127.0.0.1").await?;
    let cookie = format!("mamori_session={token}");

    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    tokio::spawn(mamori_web::serve(store.clone(), addr, None));
    while TcpStream::connect(addr).await.is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fid = f.id;
    let paths: Vec<(bool, String)> = vec![
        (false, format!("/f/{fid}")),
        (true, format!("/f/{fid}/l/devices")),
        (true, format!("/f/{fid}/l/devices?page=37")),
        (true, format!("/f/{fid}/l/devices?q=windows+server")),
        (true, format!("/f/{fid}/l/devices?status=retired&sort=os&dir=desc")),
        (true, format!("/f/{fid}/l/devices?q=%E7%97%85%E6%A3%9F&page=20")),
        (true, format!("/f/{fid}/l/devices?sort=location&page=150")),
    ];
    // MAMORI_BENCH_ONLY=0,1 keeps only those page kinds (by position above), e.g. to profile one of them.
    let paths: Vec<(bool, String)> = match std::env::var("MAMORI_BENCH_ONLY") {
        Ok(only) => {
            let keep: Vec<usize> = only.split(',').filter_map(|i| i.trim().parse().ok()).collect();
            paths.into_iter().enumerate().filter(|(i, _)| keep.contains(i)).map(|(_, p)| p).collect()
        }
        Err(_) => paths,
    };
    // Warm up (the findings cache of the dashboard is filled by the first request).
    let mut c = Conn { s: TcpStream::connect(addr).await?, buf: Vec::new() };
    for (_, p) in &paths {
        assert_eq!(c.get(p, &cookie).await, 200, "{p}");
    }
    println!("one client, median of 9 requests per page:");
    for (_, p) in &paths {
        let mut v = Vec::new();
        for _ in 0..9 {
            let t = Instant::now();
            c.get(p, &cookie).await;
            v.push(t.elapsed());
        }
        println!("  {:8.2} ms  {p}", pct(&mut v, 0.5));
    }
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let mut tasks = Vec::new();
    for k in 0..clients {
        let paths = paths.clone();
        let cookie = cookie.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn { s: TcpStream::connect(addr).await.expect("connect"), buf: Vec::new() };
            let mut out = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let (is_list, p) = &paths[(k + i) % paths.len()];
                let t = Instant::now();
                let status = c.get(p, &cookie).await;
                assert_eq!(status, 200, "{p}");
                out.push((*is_list, t.elapsed()));
            }
            out
        }));
    }
    let mut list = Vec::new();
    let mut dash = Vec::new();
    for t in tasks {
        for (is_list, d) in t.await? {
            if is_list { list.push(d) } else { dash.push(d) }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let total = list.len() + dash.len();
    let cpu = cpu_seconds() - cpu0;
    println!("{clients} clients × {per_client} requests = {total} in {wall:.2} s ({:.0} req/s)", total as f64 / wall);
    println!(
        "CPU {cpu:.2} s for the process (server and clients), {:.2} ms per request — the load-independent figure on a shared machine",
        cpu * 1000.0 / total as f64
    );
    for (name, v) in [("ledger list", &mut list), ("dashboard", &mut dash)] {
        if v.is_empty() {
            continue;
        }
        println!(
            "{name:12} n={:5}  p50 {:7.2} ms  p95 {:7.2} ms  p99 {:7.2} ms",
            v.len(),
            pct(v, 0.50),
            pct(v, 0.95),
            pct(v, 0.99)
        );
    }
    Ok(())
}
