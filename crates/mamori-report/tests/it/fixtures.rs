//! Small fixtures made by the project for the tests and the benchmark (a fictional hospital).
//! The MHLW contact (医政局特定医薬品開発支援・医療情報担当参事官室 03-6812-7837) is the one printed in
//! the checklist manual (seed 002); every other name, number and address is invented.
#![allow(dead_code)]

use mamori_report::{Block, ChartGroup, ChartNode, ContactChart, Doc};

pub const FACILITY: &str = "医療法人さくら会 さくら総合病院";

fn node(
    id: &str,
    group: ChartGroup,
    role: &str,
    name: &str,
    phone: &str,
    email: &str,
    order: Option<u32>,
) -> ChartNode {
    ChartNode {
        id: id.into(),
        group,
        role: role.into(),
        name: name.into(),
        phone: (!phone.is_empty()).then(|| phone.into()),
        email: (!email.is_empty()).then(|| email.into()),
        order,
        tier: None,
    }
}

fn tiered(mut n: ChartNode, tier: u32) -> ChartNode {
    n.tier = Some(tier);
    n
}

/// A contact chart with 35 boxes: 15 inside the hospital, 10 vendors, 10 external bodies.
pub fn chart35() -> ContactChart {
    use ChartGroup::*;
    let mut nodes = vec![
        tiered(
            node(
                "director",
                Internal,
                "最高責任者",
                "院長 山田 太郎",
                "内線 100",
                "director@sakura-hp.example.jp",
                Some(3),
            ),
            0,
        ),
        tiered(
            node(
                "ciso",
                Internal,
                "CISO（最高情報セキュリティ責任者）",
                "副院長 佐藤 花子",
                "内線 101",
                "ciso@sakura-hp.example.jp",
                Some(2),
            ),
            1,
        ),
        tiered(
            node(
                "manager",
                Internal,
                "医療情報システム安全管理責任者",
                "情報管理部長 鈴木 一郎",
                "内線 200",
                "it-manager@sakura-hp.example.jp",
                Some(1),
            ),
            2,
        ),
        tiered(
            node(
                "csirt",
                Internal,
                "CSIRT（院内インシデント対応チーム）",
                "チームリーダー 高橋 健",
                "内線 210 / 090-0000-0001",
                "csirt@sakura-hp.example.jp",
                None,
            ),
            3,
        ),
        tiered(
            node(
                "itstaff",
                Internal,
                "情報システム担当者",
                "田中 誠・伊藤 優子",
                "内線 211",
                "it@sakura-hp.example.jp",
                None,
            ),
            3,
        ),
    ];
    let depts = [
        ("med", "診療部 責任者", "診療部長 渡辺 修"),
        ("nurse", "看護部 責任者", "看護部長 中村 恵子"),
        ("pharm", "薬剤部 責任者", "薬剤部長 小林 聡"),
        ("rad", "放射線科 機器管理者", "技師長 加藤 大輔"),
        ("lab", "臨床検査科 システム管理者", "技師長 吉田 美咲"),
        ("ijika", "医事課 システム管理者", "課長 山本 亮"),
        ("somu", "総務課 責任者（広報・渉外）", "課長 松本 由美"),
        ("reha", "リハビリテーション科 責任者", "科長 井上 翔"),
        ("eiyo", "栄養科 責任者", "科長 木村 彩"),
        ("renkei", "地域医療連携室 責任者", "室長 林 直樹"),
    ];
    for (i, (id, role, name)) in depts.iter().enumerate() {
        nodes.push(tiered(node(id, Internal, role, name, &format!("内線 3{i:02}"), "", None), 4));
    }
    let vendors = [
        (
            "v-ehr",
            "電子カルテ保守",
            "株式会社さくらメディカルシステムズ 東日本サポートセンター",
            "0120-000-101",
            "support@ehr-vendor.example.co.jp",
        ),
        ("v-pacs", "PACS 保守", "フジヤマ画像システム株式会社", "03-0000-0102", "pacs@imaging.example.co.jp"),
        ("v-rece", "医事会計システム", "株式会社レセプトワークス", "03-0000-0103", "help@receworks.example.co.jp"),
        ("v-lab", "検査システム", "ラボネット株式会社", "03-0000-0104", ""),
        ("v-net", "院内ネットワーク保守", "株式会社ネットワークス東京", "03-0000-0105", "noc@nw-tokyo.example.co.jp"),
        ("v-vpn", "回線・VPN 装置（FortiGate）", "通信キャリア法人窓口", "0120-000-106", ""),
        (
            "v-sec",
            "情報セキュリティ事業者（インシデント対応支援）",
            "セキュアレスポンス株式会社",
            "03-0000-0107",
            "ir@secure-response.example.co.jp",
        ),
        ("v-backup", "バックアップ・データ保管", "株式会社データアーカイブ", "03-0000-0108", ""),
        ("v-pharm", "薬剤部門システム", "ファーマシステム株式会社", "03-0000-0109", ""),
        ("v-meal", "給食管理システム", "株式会社ミールテック", "03-0000-0110", ""),
    ];
    for (i, (id, role, name, phone, email)) in vendors.iter().enumerate() {
        nodes.push(node(id, Vendor, role, name, phone, email, (i < 3).then_some(4 + i as u32)));
    }
    let externals = [
        ("x-mhlw", "厚生労働省", "医政局特定医薬品開発支援・医療情報担当参事官室", "03-6812-7837", ""),
        ("x-police", "都道府県警察", "サイバー犯罪相談窓口", "000-000-0110", ""),
        ("x-pref", "都道府県", "医療政策課（医療機関の指導監督）", "000-000-0201", ""),
        ("x-hc", "保健所", "○○保健所 医事担当", "000-000-0202", ""),
        ("x-ppc", "個人情報保護委員会", "漏えい等報告窓口", "", ""),
        ("x-ipa", "IPA", "情報セキュリティ安心相談窓口", "03-5978-7509", ""),
        ("x-jpcert", "JPCERT/CC", "インシデント報告", "", "info@jpcert.example"),
        ("x-ins", "サイバー保険", "○○損害保険株式会社 事故受付", "0120-000-301", ""),
        ("x-expert", "外部有識者", "医療情報セキュリティ顧問 大学病院 医療情報部", "", ""),
        ("x-assoc", "地域医師会", "事務局", "000-000-0401", ""),
    ];
    for (i, (id, role, name, phone, email)) in externals.iter().enumerate() {
        nodes.push(node(id, External, role, name, phone, email, (i < 3).then_some(7 + i as u32)));
    }
    let mut edges: Vec<(String, String, String)> = vec![];
    let mut e = |a: &str, b: &str, l: &str| edges.push((a.into(), b.into(), l.into()));
    e("itstaff", "manager", "第一報");
    e("csirt", "manager", "");
    e("manager", "ciso", "報告");
    e("ciso", "director", "報告");
    e("manager", "csirt", "招集");
    e("csirt", "itstaff", "");
    for (id, _, _) in depts {
        e("manager", id, "");
    }
    e("manager", "v-ehr", "");
    e("manager", "v-sec", "支援依頼");
    e("csirt", "v-net", "");
    e("director", "x-mhlw", "報告");
    e("director", "x-police", "相談・通報");
    e("director", "x-pref", "");
    ContactChart {
        title: "サイバーセキュリティインシデント発生時の連絡体制図".into(),
        facility_name: FACILITY.into(),
        nodes,
        edges,
    }
}

/// A BCP-like document of three or more pages with every block kind.
pub fn bcp_doc(with_image: bool) -> Doc {
    let h = |level: u8, text: &str| Block::Heading { level, text: text.into() };
    let p = |text: &str| Block::Paragraph { text: text.into() };
    let mut blocks = vec![
        h(1, "総則"),
        h(2, "目的"),
        p(
            "本計画は、サイバー攻撃により医療情報システムが停止した場合においても、診療を継続し、速やかに復旧するために必要な体制と手順を定めるものである。",
        ),
        h(2, "対象システム"),
        Block::Table {
            header: vec!["システム".into(), "重要度".into(), "復旧優先度".into(), "代替運用".into()],
            rows: vec![
                vec!["電子カルテ".into(), "高".into(), "1".into(), "紙カルテ・紙伝票による運用".into()],
                vec!["PACS".into(), "高".into(), "2".into(), "撮影機器ワークステーションにて画像閲覧".into()],
                vec!["医事会計システム".into(), "中".into(), "3".into(), "未収扱いを検討".into()],
            ],
        },
        h(1, "体制整備"),
        h(2, "連絡体制図"),
    ];
    if with_image {
        let svg = chart35().to_svg().expect("fixture chart lays out");
        blocks.push(Block::Image { svg, caption: Some("図1　連絡体制図".into()), full_page: true });
    }
    blocks.extend([
        h(2, "バックアップ"),
        Block::Missing {
            text: "システムごとのバックアップ一覧が未登録です。「バックアップ」画面で登録してください。".into(),
        },
        h(2, "訓練計画"),
        p("年1回以上、連絡体制図に基づく訓練を実施する。\n訓練の結果は記録し、改善計画に反映する。"),
        h(1, "発生時の対応"),
    ]);
    for i in 1..=20 {
        blocks.push(h(2, &format!("手順 {i}")));
        blocks.push(p("不審な挙動を検知した職員は、端末をネットワークから切り離さずに電源を入れたままとし、直ちに情報システム担当者へ連絡する。連絡を受けた担当者は、影響範囲を確認し、医療情報システム安全管理責任者へ報告する。"));
    }
    blocks.push(h(1, "事後対応"));
    blocks.push(p("復旧後は原因を分析し、再発防止策を講じる。"));
    Doc {
        title: "サイバー攻撃を想定した事業継続計画（BCP）".into(),
        facility_name: FACILITY.into(),
        subtitle: Some("医療情報システム編".into()),
        date: Some("2026年11月21日 作成".into()),
        blocks,
    }
}
