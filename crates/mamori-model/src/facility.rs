//! 医療機関 (facility): every record of mamori belongs to one.

use serde::{Deserialize, Serialize};

/// 病院 (20 beds or more) or 診療所.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    Hospital,
    Clinic,
}

impl FacilityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::Clinic => "clinic",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hospital" | "病院" => Some(Self::Hospital),
            "clinic" | "診療所" => Some(Self::Clinic),
            _ => None,
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Hospital => "病院",
            Self::Clinic => "診療所",
        }
    }
}

/// 病床規模 as the national programme classes hospitals (seed 001): 20–199, 200–399, 400+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BedClass {
    /// 小規模 20–199床
    Small,
    /// 中規模 200–399床
    Medium,
    /// 大規模 400床以上
    Large,
}

impl BedClass {
    pub fn from_beds(beds: u32) -> Option<Self> {
        match beds {
            0..=19 => None,
            20..=199 => Some(Self::Small),
            200..=399 => Some(Self::Medium),
            _ => Some(Self::Large),
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Small => "20～199床",
            Self::Medium => "200～399床",
            Self::Large => "400床以上",
        }
    }
}

/// A facility as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facility {
    pub id: i64,
    #[serde(flatten)]
    pub data: NewFacility,
}

/// A facility's own facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFacility {
    pub name: String,
    pub kind: FacilityKind,
    /// 都道府県
    pub prefecture: String,
    /// 市区町村
    pub municipality: String,
    /// 許可病床数
    pub beds: Option<u32>,
    /// 電子カルテの有無
    pub has_ehr: bool,
    /// 医療機関コード (10 digits: prefecture 2 + point table 1 + institution 7), when known.
    pub medical_code: Option<String>,
}

impl NewFacility {
    pub fn bed_class(&self) -> Option<BedClass> {
        self.beds.and_then(BedClass::from_beds)
    }

    /// Checks a facility before it is stored; messages are Japanese / English.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("施設名が空です / the facility name is empty".into());
        }
        if !crate::ledger::PREFECTURES.contains(&self.prefecture.as_str()) {
            return Err(format!(
                "都道府県「{}」が不明です（例: 東京都、大阪府、北海道）/ unknown prefecture",
                self.prefecture
            ));
        }
        if let Some(code) = &self.medical_code
            && (code.len() != 10 || !code.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "医療機関コード「{code}」は10桁の数字です / the medical institution code has 10 digits"
            ));
        }
        if self.kind == FacilityKind::Hospital && self.beds.is_some_and(|b| b < 20) {
            return Err("病院は20床以上です（19床以下は診療所）/ a hospital has 20 beds or more".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bed_classes_follow_the_programme() {
        assert_eq!(BedClass::from_beds(19), None);
        assert_eq!(BedClass::from_beds(20), Some(BedClass::Small));
        assert_eq!(BedClass::from_beds(199), Some(BedClass::Small));
        assert_eq!(BedClass::from_beds(200), Some(BedClass::Medium));
        assert_eq!(BedClass::from_beds(399), Some(BedClass::Medium));
        assert_eq!(BedClass::from_beds(400), Some(BedClass::Large));
    }
}
