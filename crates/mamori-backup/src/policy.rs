//! Backup policy checked against reality (バックアップ方針の実地確認).
//!
//! [`gather_facts`] collects facts from the repositories and the kernel; [`evaluate`] is a pure
//! function from facts to a [`PolicyReport`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::generations;
use crate::targets::{OfflineState, TargetProbe, probe_target};
use crate::types::*;

/// Thresholds of the policy (方針の基準値).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyRules {
    /// "3世代以上".
    pub min_generations: usize,
    /// A restore drill must have passed within this many days.
    pub drill_period_days: i64,
    /// The off-site copy must hold a generation at most this old.
    pub offsite_max_age_days: i64,
}

impl Default for PolicyRules {
    fn default() -> Self {
        Self { min_generations: 3, drill_period_days: 90, offsite_max_age_days: 31 }
    }
}

/// Who holds the repository password (鍵の預託先). Recorded by people, shown as recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyEscrow {
    pub holders: Vec<String>,
    pub recorded_at: DateTime<Utc>,
    pub where_kept: String,
}

/// Encryption as read from the repository files (暗号化の実際).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncryptionFacts {
    /// The config file is not readable plaintext (restic encrypts it with the master key).
    pub config_encrypted: bool,
    pub key_files: usize,
}

/// One target and what was found on it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetFacts {
    pub target: Target,
    pub probe: TargetProbe,
    /// Generations read from the target now (when it is reachable).
    pub generations_now: Option<Vec<Generation>>,
    /// The last detach record of this target, if any.
    pub last_detach: Option<DetachRecord>,
}

/// Everything [`evaluate`] looks at.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyFacts {
    pub now: DateTime<Utc>,
    pub primary: Target,
    /// Generations counted from the primary repository; `None` when it could not be read.
    pub primary_generations: Option<Vec<Generation>>,
    pub primary_error: Option<Bilingual>,
    pub encryption: Option<EncryptionFacts>,
    pub targets: Vec<TargetFacts>,
    pub escrow: Option<KeyEscrow>,
    pub last_drill: Option<DrillReport>,
    /// Systems that must be backed up (from configuration); systems seen in the repository are
    /// added.
    pub systems: Vec<String>,
}

/// One policy point (方針の確認項目).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyPoint {
    pub id: String,
    /// `Some(true)` holds, `Some(false)` does not, `None` unknown.
    pub holds: Option<bool>,
    /// What was looked at and what it showed.
    pub evidence: Bilingual,
}

/// Result of the policy check (方針確認の結果).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    pub at: DateTime<Utc>,
    pub points: Vec<PolicyPoint>,
}

impl PolicyReport {
    pub fn all_hold(&self) -> bool {
        self.points.iter().all(|p| p.holds == Some(true))
    }
    pub fn point(&self, id: &str) -> Option<&PolicyPoint> {
        self.points.iter().find(|p| p.id == id)
    }
}

/// Reads the encryption facts of a repository directory.
pub fn encryption_facts(repo: &Path) -> Option<EncryptionFacts> {
    if crate::engine::is_rest(repo) {
        // The same two facts, read over the REST protocol.
        use rustic_core::ReadBackend;
        use rustic_core::repofile::FileType;
        let be = crate::engine::backends(repo).ok()?.repository();
        let config = be.read_full(FileType::Config, &rustic_core::Id::default()).ok()?;
        let plaintext = serde_json::from_slice::<serde_json::Value>(&config).is_ok();
        let key_files = be.list(FileType::Key).map(|k| k.len()).unwrap_or(0);
        return Some(EncryptionFacts { config_encrypted: !plaintext && config.len() >= 32, key_files });
    }
    let config = std::fs::read(repo.join("config")).ok()?;
    let plaintext =
        serde_json::from_slice::<serde_json::Value>(&config).is_ok() || config.windows(8).any(|w| w == b"\"chunker");
    let key_files = std::fs::read_dir(repo.join("keys")).map(|d| d.filter_map(|e| e.ok()).count()).unwrap_or(0);
    Some(EncryptionFacts { config_encrypted: !plaintext && config.len() >= 32, key_files })
}

/// Collects the facts: opens every reachable repository (one open each), probes every target.
/// `detaches` are the stored detach records (any order).
pub fn gather_facts(
    primary: &Target,
    targets: &[Target],
    password: &Password,
    systems: &[String],
    escrow: Option<KeyEscrow>,
    last_drill: Option<DrillReport>,
    detaches: &[DetachRecord],
) -> PolicyFacts {
    let (primary_generations, primary_error) = match generations(&primary.path, password) {
        Ok(g) => (Some(g), None),
        Err(e) => (None, Some(e.message())),
    };
    let targets = targets
        .iter()
        .filter(|t| t.id != primary.id)
        .map(|t| {
            let probe = probe_target(t);
            let generations_now = if probe.repository_present { generations(&t.path, password).ok() } else { None };
            let last_detach = detaches.iter().filter(|d| d.target_id == t.id).max_by_key(|d| d.at).cloned();
            TargetFacts { target: t.clone(), probe, generations_now, last_detach }
        })
        .collect();
    PolicyFacts {
        now: Utc::now(),
        primary: primary.clone(),
        primary_generations,
        primary_error,
        encryption: encryption_facts(&primary.path),
        targets,
        escrow,
        last_drill,
        systems: systems.to_vec(),
    }
}

fn per_system(gens: &[Generation]) -> BTreeMap<String, Vec<&Generation>> {
    let mut m: BTreeMap<String, Vec<&Generation>> = BTreeMap::new();
    for g in gens {
        m.entry(g.system.clone()).or_default().push(g);
    }
    m
}

/// Generations a target holds as far as we can tell, with where the knowledge comes from.
/// A target's generations and where they were learnt (Japanese, English).
fn target_generations(t: &TargetFacts) -> Option<(Vec<Generation>, (&'static str, &'static str))> {
    if let Some(g) = &t.generations_now {
        return Some((g.clone(), ("リポジトリを読んで確認", "read from the repository")));
    }
    t.last_detach.as_ref().map(|d| (d.generations.clone(), ("取り外し時の記録", "from the detach record")))
}

fn is_offline(t: &TargetFacts) -> bool {
    match t.probe.state {
        OfflineState::ReadOnly | OfflineState::Immutable => true,
        OfflineState::Detached => true,
        OfflineState::Online => false,
    }
}

/// Pure evaluation of the policy points.
pub fn evaluate(facts: &PolicyFacts, rules: &PolicyRules) -> PolicyReport {
    let mut points = Vec::new();
    let mut systems: BTreeSet<String> = facts.systems.iter().cloned().collect();
    if let Some(g) = &facts.primary_generations {
        systems.extend(g.iter().map(|g| g.system.clone()));
    }

    // 1. generations per system, counted from the primary repository
    points.push(match &facts.primary_generations {
        None => {
            let err = facts.primary_error.clone().unwrap_or_default();
            PolicyPoint {
                id: "generations".into(),
                holds: None,
                evidence: Bilingual::new(
                    format!("主リポジトリを読めません: {}", err.ja),
                    format!("cannot read the primary repository: {}", err.en),
                ),
            }
        }
        Some(gens) => {
            let by = per_system(gens);
            let mut lines = Vec::new();
            let mut ok = !systems.is_empty();
            for s in &systems {
                let n = by.get(s).map(|v| v.len()).unwrap_or(0);
                ok &= n >= rules.min_generations;
                lines.push(Bilingual::new(format!("{s}: {n} 世代"), format!("{s}: {n} generations")));
            }
            if systems.is_empty() {
                lines.push(Bilingual::new("バックアップ対象のシステムがありません", "no systems"));
            }
            let lines = Bilingual::join(&lines, "、", "; ");
            let (path, need) = (facts.primary.path.display(), rules.min_generations);
            PolicyPoint {
                id: "generations".into(),
                holds: Some(ok),
                evidence: Bilingual::new(
                    format!("主リポジトリ {path} の世代数（必要 {need} 世代以上）: {}", lines.ja),
                    format!("generations in the primary repository {path} (need ≥{need}): {}", lines.en),
                ),
            }
        }
    });

    // 2. the 3rd and later generations offline: the newest two may be online; the generations
    //    needed beyond them must exist on a target that is really offline now.
    {
        let need_offline = rules.min_generations.saturating_sub(2).max(1);
        let offline_targets: Vec<&TargetFacts> =
            facts.targets.iter().filter(|t| t.target.tier == Tier::Offline).collect();
        let mut lines = Vec::new();
        let mut holds = Some(!systems.is_empty());
        if offline_targets.is_empty() {
            holds = Some(false);
            lines.push(Bilingual::new("オフライン区分の保管先がありません", "no offline target configured"));
        }
        for s in &systems {
            let mut ids = BTreeSet::new();
            for t in &offline_targets {
                if !is_offline(t) {
                    continue;
                }
                if let Some((g, _)) = target_generations(t) {
                    ids.extend(g.iter().filter(|g| &g.system == s).map(|g| g.time));
                }
            }
            if ids.len() < need_offline {
                holds = Some(false);
            }
            let n = ids.len();
            lines.push(Bilingual::new(format!("{s}: オフライン {n} 世代"), format!("{s}: {n} offline generations")));
        }
        for t in &offline_targets {
            let (src_ja, src_en) = target_generations(t).map(|(_, s)| s).unwrap_or(("世代不明", "generations unknown"));
            let probe = Bilingual::join(&t.probe.evidence, "; ", "; ");
            let (id, state) = (&t.target.id, t.probe.state);
            lines.push(Bilingual::new(
                format!("{id}: 状態 {state:?}（{}）, {src_ja}", probe.ja),
                format!("{id}: state {state:?} ({}), {src_en}", probe.en),
            ));
            if t.probe.state == OfflineState::Detached && t.last_detach.is_none() {
                // Detached but nothing says what is on it.
                holds = holds.and(None);
            }
        }
        let lines = Bilingual::join(&lines, "、", "; ");
        points.push(PolicyPoint {
            id: "offline_generations".into(),
            holds,
            evidence: Bilingual::new(
                format!(
                    "3世代目以降はオフライン保管（必要 {need_offline} 世代以上、読み取り専用・変更不可・取り外し済みの保管先のみ数える）: {}",
                    lines.ja
                ),
                format!(
                    "3rd and later generations offline (need ≥{need_offline}; only read-only, immutable or detached targets count): {}",
                    lines.en
                ),
            ),
        });
    }

    // 3. off-site copy
    {
        let offsite: Vec<&TargetFacts> = facts.targets.iter().filter(|t| t.target.tier == Tier::Offsite).collect();
        let limit = facts.now - Duration::days(rules.offsite_max_age_days);
        let mut lines = Vec::new();
        let mut holds = Some(!offsite.is_empty() && !systems.is_empty());
        if offsite.is_empty() {
            lines.push(Bilingual::new("遠隔地の保管先がありません", "no off-site target configured"));
        }
        let mut known = false;
        for s in &systems {
            let newest = offsite
                .iter()
                .filter_map(|t| target_generations(t))
                .inspect(|_| known = true)
                .flat_map(|(g, _)| g.into_iter().filter(|g| &g.system == s).map(|g| g.time).collect::<Vec<_>>())
                .max();
            match newest {
                Some(t) if t >= limit => {
                    let d = t.format("%Y-%m-%d");
                    lines.push(Bilingual::new(format!("{s}: 最新 {d}"), format!("{s}: newest {d}")));
                }
                Some(t) => {
                    holds = Some(false);
                    let d = t.format("%Y-%m-%d");
                    lines.push(Bilingual::new(
                        format!("{s}: 最新 {d}（古すぎます）"),
                        format!("{s}: newest {d} (too old)"),
                    ));
                }
                None => {
                    holds = Some(false);
                    lines.push(Bilingual::new(format!("{s}: 遠隔地に世代なし"), format!("{s}: none off-site")));
                }
            }
        }
        if !offsite.is_empty() && !known {
            holds = None;
            lines.push(Bilingual::new(
                "遠隔地の保管先を読めず記録もありません",
                "off-site target unreadable and unrecorded",
            ));
        }
        let lines = Bilingual::join(&lines, "、", "; ");
        let days = rules.offsite_max_age_days;
        points.push(PolicyPoint {
            id: "offsite_copy".into(),
            holds,
            evidence: Bilingual::new(
                format!("遠隔地保管（{days} 日以内の世代）: {}", lines.ja),
                format!("off-site copy within {days} days: {}", lines.en),
            ),
        });
    }

    // 4. encryption
    points.push(match &facts.encryption {
        None => PolicyPoint {
            id: "encryption".into(),
            holds: None,
            evidence: Bilingual::new("リポジトリの config を読めません", "cannot read the repository config"),
        },
        Some(e) => PolicyPoint {
            id: "encryption".into(),
            holds: Some(e.config_encrypted && e.key_files >= 1),
            evidence: Bilingual::new(
                format!(
                    "config は{}、鍵ファイル {} 個",
                    if e.config_encrypted { "暗号化されています" } else { "平文です" },
                    e.key_files
                ),
                format!(
                    "config {}, {} key files",
                    if e.config_encrypted { "encrypted" } else { "plaintext" },
                    e.key_files
                ),
            ),
        },
    });

    // 5. key escrow
    points.push(match &facts.escrow {
        Some(k) if k.holders.iter().any(|h| !h.trim().is_empty()) => {
            let at = k.recorded_at.format("%Y-%m-%d");
            PolicyPoint {
                id: "key_escrow".into(),
                holds: Some(true),
                evidence: Bilingual::new(
                    format!("パスワードの保管者: {}（{}、{at} 記録）", k.holders.join("、"), k.where_kept),
                    format!("password held by {} ({}, recorded {at})", k.holders.join(", "), k.where_kept),
                ),
            }
        }
        _ => PolicyPoint {
            id: "key_escrow".into(),
            holds: Some(false),
            evidence: Bilingual::new(
                "パスワードの保管者が記録されていません。失うとデータを復元できません",
                "nobody is recorded as holding the password; losing it loses the data",
            ),
        },
    });

    // 6. restore drill
    {
        let limit = facts.now - Duration::days(rules.drill_period_days);
        points.push(match &facts.last_drill {
            None => PolicyPoint {
                id: "restore_drill".into(),
                holds: Some(false),
                evidence: Bilingual::new("復元訓練の記録がありません", "no restore drill recorded"),
            },
            Some(d) => {
                let (at, n, days) = (d.at.format("%Y-%m-%d"), d.mismatches.len(), rules.drill_period_days);
                PolicyPoint {
                    id: "restore_drill".into(),
                    holds: Some(d.ok && d.at >= limit),
                    evidence: Bilingual::new(
                        format!(
                            "最後の復元訓練 {at}: {}（{} ファイル、{} バイト、不一致 {n} 件、期限 {days} 日）",
                            if d.ok { "一致" } else { "不一致あり" },
                            d.files,
                            d.bytes
                        ),
                        format!(
                            "last drill {at}: {} ({} files, {} bytes, {n} mismatches, period {days} days)",
                            if d.ok { "identical" } else { "mismatches" },
                            d.files,
                            d.bytes
                        ),
                    ),
                }
            }
        });
    }

    PolicyReport { at: facts.now, points }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn generation(system: &str, days_ago: i64, now: DateTime<Utc>) -> Generation {
        Generation {
            snapshot_id: format!("{system}{days_ago:02}"),
            time: now - Duration::days(days_ago),
            system: system.into(),
            dump_type: "full".into(),
            hostname: "h".into(),
            paths: vec![],
        }
    }

    fn target(id: &str, tier: Tier) -> Target {
        Target { id: id.into(), tier, path: PathBuf::from(format!("/nonexistent/{id}")), kind: TargetKind::LocalDir }
    }

    fn probe(id: &str, state: OfflineState) -> TargetProbe {
        TargetProbe {
            target_id: id.into(),
            path: PathBuf::new(),
            repository_present: state != OfflineState::Detached,
            read_only: None,
            immutable: None,
            mount: None,
            state,
            evidence: vec![],
        }
    }

    fn facts(now: DateTime<Utc>) -> PolicyFacts {
        PolicyFacts {
            now,
            primary: target("t1", Tier::Online),
            primary_generations: Some(vec![
                generation("ehr", 0, now),
                generation("ehr", 1, now),
                generation("ehr", 2, now),
            ]),
            primary_error: None,
            encryption: Some(EncryptionFacts { config_encrypted: true, key_files: 2 }),
            targets: vec![
                TargetFacts {
                    target: target("t2", Tier::Offline),
                    probe: probe("t2", OfflineState::ReadOnly),
                    generations_now: Some(vec![generation("ehr", 2, now)]),
                    last_detach: None,
                },
                TargetFacts {
                    target: target("t3", Tier::Offsite),
                    probe: probe("t3", OfflineState::Online),
                    generations_now: Some(vec![generation("ehr", 5, now)]),
                    last_detach: None,
                },
            ],
            escrow: Some(KeyEscrow { holders: vec!["院長".into()], recorded_at: now, where_kept: "金庫".into() }),
            last_drill: Some(DrillReport {
                repository: PathBuf::new(),
                snapshot_id: "x".into(),
                system: "ehr".into(),
                dump_type: "full".into(),
                snapshot_time: now,
                at: now - Duration::days(10),
                files: 1,
                bytes: 1,
                mismatches: vec![],
                duration_ms: 1,
                ok: true,
            }),
            systems: vec!["ehr".into()],
        }
    }

    #[test]
    fn a_complete_setup_holds_every_point() {
        let now = Utc::now();
        let r = evaluate(&facts(now), &PolicyRules::default());
        assert!(r.all_hold(), "{r:#?}");
        assert_eq!(r.points.len(), 6);
    }

    #[test]
    fn two_generations_do_not_hold() {
        let now = Utc::now();
        let mut f = facts(now);
        f.primary_generations.as_mut().unwrap().pop();
        let r = evaluate(&f, &PolicyRules::default());
        assert_eq!(r.point("generations").unwrap().holds, Some(false));
    }

    #[test]
    fn a_writable_offline_target_does_not_count_as_offline() {
        let now = Utc::now();
        let mut f = facts(now);
        f.targets[0].probe.state = OfflineState::Online;
        let r = evaluate(&f, &PolicyRules::default());
        assert_eq!(r.point("offline_generations").unwrap().holds, Some(false));
    }

    #[test]
    fn detached_media_without_a_record_is_unknown() {
        let now = Utc::now();
        let mut f = facts(now);
        f.targets[0].probe = probe("t2", OfflineState::Detached);
        f.targets[0].generations_now = None;
        let r = evaluate(&f, &PolicyRules::default());
        let p = r.point("offline_generations").unwrap();
        assert_ne!(p.holds, Some(true), "{p:?}");
    }

    #[test]
    fn stale_offsite_drill_and_missing_escrow_fail() {
        let now = Utc::now();
        let mut f = facts(now);
        f.targets[1].generations_now = Some(vec![generation("ehr", 60, now)]);
        f.escrow = None;
        f.last_drill.as_mut().unwrap().at = now - Duration::days(200);
        let r = evaluate(&f, &PolicyRules::default());
        assert_eq!(r.point("offsite_copy").unwrap().holds, Some(false));
        assert_eq!(r.point("key_escrow").unwrap().holds, Some(false));
        assert_eq!(r.point("restore_drill").unwrap().holds, Some(false));
    }

    #[test]
    fn unreadable_primary_is_unknown_not_false() {
        let now = Utc::now();
        let mut f = facts(now);
        f.primary_generations = None;
        f.primary_error = Some(Bilingual::new("パスワードが違います", "wrong password"));
        let r = evaluate(&f, &PolicyRules::default());
        assert_eq!(r.point("generations").unwrap().holds, None);
    }
}
