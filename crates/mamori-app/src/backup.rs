//! Offline backup over the store: targets, runs, drills, policy status, the plan and the report.
//!
//! The engine (mamori-backup) does the work on repositories; this module keeps what a facility configured
//! and what ran (mamori-store), checks the policy against reality ([`status_inputs`] + [`evaluate_status`]:
//! probes of the kernel, generations read from the repositories or — without the password — as last read),
//! says what is late or failing ([`alerts`]), and builds the documents: the 計画書 ([`plan_document`]) and
//! the 実施報告書 ([`report_document`]) as PDF or xlsx, the BCP's backup table ([`backup_table`]) and the
//! evidence for the checklist, the BCP table and the G-MIS survey ([`evidence`]).
//!
//! Engine calls block (rustic, scrypt ~128 MiB per open): [`evaluate_status`] is a plain function the
//! caller runs off the async workers.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use mamori_backup::policy::{KeyEscrow, PolicyFacts, PolicyReport, PolicyRules, TargetFacts, evaluate, gather_facts};
use mamori_backup::{
    Bilingual, DetachRecord, DrillReport, Generation, OfflineState, Password, Target, TargetKind, TargetProbe, Tier,
    probe_target,
};
use mamori_model::Facility;
use mamori_report::{Block, CellValue, Column, ColumnKind, Doc, OfficialSheet, PdfRenderer, ReportError};
use mamori_store::Store;
use mamori_store::backup::{BackupRunRow, BackupSetRow, BackupTargetRow, KeyEscrowRow, MediaEventRow};
use serde::Serialize;

use crate::Result;
use crate::evidence::{Evidence, EvidenceState, EvidenceTarget};

pub use mamori_backup as engine;
pub use mamori_store::backup::{NewBackupRun, NewBackupSet, NewBackupTarget, NewMediaEvent};

/// A successful backup of every set is expected at least this often (daily backups, one day of slack).
pub const BACKUP_MAX_AGE_DAYS: i64 = 2;
/// `check` must have passed within this many days (the rolling read-data subset reads every pack in 7 days).
pub const CHECK_PERIOD_DAYS: i64 = 7;
/// Removable media left attached longer than this are reported (they are online while attached).
pub const MEDIA_ATTACHED_MAX_DAYS: i64 = 2;

/// The policy rules mamori applies (≥3 generations, drill within 90 days, off-site within 31 days).
pub fn rules() -> PolicyRules {
    PolicyRules::default()
}

// ---------------------------------------------------------------- labels

/// Tier label: T1 オンライン / T2 オフライン / T3 遠隔地 (Japanese, English).
pub fn tier_label(tier: &str) -> (&'static str, &'static str) {
    match tier {
        "online" => ("T1 オンライン", "T1 online"),
        "offline" => ("T2 オフライン・変更不可", "T2 offline / immutable"),
        "offsite" => ("T3 遠隔地", "T3 off-site"),
        _ => ("不明", "unknown"),
    }
}

pub fn kind_label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "local_dir" => ("ディレクトリ", "directory"),
        "removable_media" => ("取り外し媒体（RDX/USB）", "removable media (RDX/USB)"),
        "immutable_files" => ("変更不可属性のファイル", "immutable files"),
        "rest_server" => ("REST サーバー（restic REST）", "REST server (restic REST protocol)"),
        _ => ("不明", "unknown"),
    }
}

pub fn op_label(op: &str) -> (&'static str, &'static str) {
    match op {
        "init" => ("初期化", "init"),
        "backup" => ("バックアップ", "backup"),
        "check" => ("整合性検査", "check"),
        "drill" => ("復元訓練", "restore drill"),
        "copy" => ("複製", "copy"),
        "forget" => ("世代整理", "forget"),
        "immutable" => ("変更不可設定", "make immutable"),
        _ => ("不明", "unknown"),
    }
}

pub fn point_label(id: &str) -> (&'static str, &'static str) {
    match id {
        "generations" => ("3世代以上の世代管理", "at least 3 generations"),
        "offline_generations" => ("3世代目以降のオフライン保管", "3rd and later generations offline"),
        "offsite_copy" => ("遠隔地への保管", "off-site copy"),
        "encryption" => ("暗号化", "encryption"),
        "key_escrow" => ("パスワードの保管者の記録", "key escrow recorded"),
        "restore_drill" => ("復元訓練（期限内）", "restore drill within the period"),
        _ => ("", ""),
    }
}

/// The state of a target as people read it; the primary repository is never "detached", it is missing.
pub fn target_state_label(state: OfflineState, primary: bool) -> (&'static str, &'static str) {
    if primary && state == OfflineState::Detached {
        ("リポジトリが見つかりません", "repository not found")
    } else {
        state_label(state)
    }
}

pub fn state_label(state: OfflineState) -> (&'static str, &'static str) {
    match state {
        OfflineState::Detached => ("取り外し済み", "detached"),
        OfflineState::ReadOnly => ("読み取り専用", "read-only"),
        OfflineState::Immutable => ("変更不可", "immutable"),
        OfflineState::Online => ("オンライン（書き込み可能）", "online (writable)"),
    }
}

/// RFC 3339 UTC as Japan time (2026/11/21 3:00).
pub fn jst(at: &str) -> String {
    match DateTime::parse_from_rfc3339(at) {
        Ok(d) => {
            let offset = chrono::FixedOffset::east_opt(9 * 3600).expect("valid offset");
            d.with_timezone(&offset).format("%Y/%m/%d %H:%M").to_string()
        }
        Err(_) => at.to_string(),
    }
}

fn parse_time(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at).ok().map(|d| d.with_timezone(&Utc))
}

/// Human size: 1.2 GB, 340 MB, 12 kB.
pub fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    if n >= 1e9 {
        format!("{:.1} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.0} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

// ---------------------------------------------------------------- mapping store rows to engine types

/// The engine's view of a stored target.
pub fn engine_target(t: &BackupTargetRow) -> Target {
    Target {
        id: t.data.name.clone(),
        tier: match t.data.tier.as_str() {
            "offline" => Tier::Offline,
            "offsite" => Tier::Offsite,
            _ => Tier::Online,
        },
        path: PathBuf::from(&t.data.path),
        kind: match t.data.kind.as_str() {
            "removable_media" => TargetKind::RemovableMedia,
            "immutable_files" => TargetKind::ImmutableFiles,
            "rest_server" => TargetKind::RestServer,
            _ => TargetKind::LocalDir,
        },
    }
}

/// What the engine adds to the store's checks of a new target: a REST server location needs a build
/// with the `rest` feature (clear message otherwise) and no credentials in it. Japanese first.
pub fn check_new_target(t: &NewBackupTarget) -> std::result::Result<(), String> {
    if t.kind == "rest_server" || t.path.starts_with("rest:") {
        if t.kind != "rest_server" {
            return Err("rest: で始まる場所は種類 rest_server（REST サーバー）で登録してください / a rest: location needs kind rest_server".into());
        }
        mamori_backup::validate_rest_location(&t.path).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Generations as last read from a target (stored after each run that opened it).
pub fn recorded_generations(t: &BackupTargetRow) -> Option<Vec<Generation>> {
    t.generations_json.as_deref().and_then(|j| serde_json::from_str(j).ok())
}

fn detach_record(e: &MediaEventRow) -> Option<DetachRecord> {
    (e.data.event == "detach").then(|| DetachRecord {
        target_id: e.data.target_name.clone(),
        media_id: e.data.media_id.clone(),
        at: parse_time(&e.data.at).unwrap_or_else(Utc::now),
        mount_point: None,
        unmounted_by_mamori: false,
        still_mounted: e.data.still_mounted.unwrap_or(false),
        generations: e.data.generations_json.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default(),
        evidence: e.data.evidence.clone(),
    })
}

fn drill_of(r: &BackupRunRow) -> Option<DrillReport> {
    serde_json::from_str::<DrillReport>(&r.data.detail).ok()
}

// ---------------------------------------------------------------- status

/// Everything the status needs from the store (loaded async; evaluated off the async workers).
#[derive(Debug, Clone, Serialize)]
pub struct StatusInputs {
    pub facility_id: i64,
    pub sets: Vec<BackupSetRow>,
    pub targets: Vec<BackupTargetRow>,
    pub escrow: Option<KeyEscrowRow>,
    /// Newest first.
    pub runs: Vec<BackupRunRow>,
    /// Newest first.
    pub media: Vec<MediaEventRow>,
    /// Per set (system): newest backup run, newest successful backup run.
    pub last_backup: Vec<(String, Option<BackupRunRow>, Option<BackupRunRow>)>,
    pub last_check: Option<BackupRunRow>,
    pub last_ok_check: Option<BackupRunRow>,
    pub last_drill: Option<BackupRunRow>,
}

/// Loads what the status looks at.
pub async fn status_inputs(store: &Store, facility: &Facility) -> Result<StatusInputs> {
    let fid = facility.id;
    let sets = store.backup_sets(fid).await?;
    let mut last_backup = Vec::new();
    let mut seen = BTreeSet::new();
    for s in &sets {
        if seen.insert(s.data.system.clone()) {
            last_backup.push((
                s.data.system.clone(),
                store.last_backup_run(fid, "backup", Some(&s.data.system), false).await?,
                store.last_backup_run(fid, "backup", Some(&s.data.system), true).await?,
            ));
        }
    }
    Ok(StatusInputs {
        facility_id: fid,
        targets: store.backup_targets(fid).await?,
        escrow: store.key_escrow(fid).await?,
        runs: store.backup_runs(fid, None, 50).await?,
        media: store.media_events(fid, 50).await?,
        last_backup,
        last_check: store.last_backup_run(fid, "check", None, false).await?,
        last_ok_check: store.last_backup_run(fid, "check", None, true).await?,
        last_drill: store.last_backup_run(fid, "drill", None, false).await?,
        sets,
    })
}

/// Something late or failing (遅延・失敗).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// "error" (data at risk now) or "warning" (a duty is overdue).
    pub severity: &'static str,
    pub ja: String,
    pub en: String,
}

fn alert(severity: &'static str, ja: String, en: String) -> Alert {
    Alert { severity, ja, en }
}

fn age_days(at: &str, now: DateTime<Utc>) -> Option<i64> {
    parse_time(at).map(|t| (now - t).num_days())
}

/// What is late or failing, from the run history alone (pure).
pub fn alerts(i: &StatusInputs, now: DateTime<Utc>) -> Vec<Alert> {
    let mut out = Vec::new();
    let rules = rules();
    if i.sets.is_empty() {
        out.push(alert(
            "warning",
            "バックアップ対象のシステムが登録されていません（mamori backup set add）".into(),
            "no backup set registered (mamori backup set add)".into(),
        ));
    }
    if !i.targets.iter().any(|t| t.data.is_primary) {
        out.push(alert(
            "error",
            "主リポジトリ（毎回のバックアップ先）が登録されていません（mamori backup target add --primary）".into(),
            "no primary repository (mamori backup target add --primary)".into(),
        ));
    }
    for (system, last, last_ok) in &i.last_backup {
        if let Some(l) = last.as_ref().filter(|l| !l.data.ok) {
            out.push(alert(
                "error",
                format!("{system}: 最後のバックアップ（{}）が失敗しました: {}", jst(&l.data.started_at), l.data.error),
                format!("{system}: the last backup ({}) failed: {}", jst(&l.data.started_at), l.data.error),
            ));
        }
        match last_ok.as_ref().and_then(|r| age_days(&r.data.started_at, now).map(|d| (r, d))) {
            None => out.push(alert(
                "error",
                format!("{system}: 成功したバックアップがありません"),
                format!("{system}: no successful backup"),
            )),
            Some((r, d)) if d >= BACKUP_MAX_AGE_DAYS => out.push(alert(
                "error",
                format!("{system}: {d} 日間バックアップが成功していません（最後の成功 {}）", jst(&r.data.started_at)),
                format!("{system}: no successful backup for {d} days (last {})", jst(&r.data.started_at)),
            )),
            _ => {}
        }
    }
    if let Some(c) = i.last_check.as_ref().filter(|c| !c.data.ok) {
        out.push(alert(
            "error",
            format!("最後の整合性検査（{}）で異常が見つかりました: {}", jst(&c.data.started_at), c.data.error),
            format!("the last check ({}) found problems: {}", jst(&c.data.started_at), c.data.error),
        ));
    }
    match i.last_ok_check.as_ref().and_then(|r| age_days(&r.data.started_at, now)) {
        None if !i.sets.is_empty() => out.push(alert(
            "warning",
            "整合性検査（mamori backup check）の記録がありません".into(),
            "no check recorded (mamori backup check)".into(),
        )),
        Some(d) if d >= CHECK_PERIOD_DAYS => out.push(alert(
            "warning",
            format!("整合性検査が {d} 日間行われていません（{CHECK_PERIOD_DAYS} 日ごと）"),
            format!("no check for {d} days (due every {CHECK_PERIOD_DAYS} days)"),
        )),
        _ => {}
    }
    match &i.last_drill {
        None if !i.sets.is_empty() => out.push(alert(
            "warning",
            format!("復元訓練の記録がありません（{} 日ごと、mamori backup drill）", rules.drill_period_days),
            format!("no restore drill recorded (every {} days, mamori backup drill)", rules.drill_period_days),
        )),
        Some(d) if !d.data.ok => out.push(alert(
            "error",
            format!("最後の復元訓練（{}）が一致しませんでした: {}", jst(&d.data.started_at), d.data.error),
            format!("the last restore drill ({}) did not match: {}", jst(&d.data.started_at), d.data.error),
        )),
        Some(d) => {
            if let Some(days) = age_days(&d.data.started_at, now).filter(|days| *days > rules.drill_period_days) {
                out.push(alert(
                    "warning",
                    format!("最後の復元訓練から {days} 日経っています（{} 日ごと）", rules.drill_period_days),
                    format!("last restore drill {days} days ago (due every {} days)", rules.drill_period_days),
                ));
            }
        }
        None => {}
    }
    for t in i.targets.iter().filter(|t| t.data.kind == "removable_media") {
        let last = i.media.iter().find(|e| e.data.target_name == t.data.name);
        if let Some(e) = last.filter(|e| e.data.event == "attach")
            && let Some(d) = age_days(&e.data.at, now).filter(|d| *d >= MEDIA_ATTACHED_MAX_DAYS)
        {
            out.push(alert(
                "warning",
                format!(
                    "{}: 媒体 {} が {d} 日間取り付けられたままです（取り付け中はオンラインです）",
                    t.data.name, e.data.media_id
                ),
                format!("{}: media {} attached for {d} days (online while attached)", t.data.name, e.data.media_id),
            ));
        }
    }
    out
}

/// One target as probed now.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    pub target: BackupTargetRow,
    pub probe: TargetProbe,
    /// Generations known for the target and where the knowledge comes from.
    pub generations: Option<Vec<Generation>>,
    pub generations_source: Bilingual,
}

/// The status of a facility's backups: policy against reality, and what is late or failing.
#[derive(Debug, Clone, Serialize)]
pub struct BackupStatus {
    pub now: DateTime<Utc>,
    pub policy: PolicyReport,
    /// True when the repositories were opened now (password given); false: generations as last read.
    pub live: bool,
    pub generations_note: Bilingual,
    pub alerts: Vec<Alert>,
    pub targets: Vec<TargetView>,
    /// Generations read now, per target name (to store back), only when `live`.
    #[serde(skip)]
    pub read_now: Vec<(String, Vec<Generation>)>,
}

impl BackupStatus {
    pub fn ok(&self) -> bool {
        self.policy.all_hold() && !self.alerts.iter().any(|a| a.severity == "error")
    }
}

/// Probes every target for real and evaluates the policy. With the password the repositories are
/// opened now (blocking, ~128 MiB per open); without it the generations are those last read (shown so).
pub fn evaluate_status(i: &StatusInputs, password: Option<&Password>, now: DateTime<Utc>) -> BackupStatus {
    let rules = rules();
    let systems: Vec<String> = i.sets.iter().map(|s| s.data.system.clone()).collect();
    let escrow = i.escrow.as_ref().map(|k| KeyEscrow {
        holders: k.holders.clone(),
        recorded_at: parse_time(&k.recorded_at).unwrap_or(now),
        where_kept: k.where_kept.clone(),
    });
    let last_drill = i.last_drill.as_ref().and_then(drill_of);
    let detaches: Vec<DetachRecord> = i.media.iter().filter_map(detach_record).collect();
    let primary_row = i.targets.iter().find(|t| t.data.is_primary);
    let all: Vec<Target> = i.targets.iter().map(engine_target).collect();
    let (mut facts, live) = match (primary_row, password) {
        (Some(p), Some(pw)) => {
            (gather_facts(&engine_target(p), &all, pw, &systems, escrow, last_drill, &detaches), true)
        }
        (primary, _) => {
            let primary_target = primary.map(engine_target).unwrap_or(Target {
                id: "（未登録）".into(),
                tier: Tier::Online,
                path: PathBuf::from("/nonexistent-primary"),
                kind: TargetKind::LocalDir,
            });
            let (primary_generations, primary_error) = match primary {
                None => {
                    (None, Some(Bilingual::new("主リポジトリが登録されていません", "no primary repository registered")))
                }
                Some(p) => match recorded_generations(p) {
                    Some(g) => (Some(g), None),
                    None => (
                        None,
                        Some(Bilingual::new(
                            "世代をまだ読んでいません。mamori backup status を実行してください",
                            "generations not read yet: run mamori backup status",
                        )),
                    ),
                },
            };
            let targets = i
                .targets
                .iter()
                .filter(|t| !t.data.is_primary)
                .map(|t| {
                    let probe = probe_target(&engine_target(t));
                    let generations_now = if probe.repository_present { recorded_generations(t) } else { None };
                    let last_detach =
                        detaches.iter().filter(|d| d.target_id == t.data.name).max_by_key(|d| d.at).cloned();
                    TargetFacts { target: engine_target(t), probe, generations_now, last_detach }
                })
                .collect();
            (
                PolicyFacts {
                    now,
                    primary: primary_target.clone(),
                    primary_generations,
                    primary_error,
                    encryption: primary.and_then(|_| mamori_backup::policy::encryption_facts(&primary_target.path)),
                    targets,
                    escrow,
                    last_drill,
                    systems,
                },
                false,
            )
        }
    };
    facts.now = now;
    let policy = evaluate(&facts, &rules);
    let mut read_now = Vec::new();
    if live {
        if let (Some(p), Some(g)) = (primary_row, &facts.primary_generations) {
            read_now.push((p.data.name.clone(), g.clone()));
        }
        for t in &facts.targets {
            if let Some(g) = &t.generations_now {
                read_now.push((t.target.id.clone(), g.clone()));
            }
        }
    }
    let mut targets = Vec::new();
    for row in &i.targets {
        let (probe, generations, source) = if row.data.is_primary {
            let probe = probe_target(&engine_target(row));
            let source = if live {
                Bilingual::new("いま読み取り", "read now")
            } else {
                row.generations_at
                    .as_deref()
                    .map(|a| Bilingual::new(format!("{} の記録", jst(a)), format!("as read at {}", jst(a))))
                    .unwrap_or_default()
            };
            (probe, facts.primary_generations.clone(), source)
        } else {
            let tf = facts.targets.iter().find(|t| t.target.id == row.data.name);
            let probe = tf.map(|t| t.probe.clone()).unwrap_or_else(|| probe_target(&engine_target(row)));
            let (g, source) = match tf {
                Some(t) if t.generations_now.is_some() => (
                    t.generations_now.clone(),
                    if live {
                        Bilingual::new("いま読み取り", "read now")
                    } else {
                        row.generations_at
                            .as_deref()
                            .map(|a| Bilingual::new(format!("{} の記録", jst(a)), format!("as read at {}", jst(a))))
                            .unwrap_or_default()
                    },
                ),
                Some(t) => match &t.last_detach {
                    Some(d) => {
                        let at = jst(&d.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                        (
                            Some(d.generations.clone()),
                            Bilingual::new(
                                format!("取り外し時（{at}）の記録"),
                                format!("as recorded at detach ({at})"),
                            ),
                        )
                    }
                    None => (None, Bilingual::default()),
                },
                None => (None, Bilingual::default()),
            };
            (probe, g, source)
        };
        targets.push(TargetView { target: row.clone(), probe, generations, generations_source: source });
    }
    let generations_note = if live {
        Bilingual::new("世代数は各リポジトリをいま読み取った結果です", "generations read from the repositories now")
    } else {
        Bilingual::new(
            "世代数は最後に mamori backup（run / status / copy）がリポジトリを読んだ時点の記録です。保管先の状態（読み取り専用・変更不可・取り外し）はいま調べた結果です",
            "generations as last read by mamori backup (run / status / copy); the targets' state (read-only, immutable, detached) is probed now",
        )
    };
    BackupStatus { now, policy, live, generations_note, alerts: alerts(i, now), targets, read_now }
}

/// Stores the generations a live status read, so pages without the password show them.
pub async fn remember_generations(store: &Store, facility_id: i64, status: &BackupStatus) -> Result<()> {
    let at = status.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for (name, g) in &status.read_now {
        let json = serde_json::to_string(g).unwrap_or_else(|_| "[]".into());
        store.set_target_generations(facility_id, name, &json, &at).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- the BCP's backup table (2.2.4)

/// One row of the BCP's backup table (バックアップ一覧, BCP 2.2.4), per backed-up system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupTableRow {
    pub system: String,
    /// What is backed up: dump type and source.
    pub what: String,
    /// Where: the targets with their tiers.
    pub where_kept: String,
    /// Generations of this system in the primary repository (as last read), if known.
    pub generations: Option<usize>,
    /// Held on an offline / immutable target (as last read or recorded at detach).
    pub offline: bool,
    /// Held on an off-site target.
    pub offsite: bool,
    /// Last successful backup (RFC 3339).
    pub last_run: Option<String>,
    /// Last restore drill of this system (RFC 3339) and whether it matched.
    pub last_drill: Option<(String, bool)>,
    pub schedule: String,
    pub responsible: String,
    pub recovery_priority: Option<i64>,
    /// The restore procedure recorded for the set (復旧方法).
    pub restore_procedure: String,
}

/// The backup table of the BCP, one row per backup set, in recovery-priority order.
pub async fn backup_table(store: &Store, facility: &Facility) -> Result<Vec<BackupTableRow>> {
    let fid = facility.id;
    let sets = store.backup_sets(fid).await?;
    let targets = store.backup_targets(fid).await?;
    let media = store.media_events(fid, 200).await?;
    let where_kept = targets
        .iter()
        .map(|t| format!("{}（{}）", t.data.name, tier_label(&t.data.tier).0))
        .collect::<Vec<_>>()
        .join("、");
    let holds = |tier: &str, system: &str| {
        targets.iter().filter(|t| t.data.tier == tier).any(|t| {
            let recorded = recorded_generations(t).unwrap_or_default();
            let at_detach = media
                .iter()
                .filter(|e| e.data.target_name == t.data.name)
                .find_map(detach_record)
                .map(|d| d.generations)
                .unwrap_or_default();
            recorded.iter().chain(at_detach.iter()).any(|g| g.system == system)
        })
    };
    let mut rows = Vec::new();
    for s in &sets {
        let d = &s.data;
        let primary = targets.iter().find(|t| t.data.is_primary);
        let generations = primary
            .and_then(recorded_generations)
            .map(|g| g.iter().filter(|g| g.system == d.system && g.dump_type == d.dump_type).count());
        let last_run = store.last_backup_run(fid, "backup", Some(&d.system), true).await?.map(|r| r.data.started_at);
        let last_drill =
            store.last_backup_run(fid, "drill", Some(&d.system), false).await?.map(|r| (r.data.started_at, r.data.ok));
        rows.push(BackupTableRow {
            system: d.system.clone(),
            what: format!(
                "{}（{}: {}）",
                d.dump_type,
                if d.source_kind == "command" { "ダンプコマンド" } else { "取込フォルダ" },
                d.source
            ),
            where_kept: where_kept.clone(),
            generations,
            offline: holds("offline", &d.system),
            offsite: holds("offsite", &d.system),
            last_run,
            last_drill,
            schedule: d.schedule.clone(),
            responsible: d.responsible.clone(),
            recovery_priority: d.recovery_priority,
            restore_procedure: d.restore_procedure.clone(),
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------- evidence

/// Evidence provider (see [`crate::evidence`]): checklist 3-(2), BCP table 1-2 and 4-3, G-MIS q6–q9.
/// Reads only what is stored and probes the targets (statvfs, file flags, mountinfo): no password needed.
pub async fn evidence(store: &Store, facility: &Facility, today: NaiveDate) -> Result<Vec<Evidence>> {
    let inputs = status_inputs(store, facility).await?;
    if inputs.sets.is_empty() && inputs.targets.is_empty() {
        let missing = |target, item: &str| Evidence {
            target,
            item: item.into(),
            source: "backup",
            state: EvidenceState::Missing,
            suggests: None,
            reason_ja: "mamori にバックアップの設定（対象システム・保管先）がまだ登録されていません。".into(),
            reason_en: "No backup sets or targets are registered in mamori yet.".into(),
            link: Some("backup".into()),
            as_of: None,
        };
        return Ok(vec![
            missing(EvidenceTarget::Checklist, "3-(2)"),
            missing(EvidenceTarget::BcpTable, "1-2"),
            missing(EvidenceTarget::BcpTable, "4-3"),
            missing(EvidenceTarget::Gmis, "q6"),
            missing(EvidenceTarget::Gmis, "q7"),
            missing(EvidenceTarget::Gmis, "q8"),
            missing(EvidenceTarget::Gmis, "q9"),
        ]);
    }
    let now = today.and_hms_opt(12, 0, 0).map(|t| t.and_utc()).unwrap_or_else(Utc::now);
    let st = evaluate_status(&inputs, None, now);
    Ok(evidence_from(&inputs, &st))
}

fn holds(st: &BackupStatus, id: &str) -> Option<bool> {
    st.policy.point(id).and_then(|p| p.holds)
}

/// The evidence items from a status (pure; tested with made-up inputs).
pub fn evidence_from(i: &StatusInputs, st: &BackupStatus) -> Vec<Evidence> {
    let rules = rules();
    let as_of = i.runs.first().map(|r| r.data.started_at.chars().take(10).collect::<String>());
    let ev = |target, item: &str, state, suggests, ja: String, en: String| Evidence {
        target,
        item: item.into(),
        source: "backup",
        state,
        suggests,
        reason_ja: ja,
        reason_en: en,
        link: Some("backup".into()),
        as_of: as_of.clone(),
    };
    let systems: Vec<&str> = i.last_backup.iter().map(|(s, _, _)| s.as_str()).collect();
    let recent_ok: Vec<&str> = i
        .last_backup
        .iter()
        .filter(|(_, _, ok)| {
            ok.as_ref().and_then(|r| age_days(&r.data.started_at, st.now)).is_some_and(|d| d < BACKUP_MAX_AGE_DAYS)
        })
        .map(|(s, _, _)| s.as_str())
        .collect();
    let all_backed = !systems.is_empty() && recent_ok.len() == systems.len();
    let any_failed = i.last_backup.iter().any(|(_, l, _)| l.as_ref().is_some_and(|l| !l.data.ok));
    let drill_ok = holds(st, "restore_drill") == Some(true);
    let procedures = i.sets.iter().filter(|s| !s.data.restore_procedure.trim().is_empty()).count();
    let backups_ja = if all_backed {
        format!("{} のバックアップが {} 日以内に成功しています", systems.join("、"), BACKUP_MAX_AGE_DAYS)
    } else {
        format!(
            "{BACKUP_MAX_AGE_DAYS} 日以内に成功したバックアップ: {} / 対象 {}",
            if recent_ok.is_empty() { "なし".to_string() } else { recent_ok.join("、") },
            systems.join("、")
        )
    };
    let backups_en = if all_backed {
        format!("successful backups within {BACKUP_MAX_AGE_DAYS} days for {}", systems.join(", "))
    } else {
        format!("{} of {} systems backed up within {BACKUP_MAX_AGE_DAYS} days", recent_ok.len(), systems.len())
    };
    let drill_ja = st.policy.point("restore_drill").map(|p| p.evidence.ja.clone()).unwrap_or_default();
    let (state_32, sug_32) = if any_failed {
        (EvidenceState::Contradicts, Some(false))
    } else if all_backed && drill_ok && procedures == i.sets.len() {
        (EvidenceState::Supports, Some(true))
    } else if all_backed || drill_ok {
        (EvidenceState::Partial, None)
    } else {
        (EvidenceState::Contradicts, Some(false))
    };
    let reason_ja = format!("{backups_ja}。{drill_ja}。復旧手順の記載 {procedures}/{} システム。", i.sets.len());
    let reason_en = format!(
        "{backups_en}; restore drill within {} days: {}; restore procedure written for {procedures} of {} systems.",
        rules.drill_period_days,
        if drill_ok { "yes" } else { "no" },
        i.sets.len()
    );
    let mut out = vec![
        ev(EvidenceTarget::Checklist, "3-(2)", state_32, sug_32, reason_ja.clone(), reason_en.clone()),
        ev(EvidenceTarget::BcpTable, "1-2", state_32, sug_32, reason_ja, reason_en),
    ];
    out.push(if drill_ok {
        ev(
            EvidenceTarget::BcpTable,
            "4-3",
            EvidenceState::Supports,
            Some(true),
            format!("バックアップからの復元を訓練で確認済み: {drill_ja}"),
            "a restore from the backup was proven bit for bit by a drill within the period".into(),
        )
    } else {
        ev(
            EvidenceTarget::BcpTable,
            "4-3",
            EvidenceState::Contradicts,
            Some(false),
            format!("期限内に成功した復元訓練がありません: {drill_ja}"),
            format!("no successful restore drill within {} days", rules.drill_period_days),
        )
    });
    // G-MIS q6: backups are made.
    out.push(if all_backed {
        ev(EvidenceTarget::Gmis, "q6", EvidenceState::Supports, Some(true), backups_ja.clone(), backups_en.clone())
    } else if recent_ok.is_empty() {
        ev(EvidenceTarget::Gmis, "q6", EvidenceState::Contradicts, Some(false), backups_ja.clone(), backups_en.clone())
    } else {
        ev(EvidenceTarget::Gmis, "q6", EvidenceState::Partial, None, backups_ja.clone(), backups_en.clone())
    });
    let point = |id: &str, item: &str, en: &str| {
        let p = st.policy.point(id);
        let (state, sug) = match p.and_then(|p| p.holds) {
            Some(true) => (EvidenceState::Supports, Some(true)),
            Some(false) => (EvidenceState::Contradicts, Some(false)),
            None => (EvidenceState::Partial, None),
        };
        ev(EvidenceTarget::Gmis, item, state, sug, p.map(|p| p.evidence.ja.clone()).unwrap_or_default(), en.to_string())
    };
    out.push(point("generations", "q7", "generations counted per system in the primary repository (need 3 or more)"));
    // q8: stored so that one event does not destroy every copy: off-site OR offline generations.
    let off = [holds(st, "offline_generations"), holds(st, "offsite_copy")];
    let ja8 = ["offline_generations", "offsite_copy"]
        .iter()
        .filter_map(|id| st.policy.point(id).map(|p| p.evidence.ja.clone()))
        .collect::<Vec<_>>()
        .join("。");
    out.push(if off.contains(&Some(true)) {
        ev(
            EvidenceTarget::Gmis,
            "q8",
            EvidenceState::Supports,
            Some(true),
            ja8,
            "generations held offline (read-only / immutable / detached) or off-site".into(),
        )
    } else if off.iter().all(|h| *h == Some(false)) {
        ev(
            EvidenceTarget::Gmis,
            "q8",
            EvidenceState::Contradicts,
            Some(false),
            ja8,
            "no generation is offline or off-site".into(),
        )
    } else {
        ev(EvidenceTarget::Gmis, "q8", EvidenceState::Partial, None, ja8, "offline / off-site state unknown".into())
    });
    out.push(point("encryption", "q9", "repository config and data encrypted (restic format, AES-256)"));
    out
}

// ---------------------------------------------------------------- documents

/// Output format of the plan and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Pdf,
    Xlsx,
}

impl DocFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pdf" => Some(Self::Pdf),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// A document built from the facility's data: the same content as a [`Doc`] (PDF) and as sheets (xlsx).
#[derive(Debug, Clone)]
pub struct BackupDocument {
    pub doc: Doc,
    pub sheets: Vec<OfficialSheet>,
    /// File name without extension (e.g. バックアップ計画書_みまもり総合病院).
    pub file_stem: String,
}

impl BackupDocument {
    pub fn render(&self, format: DocFormat) -> std::result::Result<Vec<u8>, ReportError> {
        match format {
            DocFormat::Pdf => self.doc.to_pdf(&PdfRenderer::new()?),
            DocFormat::Xlsx => mamori_report::write_xlsx(&self.sheets),
        }
    }
}

fn col(header: &str, width: f64) -> Column {
    Column { header: header.into(), width, kind: ColumnKind::Text }
}

fn text_rows(rows: &[Vec<String>]) -> Vec<Vec<CellValue>> {
    rows.iter().map(|r| r.iter().map(|c| CellValue::Text(c.clone())).collect()).collect()
}

fn sheet(name: &str, title: &str, notes: Vec<String>, header: &[(&str, f64)], rows: &[Vec<String>]) -> OfficialSheet {
    OfficialSheet {
        sheet_name: Some(name.into()),
        title: title.into(),
        notes,
        columns: header.iter().map(|(h, w)| col(h, *w)).collect(),
        rows: text_rows(rows),
        landscape: true,
    }
}

fn table(header: &[(&str, f64)], rows: Vec<Vec<String>>) -> Block {
    Block::Table { header: header.iter().map(|(h, _)| h.to_string()).collect(), rows }
}

fn set_rows(sets: &[BackupSetRow]) -> Vec<Vec<String>> {
    sets.iter()
        .map(|s| {
            let d = &s.data;
            vec![
                d.recovery_priority.map(|p| p.to_string()).unwrap_or_else(|| "未設定".into()),
                d.system.clone(),
                d.dump_type.clone(),
                format!("{}: {}", if d.source_kind == "command" { "ダンプコマンド" } else { "取込フォルダ" }, d.source),
                if d.schedule.is_empty() { "未設定".into() } else { d.schedule.clone() },
                if d.responsible.is_empty() { "未設定".into() } else { d.responsible.clone() },
            ]
        })
        .collect()
}

const SET_HEADER: [(&str, f64); 6] =
    [("復旧優先度", 10.0), ("システム", 18.0), ("種類", 8.0), ("取得元", 36.0), ("実施時期", 14.0), ("担当", 18.0)];
const TARGET_HEADER: [(&str, f64); 5] =
    [("保管先", 14.0), ("区分", 20.0), ("種類", 20.0), ("場所（パス）", 34.0), ("媒体ID", 20.0)];

fn target_rows(targets: &[BackupTargetRow]) -> Vec<Vec<String>> {
    targets
        .iter()
        .map(|t| {
            let d = &t.data;
            vec![
                format!("{}{}", d.name, if d.is_primary { "（主）" } else { "" }),
                tier_label(&d.tier).0.into(),
                kind_label(&d.kind).0.into(),
                d.path.clone(),
                d.media_ids.join("、"),
            ]
        })
        .collect()
}

fn today_ja(now: DateTime<Utc>) -> String {
    let jst = now.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).expect("valid offset"));
    jst.format("%Y年%m月%d日").to_string()
}

/// The backup plan (バックアップ計画書): targets, schedule, generations, who does what, the restore procedure
/// per system, recovery priority. Missing data is shown as missing, never invented.
pub async fn plan_document(store: &Store, facility: &Facility, now: DateTime<Utc>) -> Result<BackupDocument> {
    let fid = facility.id;
    let rules = rules();
    let sets = store.backup_sets(fid).await?;
    let targets = store.backup_targets(fid).await?;
    let escrow = store.key_escrow(fid).await?;
    let mut b = Vec::new();
    b.push(Block::Heading { level: 1, text: "目的と方針".into() });
    b.push(Block::Paragraph {
        text: format!(
            "サイバー攻撃（ランサムウェア等）や災害で医療情報システムのデータが失われ、又は使えなくなった場合にも診療を継続し復旧できるよう、次の方針でバックアップを行う。\n\n\
             ・世代管理: 各システム {} 世代以上を保持する（最新 {} 世代は削除しない）。\n\
             ・3世代目以降はオフライン（物理的あるいは論理的に書き込み不可の状態）で保管する。\n\
             ・遠隔地（院外）にも {} 日以内の世代を保管する。\n\
             ・バックアップは暗号化する（restic 形式、AES-256）。パスワードの保管者を記録する。\n\
             ・整合性検査を毎日行い、{} 日で全データを読み取る。\n\
             ・復元訓練を {} 日ごとに行い、取込時の SHA-256 と全ファイルを照合する。",
            rules.min_generations,
            rules.min_generations,
            rules.offsite_max_age_days,
            CHECK_PERIOD_DAYS,
            rules.drill_period_days
        ),
    });
    b.push(Block::Heading { level: 1, text: "対象システムと復旧優先度".into() });
    if sets.is_empty() {
        b.push(Block::Missing {
            text: "バックアップ対象のシステムが登録されていません（mamori backup set add）。".into(),
        });
    } else {
        b.push(table(&SET_HEADER, set_rows(&sets)));
    }
    b.push(Block::Heading { level: 1, text: "保管先".into() });
    if targets.is_empty() {
        b.push(Block::Missing {
            text: "保管先が登録されていません（mamori backup target add）。".into()
        });
    } else {
        b.push(table(&TARGET_HEADER, target_rows(&targets)));
        for tier in ["online", "offline", "offsite"] {
            if !targets.iter().any(|t| t.data.tier == tier) {
                b.push(Block::Missing {
                    text: format!("{} の保管先が登録されていません。", tier_label(tier).0)
                });
            }
        }
    }
    b.push(Block::Heading { level: 1, text: "実施時期と世代管理".into() });
    b.push(Block::Paragraph {
        text: format!(
            "各システムのバックアップは上表の実施時期に主リポジトリへ取得し、続けてオフライン・遠隔地の保管先へ複製する。複製後は取り外し媒体を取り外し（媒体IDと時刻を記録）、又は変更不可属性を設定する。\n\n\
             古い世代の削除（世代整理）は管理用パスワードでのみ行い、最新 {} 世代は必ず残す。日常のバックアップ用パスワードでは削除できない。",
            rules.min_generations
        ),
    });
    b.push(Block::Heading { level: 1, text: "役割分担".into() });
    let mut roles: Vec<Vec<String>> = sets
        .iter()
        .map(|s| {
            vec![
                format!("{} のバックアップ・複製・媒体の取り外し", s.data.system),
                if s.data.responsible.is_empty() { "未設定".into() } else { s.data.responsible.clone() },
            ]
        })
        .collect();
    if let Some(k) = &escrow {
        roles.push(vec![
            format!("パスワードの保管（{}）", if k.where_kept.is_empty() { "保管場所未記載" } else { &k.where_kept }),
            k.holders.join("、"),
        ]);
    }
    b.push(table(&[("役割", 50.0), ("担当", 30.0)], roles));
    if escrow.is_none() {
        b.push(Block::Missing {
            text: "パスワードの保管者が記録されていません。パスワードを失うとバックアップは復元できません（mamori backup escrow）。"
                .into(),
        });
    }
    b.push(Block::Heading { level: 1, text: "復旧手順".into() });
    for s in &sets {
        b.push(Block::Heading { level: 2, text: s.data.system.clone() });
        if s.data.restore_procedure.trim().is_empty() {
            b.push(Block::Missing {
                text: format!(
                    "{} の復旧手順が登録されていません（mamori backup set add --restore-procedure）。",
                    s.data.system
                ),
            });
        } else {
            b.push(Block::Paragraph { text: s.data.restore_procedure.clone() });
        }
        b.push(Block::Paragraph {
            text: format!(
                "mamori による復元: 感染していない端末で、パスワード保管者の立会いのもと mamori backup drill --system {} --scratch <空の作業場所> を実行し、取込時のマニフェストと一致することを確認してから、事業者の手順でシステムへ戻す。",
                s.data.system
            ),
        });
    }
    if sets.is_empty() {
        b.push(Block::Missing { text: "対象システムがないため復旧手順はありません。".into() });
    }
    b.push(Block::Heading { level: 1, text: "点検と訓練".into() });
    b.push(table(
        &[("項目", 30.0), ("頻度", 20.0), ("方法", 50.0)],
        vec![
            vec![
                "整合性検査".into(),
                "毎日".into(),
                format!("mamori backup check --read-data rolling（{CHECK_PERIOD_DAYS} 日で全データ）"),
            ],
            vec![
                "復元訓練".into(),
                format!("{} 日ごと", rules.drill_period_days),
                "mamori backup drill（SHA-256 で全ファイル照合）".into(),
            ],
            vec!["方針の確認".into(), "毎日".into(), "mamori backup status（世代数・保管先の実際の状態）".into()],
        ],
    ));
    let doc = Doc {
        title: "バックアップ計画書".into(),
        facility_name: facility.data.name.clone(),
        subtitle: Some("医療情報システムのオフラインバックアップ / Backup plan".into()),
        date: Some(format!("{} 作成", today_ja(now))),
        blocks: b,
    };
    let sheets = vec![
        sheet(
            "対象システム",
            "バックアップ計画書 — 対象システムと復旧優先度",
            vec![facility.data.name.clone()],
            &SET_HEADER,
            &set_rows(&sets),
        ),
        sheet(
            "保管先",
            "バックアップ計画書 — 保管先",
            vec![facility.data.name.clone()],
            &TARGET_HEADER,
            &target_rows(&targets),
        ),
        sheet(
            "復旧手順",
            "バックアップ計画書 — 復旧手順",
            vec![facility.data.name.clone()],
            &[("システム", 20.0), ("復旧手順", 80.0)],
            &sets
                .iter()
                .map(|s| {
                    vec![
                        s.data.system.clone(),
                        if s.data.restore_procedure.is_empty() {
                            "未登録".into()
                        } else {
                            s.data.restore_procedure.clone()
                        },
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    ];
    Ok(BackupDocument { doc, sheets, file_stem: format!("バックアップ計画書_{}", facility.data.name) })
}

const RUN_HEADER: [(&str, f64); 7] = [
    ("開始", 16.0),
    ("操作", 12.0),
    ("システム", 16.0),
    ("保管先", 12.0),
    ("結果", 8.0),
    ("データ量", 10.0),
    ("スナップショット / 内容", 36.0),
];

fn run_rows(runs: &[BackupRunRow]) -> Vec<Vec<String>> {
    runs.iter()
        .map(|r| {
            let d = &r.data;
            vec![
                jst(&d.started_at),
                op_label(&d.op).0.into(),
                d.system.clone(),
                d.target_name.clone(),
                if d.ok { "成功".into() } else { "失敗".into() },
                if d.bytes > 0 { human_bytes(d.bytes) } else { String::new() },
                if d.ok { d.snapshot_id.chars().take(8).collect() } else { d.error.clone() },
            ]
        })
        .collect()
}

/// The implementation report (バックアップ実施報告書) of a period `[from, to]` (dates, Japan time is close
/// enough at day granularity: the period is taken in UTC): what ran, the results, the drills, the media
/// rotation and the policy as last evaluated.
pub async fn report_document(
    store: &Store,
    facility: &Facility,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<BackupDocument> {
    let fid = facility.id;
    let end = to.succ_opt().unwrap_or(to);
    let runs = store.backup_runs_between(fid, &from.to_string(), &end.to_string()).await?;
    let media: Vec<MediaEventRow> = store
        .media_events(fid, 1000)
        .await?
        .into_iter()
        .filter(|e| e.data.at.as_str() >= from.to_string().as_str() && e.data.at.as_str() < end.to_string().as_str())
        .collect();
    let inputs = status_inputs(store, facility).await?;
    let st = evaluate_status(&inputs, None, now);
    let count = |op: &str, ok: bool| runs.iter().filter(|r| r.data.op == op && r.data.ok == ok).count();
    let mut b = Vec::new();
    b.push(Block::Heading { level: 1, text: "概要".into() });
    b.push(Block::Paragraph {
        text: format!(
            "対象期間: {from} 〜 {to}\n\nバックアップ 成功 {} 回・失敗 {} 回、整合性検査 成功 {} 回・異常 {} 回、復元訓練 一致 {} 回・不一致 {} 回、複製 {} 回、媒体の取り外し {} 回。",
            count("backup", true),
            count("backup", false),
            count("check", true),
            count("check", false),
            count("drill", true),
            count("drill", false),
            runs.iter().filter(|r| r.data.op == "copy").count(),
            media.iter().filter(|e| e.data.event == "detach").count()
        ),
    });
    b.push(Block::Heading { level: 1, text: "方針の確認結果".into() });
    b.push(Block::Paragraph { text: st.generations_note.to_string() });
    let policy_rows: Vec<Vec<String>> = st
        .policy
        .points
        .iter()
        .map(|p| {
            vec![
                point_label(&p.id).0.into(),
                match p.holds {
                    Some(true) => "満たす".into(),
                    Some(false) => "満たさない".into(),
                    None => "不明".into(),
                },
                // The document prints both languages, as every reason in it.
                p.evidence.to_string(),
            ]
        })
        .collect();
    let policy_header = [("確認項目", 24.0), ("結果", 10.0), ("根拠", 70.0)];
    b.push(table(&policy_header, policy_rows.clone()));
    b.push(Block::Heading { level: 1, text: "遅延・失敗".into() });
    if st.alerts.is_empty() {
        b.push(Block::Paragraph { text: "遅延・失敗はありません。".into() });
    } else {
        b.push(table(
            &[("区分", 10.0), ("内容", 90.0)],
            st.alerts
                .iter()
                .map(|a| vec![if a.severity == "error" { "失敗" } else { "遅延" }.into(), a.ja.clone()])
                .collect(),
        ));
    }
    b.push(Block::Heading { level: 1, text: "実施記録".into() });
    if runs.is_empty() {
        b.push(Block::Missing { text: "対象期間の実施記録がありません。".into() });
    } else {
        b.push(table(&RUN_HEADER, run_rows(&runs)));
    }
    b.push(Block::Heading { level: 1, text: "復元訓練".into() });
    let drills: Vec<Vec<String>> = runs
        .iter()
        .filter(|r| r.data.op == "drill")
        .map(|r| {
            let d = drill_of(r);
            vec![
                jst(&r.data.started_at),
                r.data.system.clone(),
                d.as_ref().map(|d| d.snapshot_time.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default(),
                d.as_ref().map(|d| d.files.to_string()).unwrap_or_default(),
                human_bytes(r.data.bytes),
                d.as_ref().map(|d| d.mismatches.len().to_string()).unwrap_or_default(),
                if r.data.ok { "一致".into() } else { format!("不一致: {}", r.data.error) },
            ]
        })
        .collect();
    let drill_header = [
        ("実施", 16.0),
        ("システム", 16.0),
        ("世代（UTC）", 16.0),
        ("ファイル数", 10.0),
        ("データ量", 10.0),
        ("不一致", 8.0),
        ("結果", 24.0),
    ];
    if drills.is_empty() {
        b.push(Block::Missing { text: "対象期間に復元訓練は行われていません。".into() });
    } else {
        b.push(table(&drill_header, drills.clone()));
    }
    b.push(Block::Heading { level: 1, text: "媒体の取り外し・取り付け".into() });
    let media_rows: Vec<Vec<String>> = media
        .iter()
        .rev()
        .map(|e| {
            vec![
                jst(&e.data.at),
                e.data.target_name.clone(),
                e.data.media_id.clone(),
                if e.data.event == "detach" { "取り外し".into() } else { "取り付け".into() },
                e.data.by_user.clone(),
                e.data.evidence.clone(),
            ]
        })
        .collect();
    let media_header =
        [("日時", 16.0), ("保管先", 12.0), ("媒体ID", 12.0), ("操作", 10.0), ("実施者", 12.0), ("確認結果", 40.0)];
    if media_rows.is_empty() {
        b.push(Block::Paragraph { text: "対象期間に記録はありません。".into() });
    } else {
        b.push(table(&media_header, media_rows.clone()));
    }
    let doc = Doc {
        title: "バックアップ実施報告書".into(),
        facility_name: facility.data.name.clone(),
        subtitle: Some(format!("対象期間 {from} 〜 {to} / Backup report")),
        date: Some(format!("{} 作成", today_ja(now))),
        blocks: b,
    };
    let period = format!("{} 対象期間 {from} 〜 {to}", facility.data.name);
    let sheets = vec![
        sheet(
            "方針の確認",
            "バックアップ実施報告書 — 方針の確認結果",
            vec![period.clone()],
            &policy_header,
            &policy_rows,
        ),
        sheet("実施記録", "バックアップ実施報告書 — 実施記録", vec![period.clone()], &RUN_HEADER, &run_rows(&runs)),
        sheet("復元訓練", "バックアップ実施報告書 — 復元訓練", vec![period.clone()], &drill_header, &drills),
        sheet("媒体", "バックアップ実施報告書 — 媒体の取り外し・取り付け", vec![period], &media_header, &media_rows),
    ];
    Ok(BackupDocument {
        doc, sheets, file_stem: format!("バックアップ実施報告書_{}_{from}_{to}", facility.data.name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use mamori_store::backup::{BackupRunRow, NewBackupRun};

    fn run(op: &str, system: &str, days_ago: i64, ok: bool, now: DateTime<Utc>) -> BackupRunRow {
        let at = (now - Duration::days(days_ago)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        BackupRunRow {
            id: 1,
            data: NewBackupRun {
                op: op.into(),
                system: system.into(),
                started_at: at.clone(),
                finished_at: at,
                ok,
                error: if ok { String::new() } else { "失敗".into() },
                ..Default::default()
            },
        }
    }

    fn inputs(now: DateTime<Utc>) -> StatusInputs {
        let set = BackupSetRow {
            id: 1,
            data: NewBackupSet {
                system: "電子カルテ".into(),
                source_kind: "landing".into(),
                source: "/srv/dump".into(),
                dump_type: "full".into(),
                restore_procedure: "手順".into(),
                ..Default::default()
            },
            created_by: String::new(),
            created_at: String::new(),
        };
        let primary = BackupTargetRow {
            id: 1,
            data: NewBackupTarget {
                name: "T1".into(),
                tier: "online".into(),
                kind: "local_dir".into(),
                path: "/nonexistent/t1".into(),
                is_primary: true,
                ..Default::default()
            },
            generations_json: None,
            generations_at: None,
            created_by: String::new(),
            created_at: String::new(),
        };
        StatusInputs {
            facility_id: 1,
            sets: vec![set],
            targets: vec![primary],
            escrow: None,
            runs: vec![],
            media: vec![],
            last_backup: vec![(
                "電子カルテ".into(),
                Some(run("backup", "電子カルテ", 0, true, now)),
                Some(run("backup", "電子カルテ", 0, true, now)),
            )],
            last_check: Some(run("check", "", 1, true, now)),
            last_ok_check: Some(run("check", "", 1, true, now)),
            last_drill: None,
        }
    }

    #[test]
    fn fresh_backups_and_checks_raise_only_the_missing_drill() {
        let now = Utc::now();
        let a = alerts(&inputs(now), now);
        assert_eq!(a.len(), 1, "{a:?}");
        assert!(a[0].ja.contains("復元訓練の記録がありません"));
    }

    #[test]
    fn late_failed_and_overdue_work_is_reported() {
        let now = Utc::now();
        let mut i = inputs(now);
        i.last_backup[0].1 = Some(run("backup", "電子カルテ", 0, false, now));
        i.last_backup[0].2 = Some(run("backup", "電子カルテ", 3, true, now));
        i.last_ok_check = Some(run("check", "", 9, true, now));
        i.last_drill = Some(run("drill", "電子カルテ", 120, true, now));
        let a = alerts(&i, now);
        let text: Vec<&str> = a.iter().map(|a| a.ja.as_str()).collect();
        assert!(text.iter().any(|t| t.contains("最後のバックアップ") && t.contains("失敗")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("3 日間バックアップが成功していません")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("整合性検査が 9 日間")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("最後の復元訓練から 120 日")), "{text:?}");
        i.targets.clear();
        assert!(alerts(&i, now).iter().any(|a| a.severity == "error" && a.ja.contains("主リポジトリ")));
    }

    #[test]
    fn without_password_or_listing_generations_are_unknown_and_evidence_says_so() {
        let now = Utc::now();
        let i = inputs(now);
        let st = evaluate_status(&i, None, now);
        assert!(!st.live);
        assert_eq!(st.policy.point("generations").unwrap().holds, None);
        let ev = evidence_from(&i, &st);
        let q7 = ev.iter().find(|e| e.item == "q7").unwrap();
        assert_eq!(q7.state, EvidenceState::Partial);
        let q6 = ev.iter().find(|e| e.item == "q6").unwrap();
        assert_eq!(q6.suggests, Some(true), "a backup ran today");
        let c = ev.iter().find(|e| e.item == "3-(2)").unwrap();
        assert_eq!(c.state, EvidenceState::Partial, "backups but no drill: {c:?}");
        assert!(ev.iter().all(|e| e.source == "backup"));
    }
}
