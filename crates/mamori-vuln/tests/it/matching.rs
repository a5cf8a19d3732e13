use std::sync::OnceLock;

use mamori_vuln::{Confidence, DeviceFacts, Finding, PriorityTier, VulnDb, VulnIndex, diagnose, match_devices};

use crate::common::{device, full_db};

fn db() -> &'static VulnDb {
    static DB: OnceLock<VulnDb> = OnceLock::new();
    DB.get_or_init(full_db)
}

fn findings(d: DeviceFacts) -> Vec<Finding> {
    let index = VulnIndex::build(db());
    match_devices(&index, &[d])
}

fn conf(fs: &[Finding], cve: &str) -> Option<Confidence> {
    fs.iter().find(|f| &*f.cve_id == cve).map(|f| f.confidence)
}

fn os(text: &str) -> DeviceFacts {
    DeviceFacts { os: Some(text.into()), ..device("dev") }
}

fn sw(text: &str) -> DeviceFacts {
    DeviceFacts { software: vec![(text.into(), None)], ..device("dev") }
}

fn cpe(c: &str) -> DeviceFacts {
    DeviceFacts { cpe_overrides: vec![c.into()], ..device("dev") }
}

#[test]
fn fortios_range_boundaries() {
    use Confidence::Range;
    // CVE-2018-13379: [5.4.6, 5.4.13), [5.6.3, 5.6.8), [6.0.0, 6.0.5)
    for (v, want) in [
        ("6.0.4", Some(Range)),
        ("6.0.5", None),
        ("6.0.0", Some(Range)),
        ("5.4.6", Some(Range)),
        ("5.4.5", None),
        ("5.6.7", Some(Range)),
        ("5.6.8", None),
        ("5.4.13", None),
    ] {
        assert_eq!(conf(&findings(os(&format!("FortiOS {v}"))), "CVE-2018-13379"), want, "FortiOS {v}");
    }
    let f = findings(os("FortiOS 6.0.4"));
    assert_eq!(f.iter().find(|f| &*f.cve_id == "CVE-2018-13379").unwrap().fixed_version.as_deref(), Some("6.0.5"));
    // CVE-2022-42475: [5.0.0, 5.0.14] inclusive end; [7.2.0, 7.2.3)
    for (v, want) in [
        ("5.0.14", Some(Range)),
        ("5.0.15", None),
        ("7.2.2", Some(Range)),
        ("7.2.3", None),
        ("v7.2.2,build1255 (GA)", Some(Range)),
    ] {
        assert_eq!(conf(&findings(os(&format!("FortiOS {v}"))), "CVE-2022-42475"), want, "FortiOS {v}");
    }
    // CVE-2019-5591: up to and including 6.2.0
    assert_eq!(conf(&findings(os("FortiOS 6.2.0")), "CVE-2019-5591"), Some(Range));
    assert_eq!(conf(&findings(os("FortiOS 6.2.1")), "CVE-2019-5591"), None);
}

#[test]
fn panos_hotfix_is_after_its_base() {
    // CVE-2024-3400 (record of 2024-04-23) lists 10.2.9 without hotfix, and 10.2.7-h1/h3/h6.
    assert_eq!(conf(&findings(os("PAN-OS 10.2.9")), "CVE-2024-3400"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(os("PAN-OS 10.2.9-h1")), "CVE-2024-3400"), None);
    assert_eq!(conf(&findings(os("PAN-OS 10.2.7-h3")), "CVE-2024-3400"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(os("PAN-OS 10.2.7-h2")), "CVE-2024-3400"), None);
}

#[test]
fn citrix_builds() {
    let adc =
        |v: &str| DeviceFacts { maker: Some("Citrix".into()), model: Some(format!("Citrix ADC {v}")), ..device("adc") };
    // CVE-2023-4966 (Citrix Bleed): 13.1 before 13.1-49.15
    assert_eq!(conf(&findings(adc("13.1-49.14")), "CVE-2023-4966"), Some(Confidence::Range));
    assert_eq!(conf(&findings(adc("13.1-49.15")), "CVE-2023-4966"), None);
    // CVE-2023-3519: 13.1 before 13.1-49.13
    assert_eq!(conf(&findings(adc("13.1-49.12")), "CVE-2023-3519"), Some(Confidence::Range));
    assert_eq!(conf(&findings(adc("13.1-49.13")), "CVE-2023-3519"), None);
    let f = findings(adc("13.1-49.12"));
    assert_eq!(f.iter().find(|f| &*f.cve_id == "CVE-2023-3519").unwrap().fixed_version.as_deref(), Some("13.1-49.13"));
    // CVE-2019-19781: firmware 13.0 AND hardware ADC; every 13.0 build is listed.
    assert_eq!(conf(&findings(adc("13.0-47.24")), "CVE-2019-19781"), Some(Confidence::Range));
    assert_eq!(conf(&findings(adc("13.1-12.50")), "CVE-2019-19781"), None);
}

#[test]
fn and_configuration_platform_present_absent_other() {
    let fw = "cpe:2.3:o:citrix:application_delivery_controller_firmware:13.0:*:*:*:*:*:*:*";
    // Firmware alone: the ADC hardware the AND-configuration needs is not shown.
    assert_eq!(conf(&findings(cpe(fw)), "CVE-2019-19781"), Some(Confidence::PlatformUnknown));
    // Firmware with the ADC hardware: a match.
    let both = DeviceFacts {
        cpe_overrides: vec![fw.into(), "cpe:2.3:h:citrix:application_delivery_controller:-:*:*:*:*:*:*:*".into()],
        ..device("d")
    };
    assert_eq!(conf(&findings(both), "CVE-2019-19781"), Some(Confidence::Exact));
    // Firmware on other hardware the ledger does show: not this configuration.
    let other =
        DeviceFacts { cpe_overrides: vec![fw.into(), "cpe:2.3:h:citrix:sdx:-:*:*:*:*:*:*:*".into()], ..device("d") };
    assert_eq!(conf(&findings(other), "CVE-2019-19781"), None);
    // FortiOS on a FortiGate 60E: the AND-configuration for FortiGate 6000/7000 of CVE-2023-27997
    // does not apply, but its plain configuration does.
    let fg = DeviceFacts {
        maker: Some("Fortinet".into()),
        model: Some("FortiGate 60E".into()),
        os: Some("FortiOS 6.0.16".into()),
        ..device("fg")
    };
    assert_eq!(conf(&findings(fg), "CVE-2023-27997"), Some(Confidence::Range));
}

#[test]
fn vulnerable_false_alone_is_never_reported() {
    // CVE-2017-0144 lists Windows only as the platform (vulnerable:false) of SMBv1.
    let f = findings(os("Windows 10 1607"));
    assert_eq!(conf(&f, "CVE-2017-0144"), None);
    // The Citrix hardware alone is only a platform in CVE-2019-19781.
    let f = findings(cpe("cpe:2.3:h:citrix:application_delivery_controller:-:*:*:*:*:*:*:*"));
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn ivanti_pulse_and_vendor_rename() {
    // CVE-2019-11510 lists ivanti:connect_secure 9.0 r3.3 (fixed in 9.0R3.4).
    assert_eq!(conf(&findings(sw("Pulse Connect Secure 9.0R3.3")), "CVE-2019-11510"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(sw("Pulse Connect Secure 9.0R3.4")), "CVE-2019-11510"), None);
    assert_eq!(conf(&findings(sw("Pulse Connect Secure 9.0R1")), "CVE-2019-11510"), Some(Confidence::Exact));
    // The old pulsesecure names (2.3 and 2.2 forms) reach the renamed ivanti records.
    for c in [
        "cpe:2.3:a:pulsesecure:pulse_connect_secure:9.0:r3.3:*:*:*:*:*:*",
        "cpe:/a:pulsesecure:pulse_connect_secure:9.0r3.3",
    ] {
        assert_eq!(conf(&findings(cpe(c)), "CVE-2019-11510"), Some(Confidence::Exact), "{c}");
    }
}

#[test]
fn cisco_ios_exact_only() {
    let ios = |v: &str| DeviceFacts { maker: Some("Cisco".into()), os: Some(format!("Cisco IOS {v}")), ..device("sw") };
    assert_eq!(conf(&findings(ios("15.2(5)E")), "CVE-2018-0171"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(ios("15.2(4)M")), "CVE-2018-0171"), None);
    assert_eq!(conf(&findings(ios("15.2(5)E1")), "CVE-2018-0171"), None);
}

#[test]
fn windows_release_service_pack_and_build() {
    // CVE-2021-34527 (PrintNightmare): Windows 10 22H2 before build 10.0.19045.2251.
    let w10 = |b: Option<&str>| DeviceFacts {
        os: Some("Windows 10 Pro 22H2".into()),
        os_version: b.map(str::to_string),
        ..device("pc")
    };
    assert_eq!(conf(&findings(w10(Some("10.0.19045.2250"))), "CVE-2021-34527"), Some(Confidence::Range));
    assert_eq!(conf(&findings(w10(Some("10.0.19045.2251"))), "CVE-2021-34527"), None);
    assert_eq!(conf(&findings(w10(None)), "CVE-2021-34527"), Some(Confidence::VendorProductOnly));
    // Zerologon lists Windows Server 2012 and 2012 R2 as releases.
    assert_eq!(conf(&findings(os("Windows Server 2012 R2 Standard")), "CVE-2020-1472"), Some(Confidence::Exact));
    // BlueKeep: Windows 7 SP1, Server 2008 SP2, Server 2008 R2 SP1 — not Server 2016, not Windows 7 without SP1.
    assert_eq!(conf(&findings(os("Windows 7 Professional SP1")), "CVE-2019-0708"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(os("Windows Server 2008 R2 Service Pack 1")), "CVE-2019-0708"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(os("Windows Server 2008 R2")), "CVE-2019-0708"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(os("Windows Server 2016")), "CVE-2019-0708"), None);
    let w7_nosp = cpe("cpe:2.3:o:microsoft:windows_7:-:-:*:*:*:*:*:*");
    assert_eq!(conf(&findings(w7_nosp), "CVE-2019-0708"), None);
}

#[test]
fn exchange_cumulative_updates() {
    let ex = |t: &str| sw(t);
    assert_eq!(conf(&findings(ex("Microsoft Exchange Server 2016 CU19")), "CVE-2021-26855"), Some(Confidence::Exact));
    assert_eq!(conf(&findings(ex("Microsoft Exchange Server 2016 CU20")), "CVE-2021-26855"), None);
}

#[test]
fn unparsable_version_needs_manual_review() {
    let f = findings(os("FortiOS 6.0.x?"));
    assert_eq!(conf(&f, "CVE-2018-13379"), Some(Confidence::NeedsManualReview));
    let f = findings(os("FortiOS"));
    assert_eq!(conf(&f, "CVE-2018-13379"), Some(Confidence::VendorProductOnly));
}

#[test]
fn log4j_from_nvd_with_japanese_title() {
    let f = findings(sw("Apache Log4j 2.14.1"));
    let x = f.iter().find(|f| &*f.cve_id == "CVE-2021-44228").unwrap();
    assert_eq!(x.confidence, Confidence::Range);
    assert_eq!(x.fixed_version.as_deref(), Some("2.15.0"));
    assert_eq!(x.title_ja.as_deref(), Some("Apache Log4j における任意のコードが実行可能な脆弱性"));
    assert_eq!(x.jvn_id.as_deref(), Some("JVNDB-2021-005429"));
    assert_eq!(conf(&findings(sw("Apache Log4j 2.15.0")), "CVE-2021-44228"), None);
    assert_eq!(conf(&findings(sw("Apache Log4j 2.0-beta9")), "CVE-2021-44228"), Some(Confidence::Exact));
}

#[test]
fn jvn_only_entries_are_matched_with_lower_confidence() {
    // JVNDB-2025-000003: FortiWeb "7.6.2より前のバージョン"; its CVE is not in the NVD fixtures.
    let f = findings(sw("FortiWeb 7.6.1"));
    let x = f.iter().find(|f| &*f.cve_id == "CVE-2024-55593").unwrap();
    assert_eq!(x.confidence, Confidence::Jvn);
    assert_eq!(x.jvn_id.as_deref(), Some("JVNDB-2025-000003"));
    assert_eq!(x.fixed_version.as_deref(), Some("7.6.2"));
    assert!(x.title_ja.as_deref().unwrap().contains("FortiWeb"));
    assert!(findings(sw("FortiWeb 7.6.2")).iter().all(|f| &*f.cve_id != "CVE-2024-55593"));
    // "5.16.3 未満"
    assert_eq!(
        conf(&findings(cpe("cpe:2.3:o:linux:linux_kernel:5.16.2:*:*:*:*:*:*:*")), "CVE-2023-23001"),
        Some(Confidence::Jvn)
    );
    assert_eq!(conf(&findings(cpe("cpe:2.3:o:linux:linux_kernel:5.16.3:*:*:*:*:*:*:*")), "CVE-2023-23001"), None);
    // Build-qualified text cannot be compared honestly.
    let f = findings(sw("Trend Micro ServerProtect for Windows 5.8"));
    assert_eq!(conf(&f, "CVE-2021-36745"), Some(Confidence::NeedsManualReview));
}

#[test]
fn priority_kev_ransomware_then_kev_then_external_then_cvss() {
    let fg = DeviceFacts { os: Some("FortiOS 6.0.4".into()), at_external_point: true, ..device("vpn") };
    let f = findings(fg);
    let a = f.iter().find(|f| &*f.cve_id == "CVE-2018-13379").unwrap();
    assert_eq!(a.tier, PriorityTier::KevRansomware);
    assert!(a.kev.as_ref().unwrap().known_ransomware);
    let b = f.iter().find(|f| &*f.cve_id == "CVE-2019-5591").unwrap();
    assert_eq!(b.tier, PriorityTier::Kev);
    assert!(a.priority > b.priority);
    // CVE-2021-3002 (Seo Panel, from the 2021 feed) is not in KEV.
    let mut db = db().clone();
    db.apply(mamori_vuln::ImportBatch::Nvd(
        mamori_vuln::nvd::read_nvd_file(&crate::common::fixture("nvd/nvdcve-2.0-2021.json.gz")).unwrap(),
    ));
    let index = VulnIndex::build(&db);
    let seo = "cpe:2.3:a:seopanel:seo_panel:4.8.0:*:*:*:*:*:*:*";
    let ext = DeviceFacts { cpe_overrides: vec![seo.into()], at_external_point: true, ..device("ext") };
    let int = DeviceFacts { cpe_overrides: vec![seo.into()], ..device("int") };
    let fs = match_devices(&index, &[int, ext]);
    assert_eq!(fs.len(), 2);
    assert_eq!((&*fs[0].device_ref, fs[0].tier), ("ext", PriorityTier::ExternalPoint));
    assert_eq!((&*fs[1].device_ref, fs[1].tier), ("int", PriorityTier::Cvss));
    assert_eq!(fs[1].cvss_v3.as_ref().unwrap().base_score, 6.1);
    assert!(b.priority > fs[0].priority);
}

#[test]
fn demo_hospital_vpn_and_old_servers() {
    let index = VulnIndex::build(db());
    let devices = vec![
        DeviceFacts {
            maker: Some("Fortinet".into()),
            model: Some("FortiGate 60E".into()),
            os: Some("FortiOS 6.0.4".into()),
            at_external_point: true,
            ..device("VPN-01")
        },
        DeviceFacts { os: Some("Windows Server 2008 R2 SP1".into()), ..device("SRV-EMR") },
        DeviceFacts { os: Some("Windows Server 2012 R2".into()), ..device("SRV-AD") },
        DeviceFacts {
            maker: Some("某社".into()), model: Some("電子カルテ端末".into()), ..device("UNKNOWN-1")
        },
    ];
    let d = diagnose(&index, &devices);
    let of = |r: &str| -> Vec<&str> { d.findings.iter().filter(|f| &*f.device_ref == r).map(|f| &*f.cve_id).collect() };
    let vpn = of("VPN-01");
    for c in [
        "CVE-2018-13379",
        "CVE-2018-13382",
        "CVE-2018-13383",
        "CVE-2019-5591",
        "CVE-2022-42475",
        "CVE-2023-27997",
        "CVE-2024-21762",
    ] {
        assert!(vpn.contains(&c), "VPN-01 should have {c}: {vpn:?}");
    }
    // 7.x-only flaws are not on 6.0.4.
    for c in ["CVE-2022-40684", "CVE-2024-55591"] {
        assert!(!vpn.contains(&c), "VPN-01 must not have {c}");
    }
    assert!(of("SRV-EMR").contains(&"CVE-2019-0708"));
    assert!(of("SRV-AD").contains(&"CVE-2020-1472"));
    assert!(!of("SRV-AD").contains(&"CVE-2019-0708"));
    assert!(d.review.iter().any(|r| r.device_ref == "UNKNOWN-1"));
    // The first finding is the VPN's KEV-ransomware one.
    assert_eq!(&*d.findings[0].device_ref, "VPN-01");
    assert_eq!(d.findings[0].tier, PriorityTier::KevRansomware);
    // Keys are stable across runs.
    let again = diagnose(&index, &devices);
    let k1: Vec<_> = d.findings.iter().map(|f| f.key()).collect();
    let k2: Vec<_> = again.findings.iter().map(|f| f.key()).collect();
    assert_eq!(k1, k2);
    assert_eq!(d.findings[0].key(), format!("VPN-01|{}", d.findings[0].cve_id));
}

#[test]
fn identical_devices_share_one_profile_with_the_same_findings() {
    use std::sync::Arc;
    let index = VulnIndex::build(db());
    let fg = |r: &str, ext: bool| DeviceFacts { os: Some("FortiOS 6.0.4".into()), at_external_point: ext, ..device(r) };
    let devices =
        vec![fg("A", true), DeviceFacts { os: Some("Windows Server 2012 R2".into()), ..device("B") }, fg("C", false)];
    let mut profiles = Vec::new();
    let d = mamori_vuln::scan_profiles(&index, &devices, |p| profiles.push(p));
    assert_eq!(d.profiles_evaluated, 2);
    let forti = profiles.iter().find(|p| p.devices == vec![0, 2]).expect("A and C share a profile");
    assert!(forti.findings.iter().any(|f| &*f.cve_id == "CVE-2018-13379"));
    // Expanding a profile gives exactly what the per-device scan gives.
    let mut expanded: Vec<String> = forti
        .findings
        .iter()
        .flat_map(|f| [f.for_device(&Arc::from("A"), true), f.for_device(&Arc::from("C"), false)])
        .map(|f| format!("{}:{:?}:{}", f.key(), f.tier, f.priority))
        .collect();
    let mut direct: Vec<String> = match_devices(&index, &devices)
        .into_iter()
        .filter(|f| &*f.device_ref != "B")
        .map(|f| format!("{}:{:?}:{}", f.key(), f.tier, f.priority))
        .collect();
    expanded.sort();
    direct.sort();
    assert_eq!(expanded, direct);
}

#[test]
fn large_ledgers_split_across_workers_give_the_same_findings() {
    let index = VulnIndex::build(db());
    // More than 64 distinct profiles, so the two-worker path runs.
    let mut devices = Vec::new();
    for (train, n) in [("5.4", 14), ("5.6", 15), ("6.0", 18), ("6.2", 16), ("6.4", 15), ("7.0", 17), ("7.2", 8)] {
        for p in 0..n {
            devices
                .push(DeviceFacts { os: Some(format!("FortiOS {train}.{p}")), ..device(&format!("FG-{train}.{p}")) });
        }
    }
    devices.push(DeviceFacts { os: Some("Windows Server 2008 R2 SP1".into()), ..device("SRV") });
    assert!(devices.len() > 64);
    let mut all: Vec<String> = match_devices(&index, &devices).iter().map(|f| f.key()).collect();
    let mut one_by_one: Vec<String> =
        devices.iter().flat_map(|d| match_devices(&index, std::slice::from_ref(d))).map(|f| f.key()).collect();
    all.sort();
    one_by_one.sort();
    assert_eq!(all, one_by_one);
    assert!(all.contains(&"FG-6.0.4|CVE-2018-13379".to_string()));
    assert!(!all.contains(&"FG-6.0.5|CVE-2018-13379".to_string()));
}

#[test]
fn two_cpes_of_one_device_hitting_one_cve_give_one_finding() {
    // Both FortiOS trains are in CVE-2024-21762's ranges: one finding, the profile's CPEs evaluated together.
    let d = DeviceFacts {
        cpe_overrides: vec![
            "cpe:2.3:o:fortinet:fortios:6.0.4:*:*:*:*:*:*:*".into(),
            "cpe:2.3:o:fortinet:fortios:7.0.1:*:*:*:*:*:*:*".into(),
        ],
        ..device("dual")
    };
    let f = findings(d);
    let ids: Vec<&str> = f.iter().map(|f| &*f.cve_id).collect();
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(ids.len(), uniq.len(), "no CVE twice: {ids:?}");
    assert_eq!(conf(&f, "CVE-2024-21762"), Some(Confidence::Range));
    assert_eq!(conf(&f, "CVE-2018-13379"), Some(Confidence::Range), "only 6.0.4 has it");
    assert_eq!(conf(&f, "CVE-2022-40684"), Some(Confidence::Range), "only 7.0.1 has it");
    // The same CPEs as two devices give the same CVEs as the dual device.
    let single = |c: &str| DeviceFacts { cpe_overrides: vec![c.into()], ..device("one") };
    let mut both: Vec<String> = findings(single("cpe:2.3:o:fortinet:fortios:6.0.4:*:*:*:*:*:*:*"))
        .into_iter()
        .chain(findings(single("cpe:2.3:o:fortinet:fortios:7.0.1:*:*:*:*:*:*:*")))
        .map(|f| f.cve_id.to_string())
        .collect();
    both.sort();
    both.dedup();
    assert_eq!(both, uniq);
}
