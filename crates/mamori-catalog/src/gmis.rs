//! The MHLW G-MIS survey of backup data and remote gateways (バックアップデータ及びリモートゲートウェイ装置に係る調査)
//! as data, with a small pure evaluator of its skip rules.
//!
//! Each survey is one file `catalog/gmis/<id>.toml`: numbered questions with their wording, answer kind,
//! the 回答要領 guidance, and the skip rules (設問の分岐) as data.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::checklist::is_id;
use crate::{CatalogError, CatalogSource};

/// Folder of the surveys inside the catalog.
pub const DIR: &str = "gmis/";

/// Id of a question, e.g. `q5`.
pub type QuestionId = String;

/// Answers given so far, by question id. A choice answer is the option text (はい / いいえ);
/// a text answer is any non-empty text.
pub type Answers = BTreeMap<QuestionId, String>;

/// A G-MIS survey (G-MIS 調査).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    /// Stable id, equal to the file name without `.toml`.
    pub id: String,
    /// Survey title as printed.
    pub title: String,
    /// Date of the notice (YYYY-MM-DD).
    pub issued: String,
    /// Issuing office.
    pub issuer: String,
    /// Source document(s).
    pub source: String,
    /// Where the survey is answered (G-MIS).
    #[serde(default)]
    pub channel: Option<String>,
    /// Title of the answer guide (回答要領).
    #[serde(default)]
    pub guidance_title: Option<String>,
    /// General notes of the answer guide.
    #[serde(default)]
    pub guidance_notes: Vec<String>,
    /// The project's notes on how the data was derived (not official text).
    #[serde(default)]
    pub data_notes: Vec<String>,
    /// Question groups (質問関係), in order.
    pub sections: Vec<SurveySection>,
    /// All questions, in order.
    pub questions: Vec<Question>,
    /// Skip rules.
    #[serde(default)]
    pub rules: Vec<SkipRule>,
    /// Catalog path the survey was loaded from.
    #[serde(skip_deserializing, default)]
    pub file: String,
}

/// A group of questions, e.g. 【リモートゲートウェイ装置に係る質問関係】.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveySection {
    pub id: String,
    pub title: String,
    /// Instruction printed before the group in the question table.
    #[serde(default)]
    pub preface: Option<String>,
    /// The answer guide's text for the group.
    #[serde(default)]
    pub guidance: Option<String>,
    /// Ids of the questions in the group.
    pub questions: Vec<QuestionId>,
}

/// One survey question (設問).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: QuestionId,
    /// Official number (No.), 1-based.
    pub number: u32,
    /// Wording in the question table (設問項目).
    pub text: String,
    /// What kind of answer is expected.
    pub answer: AnswerSpec,
    /// Heading of the question in the answer guide (回答要領), which may differ slightly.
    #[serde(default)]
    pub guidance_heading: Option<String>,
    /// The answer guide's explanation.
    #[serde(default)]
    pub guidance: String,
    /// Sources of mamori's own data expected to suggest an answer ("ledger", "backup", "vuln", "network", "logs").
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Expected answer of a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AnswerSpec {
    /// Pick one option (選択).
    Choice {
        options: Vec<String>,
        /// False when the options are not printed in the source.
        #[serde(default = "yes")]
        verified: bool,
        #[serde(default)]
        note: Option<String>,
    },
    /// Free text (記述方式), with the named fields.
    Text {
        #[serde(default)]
        fields: Vec<String>,
        /// True when the fields repeat (e.g. one row per VPN device).
        #[serde(default)]
        repeated: bool,
    },
}

fn yes() -> bool {
    true
}

/// A skip rule: when `question` is answered `answer`, continue at `goto` (`end` ends the survey).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRule {
    pub question: QuestionId,
    pub answer: String,
    /// A question id, or `end`.
    pub goto: String,
    /// The printed sentence the rule rests on.
    #[serde(default)]
    pub basis: Option<String>,
}

/// Where a rule leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    To(usize),
    End,
}

impl Survey {
    /// One question by id.
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.questions.iter().position(|q| q.id == id)
    }

    /// Where to go after question `i` answered `answer`.
    fn step(&self, i: usize, answer: &str) -> Step {
        let q = &self.questions[i];
        match self.rules.iter().find(|r| r.question == q.id && r.answer == answer) {
            Some(r) if r.goto == "end" => Step::End,
            Some(r) => self.index_of(&r.goto).map(Step::To).unwrap_or(Step::End),
            None => Step::To(i + 1),
        }
    }

    /// The questions on the path the answers select, in order. Unanswered questions are included
    /// and followed without skipping (their answer may still skip later ones).
    pub fn applicable(&self, answers: &Answers) -> Vec<&Question> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.questions.len() {
            let q = &self.questions[i];
            out.push(q);
            match answers.get(&q.id).filter(|a| !a.trim().is_empty()) {
                None => i += 1,
                Some(a) => match self.step(i, a) {
                    Step::End => break,
                    Step::To(n) => i = n,
                },
            }
        }
        out
    }

    /// The first applicable question not answered yet, or `None` when the survey is complete.
    pub fn next_question(&self, answers: &Answers) -> Option<QuestionId> {
        self.applicable(answers)
            .into_iter()
            .find(|q| answers.get(&q.id).is_none_or(|a| a.trim().is_empty()))
            .map(|q| q.id.clone())
    }

    /// Answers given to questions that the other answers skip (they should be discarded or shown as unused).
    pub fn skipped_answers(&self, answers: &Answers) -> Vec<QuestionId> {
        let on_path: BTreeSet<&str> = self.applicable(answers).iter().map(|q| q.id.as_str()).collect();
        answers.keys().filter(|k| !on_path.contains(k.as_str())).cloned().collect()
    }
}

impl crate::EditionFile for Survey {
    const DIR: &'static str = DIR;
    fn set_file(&mut self, path: &str) {
        self.file = path.to_string();
    }
    fn problems(&mut self, path: &str) -> Vec<String> {
        validate(self, path)
    }
    fn sort_key(&self) -> (String, String) {
        (String::new(), self.id.clone())
    }
}

/// Load every edition in the catalog (embedded and overlaid), sorted by id.
pub fn load_all(src: &CatalogSource) -> Result<Vec<Survey>, CatalogError> {
    crate::load_all_editions(src)
}

/// Load one edition by id (file `{DIR}<id>.toml`).
pub fn load(src: &CatalogSource, id: &str) -> Result<Survey, CatalogError> {
    crate::load_edition(src, id)
}

/// Parse and validate one edition file.
pub fn load_file(src: &CatalogSource, path: &str) -> Result<Survey, CatalogError> {
    crate::load_edition_file(src, path)
}

fn validate(s: &Survey, path: &str) -> Vec<String> {
    let mut p = Vec::new();
    let stem = path.rsplit('/').next().unwrap_or(path).trim_end_matches(".toml");
    if s.id != stem || !is_id(&s.id) {
        p.push(format!(
            "調査のID「{}」がファイル名と一致しません / survey id {:?} must equal the file name {stem:?}",
            s.id, s.id
        ));
    }
    if s.questions.is_empty() {
        p.push("設問がありません / the survey has no questions".into());
    }
    let mut ids = BTreeSet::new();
    for (i, q) in s.questions.iter().enumerate() {
        let at = format!("設問 {} / question {}", q.id, q.id);
        if !is_id(&q.id) {
            p.push(format!("{at}: IDが不正です / bad id (use a-z, 0-9, -)"));
        }
        if !ids.insert(q.id.as_str()) {
            p.push(format!("{at}: IDが重複しています / duplicate id"));
        }
        if q.number as usize != i + 1 {
            p.push(format!(
                "{at}: 番号 {} は {} であるべきです / number {} out of sequence (expected {})",
                q.number,
                i + 1,
                q.number,
                i + 1
            ));
        }
        if q.text.trim().is_empty() {
            p.push(format!("{at}: 文言がありません / text is empty"));
        }
        if let AnswerSpec::Choice { options, verified, note } = &q.answer {
            if options.is_empty() || options.iter().any(|o| o.trim().is_empty()) {
                p.push(format!("{at}: 選択肢がありません / choice without options"));
            }
            if !verified && note.as_deref().is_none_or(|n| n.trim().is_empty()) {
                p.push(format!("{at}: verified = false には note が必要です / unverified options need a note"));
            }
        }
    }
    let mut in_sections: BTreeMap<&str, usize> = BTreeMap::new();
    for sec in &s.sections {
        for qid in &sec.questions {
            *in_sections.entry(qid.as_str()).or_default() += 1;
            if !ids.contains(qid.as_str()) {
                p.push(format!(
                    "区分 {}: 設問 {qid} がありません / section {:?} names unknown question {qid:?}",
                    sec.id, sec.id
                ));
            }
        }
    }
    for q in &s.questions {
        if !s.sections.is_empty() && in_sections.get(q.id.as_str()) != Some(&1) {
            p.push(format!(
                "設問 {} / question {}: ちょうど1つの区分に属する必要があります / must be in exactly one section",
                q.id, q.id
            ));
        }
    }
    for r in &s.rules {
        let at = format!("分岐 {}={} / rule {}={}", r.question, r.answer, r.question, r.answer);
        let Some(from) = s.index_of(&r.question) else {
            p.push(format!("{at}: 設問 {} がありません / unknown question", r.question));
            continue;
        };
        if let AnswerSpec::Choice { options, .. } = &s.questions[from].answer
            && !options.contains(&r.answer)
        {
            p.push(format!("{at}: 回答「{}」は選択肢にありません / answer is not one of the options", r.answer));
        }
        if r.goto != "end" {
            match s.index_of(&r.goto) {
                None => p.push(format!("{at}: 移動先 {} がありません / unknown goto {:?}", r.goto, r.goto)),
                Some(to) if to <= from => {
                    p.push(format!("{at}: 移動先 {} は後の設問である必要があります / goto must lead forward", r.goto))
                }
                Some(_) => {}
            }
        }
    }
    p
}
