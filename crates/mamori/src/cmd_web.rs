//! Web commands: `serve` (the web app), `user` (accounts of the web app) and `audit` (the app's own
//! access log: verify the hash chain, export). `mamori demo` ends in [`serve_demo`].

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use mamori_model::Facility;
use mamori_model::audit::{AuditCategory, ChainAnchor, NewAuditEntry};
use mamori_model::auth::{Role, check_password};
use mamori_store::{NewUser, Store};

use crate::{Global, exit};

#[derive(Subcommand, Debug)]
pub enum WebCommand {
    /// Web画面を起動する / start the web app
    Serve {
        /// 待ち受けアドレス / listen address
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// TLS証明書（PEM）。指定すると HTTPS で待ち受ける / TLS certificate (PEM): serve HTTPS
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS秘密鍵（PEM）/ TLS private key (PEM)
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Web画面の利用者を管理する / manage the users of the web app
    #[command(subcommand)]
    User(UserCommand),
    /// mamori 自身のアクセスログ（改ざん検知つき）/ the app's own access log
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// 利用者を追加する（パスワードは標準入力から、省略時は生成して一度だけ表示）/ add a user
    Add {
        /// ユーザID / user ID
        login: String,
        /// 氏名 / name
        #[arg(long)]
        name: String,
        /// 役割: admin, executive, manager, operator, vendor, surveyor, inspector
        #[arg(long)]
        role: String,
        /// 事業者名（role=vendor、台帳の表記どおり）/ vendor name as in the ledgers
        #[arg(long, default_value = "")]
        vendor: String,
        /// 都道府県（role=inspector）/ prefecture of an inspector
        #[arg(long, default_value = "")]
        prefecture: String,
        /// パスワードを標準入力から読む / read the password from stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// 利用者の一覧 / list users
    List,
    /// 利用者を無効にする（ログイン中のセッションも終了）/ disable a user and end its sessions
    Disable { login: String },
    /// 利用者を有効に戻す / enable a user again
    Enable { login: String },
    /// パスワードを変更する（標準入力、省略時は生成）/ set a new password
    Passwd {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// 調査員に施設を割り当てる（--facility で指定）/ assign the --facility to a surveyor
    Assign { login: String },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// ハッシュの連鎖を検証し、改ざん・削除された記録を示す / verify the hash chain
    Verify {
        /// `audit anchor` で控えたファイル（複数可）。末尾の削除や作り直しも分かる / anchors written by
        /// `audit anchor` (repeatable): also detects cut-off newest entries and a rebuilt chain
        #[arg(long)]
        anchor: Vec<PathBuf>,
    },
    /// 最新の記録のハッシュ（アンカー）を書き出す。mamori の外（別の機器・印刷）に保管する / write the
    /// chain's head (an anchor) to keep outside mamori
    Anchor {
        /// 出力先（省略時は画面）/ output file (default: print)
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// アクセスログを書き出す / export the access log
    Export {
        /// csv（UTF-8 BOM付き）または xlsx
        #[arg(long, default_value = "csv")]
        format: String,
        /// 出力先 / output file
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn cli_actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "?".into()))
}

async fn log_admin(store: &Store, operation: &str, target: &str, facility_id: Option<i64>) -> Result<()> {
    store
        .append_audit(&NewAuditEntry {
            user_login: cli_actor(),
            user_name: String::new(),
            category: AuditCategory::Admin,
            operation: operation.into(),
            target: target.into(),
            facility_id,
            source: "cli".into(),
        })
        .await?;
    Ok(())
}

/// The password from stdin (first line), or a generated one that is printed once.
fn password_for(login: &str, from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("標準入力を読めません / cannot read stdin")?;
        let pw = s.lines().next().unwrap_or("").to_string();
        check_password(login, &pw).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok((pw, false))
    } else {
        Ok((mamori_web::random_password(), true))
    }
}

pub async fn run(g: &Global, c: WebCommand) -> Result<u8> {
    let store = Store::open(g.db_url()).await?;
    match c {
        WebCommand::Serve { listen, tls_cert, tls_key } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(mamori_web::TlsFiles { cert, key }),
                _ => None,
            };
            let scheme = if tls.is_some() { "https" } else { "http" };
            if store.count_users().await? == 0 {
                println!(
                    "利用者がいません。ブラウザで初期設定（管理者の作成）をしてください / no users yet: open the URL to create the administrator"
                );
            }
            println!("mamori: {scheme}://{listen}/ （Ctrl-C で終了 / Ctrl-C to stop）");
            mamori_web::serve(store, listen, tls).await?;
            Ok(exit::OK)
        }
        WebCommand::User(u) => user(g, &store, u).await,
        WebCommand::Audit(AuditCommand::Anchor { output }) => {
            let entries = store.audit_all().await?;
            let Some(anchor) = ChainAnchor::of_head(&entries) else {
                bail!("アクセスログがまだありません / the access log is empty");
            };
            let json = serde_json::to_string_pretty(&anchor)?;
            match &output {
                Some(path) => {
                    std::fs::write(path, format!("{json}\n"))
                        .with_context(|| format!("{} に書けません / cannot write", path.display()))?;
                    println!(
                        "{}番までのアンカーを {} に書き出しました。mamori の外に保管してください / anchor of entry {} written; keep it outside mamori",
                        anchor.seq,
                        path.display(),
                        anchor.seq
                    );
                }
                None => println!("{json}"),
            }
            log_admin(&store, "アクセスログのアンカーを記録", &format!("{}番 {}", anchor.seq, anchor.hash), None)
                .await?;
            Ok(exit::OK)
        }
        WebCommand::Audit(AuditCommand::Verify { anchor }) => {
            let (n, mut problems) = store.verify_audit().await?;
            if !anchor.is_empty() {
                let entries = store.audit_all().await?;
                for path in &anchor {
                    let text = std::fs::read_to_string(path).with_context(|| {
                        format!("アンカー {} を読めません / cannot read the anchor", path.display())
                    })?;
                    let a: ChainAnchor = serde_json::from_str(&text).with_context(|| {
                        format!(
                            "{} はアンカーの形式ではありません（mamori audit anchor の出力）/ not an anchor file",
                            path.display()
                        )
                    })?;
                    problems.extend(a.check(&entries));
                }
            }
            if problems.is_empty() {
                println!("OK: アクセスログ{n}件に改ざん・削除はありません / {n} entries, chain intact");
                Ok(exit::OK)
            } else {
                for p in &problems {
                    println!("NG: {} / {}", p.message_ja(), p.message_en());
                }
                println!(
                    "アクセスログ{n}件中、{}か所に問題があります / {} problem(s) in {n} entries",
                    problems.len(),
                    problems.len()
                );
                Ok(exit::FINDINGS)
            }
        }
        WebCommand::Audit(AuditCommand::Export { format, output }) => {
            let xlsx = match format.as_str() {
                "xlsx" => true,
                "csv" => false,
                other => bail!("形式「{other}」は使えません（csv, xlsx）/ unknown format"),
            };
            let bytes = mamori_web::audit_export(&store, xlsx).await?;
            std::fs::write(&output, bytes)
                .with_context(|| format!("{} に書けません / cannot write", output.display()))?;
            log_admin(&store, "アクセスログを書き出し（CLI）", &output.display().to_string(), None).await?;
            println!("{} に書き出しました / written", output.display());
            Ok(exit::OK)
        }
    }
}

async fn user(g: &Global, store: &Store, c: UserCommand) -> Result<u8> {
    match c {
        UserCommand::Add { login, name, role, vendor, prefecture, password_stdin } => {
            let role = Role::parse(&role).with_context(|| {
                format!("役割「{role}」はありません。admin, executive, manager, operator, vendor, surveyor, inspector のいずれか / unknown role")
            })?;
            let facility =
                if role.needs_facility() { Some(store.resolve_facility(g.facility.as_deref()).await?) } else { None };
            let (pw, generated) = password_for(&login, password_stdin)?;
            let user = store
                .add_user(&NewUser {
                    login: login.clone(),
                    name,
                    role,
                    facility_id: facility.as_ref().map(|f| f.id),
                    vendor_name: vendor,
                    prefecture,
                    password_hash: mamori_web::hash_password(&pw)?,
                })
                .await?;
            if role == Role::Surveyor
                && let Some(sel) = g.facility.as_deref()
            {
                let f = store.resolve_facility(Some(sel)).await?;
                store.assign_facility(user.id, f.id).await?;
            }
            log_admin(
                store,
                "利用者を追加（CLI）",
                &format!("{}（{}）", user.login, role.label_ja()),
                user.facility_id,
            )
            .await?;
            println!("利用者「{}」（{}）を追加しました / user added", user.login, role.label_ja());
            if generated {
                println!("初期パスワード（この一度だけ表示します）/ password (shown once): {pw}");
            }
            Ok(exit::OK)
        }
        UserCommand::List => {
            for u in store.users().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.login,
                    u.name,
                    u.role.label_ja(),
                    u.facility_id.map(|f| f.to_string()).unwrap_or_else(|| "-".into()),
                    if u.disabled { "無効/disabled" } else { "有効/active" }
                );
            }
            Ok(exit::OK)
        }
        UserCommand::Disable { login } => set_disabled(store, &login, true).await,
        UserCommand::Enable { login } => set_disabled(store, &login, false).await,
        UserCommand::Passwd { login, password_stdin } => {
            let (u, _) = store
                .user_with_hash(&login)
                .await?
                .with_context(|| format!("利用者「{login}」がいません / no such user"))?;
            let (pw, generated) = password_for(&login, password_stdin)?;
            store.set_password_hash(u.id, &mamori_web::hash_password(&pw)?).await?;
            log_admin(store, "パスワードを変更（CLI）", &login, None).await?;
            println!("パスワードを変更し、この利用者のセッションをすべて終了しました / password set, sessions ended");
            if generated {
                println!("新しいパスワード（この一度だけ表示します）/ new password (shown once): {pw}");
            }
            Ok(exit::OK)
        }
        UserCommand::Assign { login } => {
            let (u, _) = store
                .user_with_hash(&login)
                .await?
                .with_context(|| format!("利用者「{login}」がいません / no such user"))?;
            if u.role != Role::Surveyor {
                bail!("施設の割り当ては調査員（surveyor）だけです / only surveyors are assigned facilities");
            }
            let f = store.resolve_facility(g.facility.as_deref()).await?;
            store.assign_facility(u.id, f.id).await?;
            log_admin(store, "調査員に施設を割り当て（CLI）", &format!("{login} → {}", f.data.name), Some(f.id))
                .await?;
            println!("「{login}」に「{}」を割り当てました / assigned", f.data.name);
            Ok(exit::OK)
        }
    }
}

async fn set_disabled(store: &Store, login: &str, disabled: bool) -> Result<u8> {
    if !store.set_user_disabled(login, disabled).await? {
        bail!("利用者「{login}」がいません / no such user");
    }
    log_admin(store, if disabled { "利用者を無効化（CLI）" } else { "利用者を有効化（CLI）" }, login, None).await?;
    println!("{login}: {}", if disabled { "無効にしました / disabled" } else { "有効にしました / enabled" });
    Ok(exit::OK)
}

/// Called by `mamori demo` once the demo hospital is loaded: creates (or renews) a one-time administrator
/// with a random password, prints the URL and the credentials once, and serves until Ctrl-C.
pub async fn serve_demo(store: Store, facility: Facility, listen: SocketAddr) -> Result<()> {
    let login = "demo-admin";
    let pw = mamori_web::random_password();
    let hash = mamori_web::hash_password(&pw)?;
    match store.user_with_hash(login).await? {
        Some((u, _)) => {
            store.set_password_hash(u.id, &hash).await?;
            store.set_user_disabled(login, false).await?;
        }
        None => {
            store
                .add_user(&NewUser {
                    login: login.into(),
                    name: "デモ管理者".into(),
                    role: Role::Admin,
                    facility_id: None,
                    vendor_name: String::new(),
                    prefecture: String::new(),
                    password_hash: hash,
                })
                .await?;
        }
    }
    log_admin(&store, "デモ用の管理者を作成", login, Some(facility.id)).await?;
    println!("\nmamori のデモを起動しました / the demo is running: http://{listen}/");
    println!("  施設 / facility: {}", facility.data.name);
    println!("  ユーザID / user: {login}");
    println!("  パスワード（この一度だけ表示します）/ password (shown once): {pw}");
    println!("  Ctrl-C で終了 / Ctrl-C to stop\n");
    mamori_web::serve(store, listen, None).await
}
