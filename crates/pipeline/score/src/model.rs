//! A verified model as the pipeline uses it: score an event's flow features and raise an
//! alert, with the model's exact explanation, when the score reaches its threshold.

use rampart_audit::AuditSink;
use rampart_core::{
    Alert, AlertId, AlertSource, Contribution, EntityKind, EntityRef, Event, Explanation,
    FeatureRecord, Level,
};
use rampart_ml::model::{Model, Scored};
use rampart_ml::model_file::{ModelKind, ModelLimits};
use rampart_ml::table::Value;
use rampart_registry::VerifiedModel;

use crate::error::{Result, ScoreError};
use crate::rows::{cells, lookup};

/// The model file's name inside a signed model directory.
pub const MODEL_FILE: &str = "model.json";

/// How many contributions an alert carries.
pub const ALERT_CONTRIBUTIONS: usize = 5;

/// A model loaded through the verifier, ready to score events.
///
/// The only constructor takes a [`VerifiedModel`], so every model that scores has had its
/// signature checked, and its bytes were re-hashed as they were read.
#[derive(Debug)]
pub struct ScoringModel {
    model: Model,
    name: String,
    version: String,
    columns: Vec<String>,
}

/// One event's score.
#[derive(Debug, Clone)]
pub struct EventScore {
    /// The model's result: score, flag, contract issues, explanation when flagged.
    pub scored: Scored,
    /// The raw input cells as text, in the model's column order (for explanations in words).
    pub inputs: Vec<(String, String)>,
}

impl ScoringModel {
    /// Reads [`MODEL_FILE`] from a verified directory and validates it against the format's
    /// limits. The version is the directory's signed root digest, so an alert names the exact
    /// artifact that raised it.
    pub fn load(verified: &VerifiedModel, audit: &dyn AuditSink) -> Result<Self> {
        let bytes = verified.read_file(MODEL_FILE, audit)?;
        let model = Model::from_bytes(&bytes, &ModelLimits::default()).map_err(|source| {
            ScoreError::Model {
                model: verified.name().to_owned(),
                source,
            }
        })?;
        let digest = verified.root_digest_hex();
        let version = format!("sha256:{}", digest.get(..16).unwrap_or(&digest));
        let columns = model
            .schema()
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect();
        Ok(Self {
            model,
            name: verified.name().to_owned(),
            version,
            columns,
        })
    }

    /// The model's name (its signed directory's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `sha256:` and the first 16 hex digits of the signed root digest.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The learnt model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The input columns, in contract order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Whether `record` carries every input column of the model; a model only scores the
    /// layout it was trained on.
    pub fn applies_to(&self, record: &FeatureRecord) -> bool {
        // Records of one layout keep their column order, so this is one comparison per
        // column on every event; the name search is the fallback.
        self.columns
            .iter()
            .enumerate()
            .all(|(i, c)| lookup(record, i, c).is_some())
    }

    /// Scores a feature record through the model's input contract; explains the score when
    /// `explain` is true and the row could be scored.
    pub fn score_record(&self, record: &FeatureRecord, explain: bool) -> Result<EventScore> {
        let row = cells(record, &self.columns);
        self.score_cells(&row, explain)
    }

    /// Scores raw cells in the model's column order.
    pub fn score_cells(&self, row: &[Value<'_>], explain: bool) -> Result<EventScore> {
        let scored = self.model.score_row(row, explain)?;
        let inputs = self
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| (c.clone(), cell_text(*v)))
            .collect();
        Ok(EventScore { scored, inputs })
    }

    /// Scores an event: `None` when it has no features of this model's layout; an alert when
    /// the score reaches the model's threshold.
    pub fn alert_for(&self, event: &Event) -> Result<Option<Alert>> {
        let Some(record) = &event.features else {
            return Ok(None);
        };
        if !self.applies_to(record) {
            return Ok(None);
        }
        // Most events are not flagged: score first, explain only the flagged ones.
        let first = self.score_record(record, false)?;
        if !first.scored.flagged {
            return Ok(None);
        }
        let explained = self.score_record(record, true)?;
        Ok(Some(self.alert(event, &explained)))
    }

    fn alert(&self, event: &Event, result: &EventScore) -> Alert {
        let score = result.scored.score.unwrap_or(0.0);
        let (source, level, title) = match self.model.kind() {
            ModelKind::Scorer => (
                AlertSource::Scorer,
                if score >= 0.95 {
                    Level::High
                } else {
                    Level::Medium
                },
                format!(
                    "Likely malicious flow (p = {score:.2}, model {})",
                    self.name
                ),
            ),
            ModelKind::Anomaly => (
                AlertSource::Anomaly,
                if score >= 0.7 {
                    Level::Medium
                } else {
                    Level::Low
                },
                format!("Anomalous flow (score {score:.2}, model {})", self.name),
            ),
        };
        let explanation = result.scored.explanation.as_ref().map(|e| Explanation {
            model: self.name.clone(),
            model_version: self.version.clone(),
            base_value: e.base,
            raw_output: e.output,
            contributions: e
                .top(ALERT_CONTRIBUTIONS)
                .iter()
                .map(|c| Contribution {
                    feature: c.feature.clone(),
                    value: input_text(&result.inputs, &c.column),
                    contribution: c.contribution,
                })
                .collect(),
        });
        let time = event.ecs.timestamp;
        Alert {
            id: AlertId::derive(&[
                b"model",
                self.name.as_bytes(),
                self.version.as_bytes(),
                event.id.as_bytes(),
            ]),
            source,
            rule_id: self.name.clone(),
            title,
            level,
            score: Some(score),
            techniques: Vec::new(),
            tactics: Vec::new(),
            entities: flow_entities(event),
            event_ids: vec![event.id],
            first_seen: time,
            last_seen: time,
            explanation,
        }
    }
}

/// The raw value of `column` among the scored inputs.
fn input_text(inputs: &[(String, String)], column: &str) -> String {
    inputs
        .iter()
        .find_map(|(c, v)| (c == column).then(|| v.clone()))
        .unwrap_or_default()
}

fn cell_text(value: Value<'_>) -> String {
    match value {
        Value::Number(x) => x.to_string(),
        Value::Text(s) => s.to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Missing => "(missing)".to_owned(),
    }
}

/// The hosts and addresses of a flow, for correlation.
fn flow_entities(event: &Event) -> Vec<EntityRef> {
    let ecs = &event.ecs;
    let mut entities: Vec<EntityRef> = [ecs.source.ip, ecs.destination.ip]
        .into_iter()
        .flatten()
        .map(|ip| EntityRef::new(EntityKind::Ip, ip.to_string()))
        .collect();
    if let Some(host) = &ecs.host.name {
        entities.push(EntityRef::new(EntityKind::Host, host.clone()));
    }
    entities.sort();
    entities.dedup();
    entities
}
