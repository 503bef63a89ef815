//! `rampart model explain`: why a signed model scores one record as it does, with the exact
//! additive contributions of its inputs, in words and as JSON.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use rampart_core::Format;
use rampart_ml::explanation::ExplainedOutput;
use rampart_ml::model_file::ModelKind;
use rampart_ml::schema::ContractIssue;
use rampart_ml::table::Value;
use rampart_score::ScoringModel;
use serde::Serialize;
use serde_json::Value as Json;

use crate::config::Config;
use crate::models;
use crate::output::print_json;

/// Arguments of `rampart model explain`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("record").required(true).args(["event", "input"])))]
pub struct ExplainArgs {
    /// The signed model directory.
    pub dir: PathBuf,
    /// The record as a JSON object of column name to value, e.g.
    /// `{"duration":0,"protocol_type":"tcp",…}` (columns left out are missing).
    #[arg(long, value_name = "JSON")]
    pub event: Option<String>,
    /// A file of records; explain the `--row`-th record that carries the model's columns.
    #[arg(long, requires = "row")]
    pub input: Option<PathBuf>,
    /// Which record of `--input`, counting from 1 among records with the model's columns.
    #[arg(long)]
    pub row: Option<usize>,
    /// Read `--input` as this format instead of detecting it.
    #[arg(long, value_parser = super::run::parse_format)]
    pub format: Option<Format>,
    /// How many contributions to show.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Serialize)]
struct ExplainReport {
    model: String,
    version: String,
    kind: &'static str,
    score: Option<f64>,
    flagged: bool,
    threshold: f64,
    issues: Vec<ContractIssue>,
    explanation: Option<ExplanationReport>,
}

#[derive(Debug, Serialize)]
struct ExplanationReport {
    explained: ExplainedOutput,
    base: f64,
    output: f64,
    additivity_error: f64,
    contributions: Vec<ContributionReport>,
}

#[derive(Debug, Serialize)]
struct ContributionReport {
    feature: String,
    column: String,
    input: String,
    contribution: f64,
    effect: &'static str,
}

/// Runs `rampart model explain`.
pub fn run(args: &ExplainArgs, data_dir: &Path, config: &Config, json: bool) -> anyhow::Result<()> {
    let audit = crate::audit_log::open(data_dir)?;
    let model = models::load_scoring_model(&args.dir, data_dir, &audit, "rampart model explain")?;
    let result = match (&args.event, &args.input) {
        (Some(text), _) => {
            let object: serde_json::Map<String, Json> = serde_json::from_str(text)
                .context("`--event` must be a JSON object of column name to value")?;
            let cells: Vec<Value<'_>> = model
                .columns()
                .iter()
                .map(|c| cell(object.get(c)))
                .collect();
            model.score_cells(&cells, true)?
        }
        (None, Some(input)) => {
            let row = args.row.unwrap_or(1);
            anyhow::ensure!(row >= 1, "`--row` counts from 1");
            let events = models::read_events(std::slice::from_ref(input), args.format, config)?;
            let record = events
                .events
                .iter()
                .filter_map(|e| e.features.as_ref())
                .filter(|f| model.applies_to(f))
                .nth(row - 1)
                .with_context(|| {
                    format!(
                        "`{}` has fewer than {row} records with the columns of model `{}`",
                        input.display(),
                        model.name()
                    )
                })?;
            model.score_record(record, true)?
        }
        (None, None) => anyhow::bail!("pass `--event JSON` or `--input PATH --row N`"),
    };
    let kind = model.model().kind();
    let report = ExplainReport {
        model: model.name().to_owned(),
        version: model.version().to_owned(),
        kind: match kind {
            ModelKind::Anomaly => "anomaly",
            ModelKind::Scorer => "scorer",
        },
        score: result.scored.score,
        flagged: result.scored.flagged,
        threshold: model.model().file().threshold,
        issues: result.scored.issues.clone(),
        explanation: result
            .scored
            .explanation
            .as_ref()
            .map(|e| ExplanationReport {
                explained: e.explained,
                base: e.base,
                output: e.output,
                additivity_error: e.additivity_error(),
                contributions: e
                    .top(args.top)
                    .iter()
                    .map(|c| ContributionReport {
                        feature: c.feature.clone(),
                        column: c.column.clone(),
                        input: result
                            .inputs
                            .iter()
                            .find_map(|(n, v)| (n == &c.column).then(|| v.clone()))
                            .unwrap_or_default(),
                        contribution: c.contribution,
                        effect: effect(kind, c.contribution),
                    })
                    .collect(),
            }),
    };
    if json {
        return print_json(&report);
    }
    print_human(&report, &model);
    Ok(())
}

/// What a contribution's sign means for this kind of model.
fn effect(kind: ModelKind, contribution: f64) -> &'static str {
    match (kind, contribution >= 0.0) {
        (ModelKind::Scorer, true) => "toward malicious",
        (ModelKind::Scorer, false) => "toward benign",
        // A shorter isolation path means easier to isolate: more anomalous.
        (ModelKind::Anomaly, true) => "toward normal",
        (ModelKind::Anomaly, false) => "toward anomalous",
    }
}

fn cell(value: Option<&Json>) -> Value<'_> {
    match value {
        None | Some(Json::Null) => Value::Missing,
        Some(Json::Number(n)) => n.as_f64().map_or(Value::Missing, Value::Number),
        Some(Json::String(s)) => Value::Text(s),
        Some(Json::Bool(b)) => Value::Bool(*b),
        // Arrays and objects fit no column kind: the contract reports the wrong type.
        Some(Json::Array(_) | Json::Object(_)) => Value::Text("<structured value>"),
    }
}

fn print_human(report: &ExplainReport, model: &ScoringModel) {
    println!(
        "model `{}` ({}, {})",
        report.model, report.kind, report.version
    );
    match report.score {
        Some(score) => println!(
            "score {score:.4} (threshold {:.4}): {}",
            report.threshold,
            if report.flagged {
                "FLAGGED"
            } else {
                "not flagged"
            }
        ),
        None => println!("not scored: the record breaks the model's input contract"),
    }
    for issue in &report.issues {
        println!(
            "  contract: column `{}`: {:?}{}",
            issue.column,
            issue.kind,
            if issue.blocks_scoring {
                " (blocks scoring)"
            } else {
                ""
            }
        );
    }
    let Some(e) = &report.explanation else {
        return;
    };
    let what = match e.explained {
        ExplainedOutput::LogOddsMargin => "log-odds margin",
        ExplainedOutput::MeanPathLength => "mean isolation path length",
    };
    println!(
        "why: {what} {:.4} = base {:.4} + contributions (additivity error {:.1e})",
        e.output, e.base, e.additivity_error
    );
    for c in &e.contributions {
        println!(
            "  {:>+9.4}  {} = {}  ({})",
            c.contribution, c.feature, c.input, c.effect
        );
    }
    let shown = e.contributions.len();
    let total = model.model().file().feature_names.len();
    if shown < total {
        println!(
            "  … {} smaller contributions not shown (`--top`)",
            total - shown
        );
    }
}
