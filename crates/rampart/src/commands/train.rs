//! `rampart train` and `rampart eval`: fit an anomaly detector or a threat scorer on labelled
//! flow records, publish it signed into the data dir, and evaluate a signed model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use rampart_audit::AuditSink;
use rampart_core::Format;
use rampart_ml::metrics::{ConfusionMatrix, Evaluation};
use rampart_ml::model_file::ModelKind;
use rampart_score::{FitOn, LabelledRows, TrainOptions};
use serde::Serialize;

use crate::config::Config;
use crate::models::{self, Published};
use crate::output::{print_json, thousands};

/// Which model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// An isolation forest: how unusual a flow is (unsupervised).
    Anomaly,
    /// Gradient-boosted trees with calibrated probabilities: how likely a flow is malicious.
    Scorer,
}

/// Which rows an anomaly model is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FitOnArg {
    /// Rows labelled benign (every row when the data has no labels).
    Normal,
    /// Every training row.
    All,
}

/// Arguments of `rampart train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Anomaly detector or threat scorer.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Labelled flow files or directories (NSL-KDD, CIC-IDS2017 and UNSW-NB15 CSV layouts,
    /// labelled Zeek conn logs).
    #[arg(long, short, num_args = 1.., required_unless_present = "from_store")]
    pub input: Vec<PathBuf>,
    /// Train on labelled events already in the store instead of `--input`.
    #[arg(long, conflicts_with = "input")]
    pub from_store: bool,
    /// With `--from-store`: only the events this run first stored (see `rampart runs`).
    #[arg(long, requires = "from_store")]
    pub run: Option<rampart_core::RunId>,
    /// Model directory to write [default: `DATA_DIR/models/<kind>-<layout>`, which `rampart
    /// run` scores with].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Overwrite the model in `--out` if there is one.
    #[arg(long)]
    pub replace: bool,
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_parser = super::run::parse_format)]
    pub format: Option<Format>,
    /// Use only records of this feature layout [default: the first one read].
    #[arg(long)]
    pub layout: Option<String>,
    /// Rows an anomaly model is fitted on.
    #[arg(long, value_enum, default_value_t = FitOnArg::Normal)]
    pub fit_on: FitOnArg,
    /// Share of labelled rows held back (stratified, seeded) for the recorded evaluation.
    #[arg(long, default_value_t = 0.2)]
    pub held_out: f64,
    /// Seed of the split and the learners.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of trees [default: 100 for anomaly, 200 for scorer].
    #[arg(long)]
    pub trees: Option<usize>,
}

/// The report of `rampart train`.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    /// The model's name.
    pub model: String,
    kind: &'static str,
    layout: String,
    rows: usize,
    rows_fitted: usize,
    rows_held_out: usize,
    rows_unused: usize,
    events_skipped: BTreeMap<String, u64>,
    dead_letters: u64,
    /// The held-back evaluation.
    pub evaluation: Option<EvalFigures>,
    published: Published,
    elapsed_s: f64,
}

/// Evaluation figures under the names the CLI promises.
#[derive(Debug, Serialize)]
pub struct EvalFigures {
    rows: u64,
    positives: u64,
    /// ROC-AUC.
    pub roc_auc: f64,
    /// Average precision.
    pub pr_auc: f64,
    precision: f64,
    recall: f64,
    f1: f64,
    threshold: f64,
    confusion: ConfusionMatrix,
    expected_calibration_error: Option<f64>,
}

impl From<&Evaluation> for EvalFigures {
    fn from(e: &Evaluation) -> Self {
        Self {
            rows: e.rows,
            positives: e.positives,
            roc_auc: e.roc_auc,
            pr_auc: e.average_precision,
            precision: e.precision,
            recall: e.recall,
            f1: e.f1,
            threshold: e.threshold,
            confusion: e.confusion,
            expected_calibration_error: e.expected_calibration_error,
        }
    }
}

impl EvalFigures {
    fn print_human(&self, indent: &str) {
        println!(
            "{indent}rows {} ({} malicious)  ROC-AUC {:.4}  PR-AUC {:.4}",
            thousands(self.rows),
            thousands(self.positives),
            self.roc_auc,
            self.pr_auc
        );
        println!(
            "{indent}at threshold {:.4}: precision {:.4}  recall {:.4}  F1 {:.4}",
            self.threshold, self.precision, self.recall, self.f1
        );
    }
}

/// Runs `rampart train`.
pub fn run(args: &TrainArgs, data_dir: &Path, config: &Config, json: bool) -> anyhow::Result<()> {
    let audit = crate::audit_log::open(data_dir)?;
    let report = train_and_publish(args, data_dir, config, &audit, !json)?;
    if json {
        return print_json(&report);
    }
    report.print_human();
    Ok(())
}

/// Trains the model `args` describe and publishes it signed; `progress` says what is being
/// trained on stderr.
pub fn train_and_publish(
    args: &TrainArgs,
    data_dir: &Path,
    config: &Config,
    audit: &dyn AuditSink,
    progress: bool,
) -> anyhow::Result<TrainReport> {
    let started = Instant::now();
    let started_on = chrono::Utc::now();
    anyhow::ensure!(
        (0.0..0.9).contains(&args.held_out),
        "`--held-out` must be in [0, 0.9), got {}",
        args.held_out
    );
    let input = if args.from_store {
        let store = super::open_existing_store(data_dir, config)?;
        models::stored_events(&store, args.run, data_dir)?
    } else {
        models::read_events(&args.input, args.format, config)?
    };
    let rows = LabelledRows::from_events(&input.events, args.layout.as_deref())?;
    let (kind, kind_name) = match args.kind {
        Kind::Anomaly => (ModelKind::Anomaly, "anomaly"),
        Kind::Scorer => (ModelKind::Scorer, "scorer"),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        models::models_dir(data_dir).join(format!("{kind_name}-{}", rows.layout))
    });
    let name = rampart_registry::model_name(&out);
    let mut options = TrainOptions::new(kind, &name);
    options.training_data_digest = models::training_data_digest(&input.datasets);
    options.fit_on = match args.fit_on {
        FitOnArg::Normal => FitOn::Normal,
        FitOnArg::All => FitOn::All,
    };
    options.held_out = args.held_out;
    options.seed = args.seed;
    if let Some(trees) = args.trees {
        options.anomaly.forest.n_trees = trees;
        options.scorer.gbdt.n_trees = trees;
    }
    if progress {
        eprintln!(
            "training {kind_name} `{name}` on {} {} rows…",
            thousands(rows.len() as u64),
            rows.layout
        );
    }
    let trained = rampart_score::train(&rows, &options)?;
    let parameters = serde_json::json!({
        "kind": kind_name,
        "layout": rows.layout,
        "fit_on": options.fit_on,
        "held_out": options.held_out,
        "seed": options.seed,
        "forest": options.anomaly,
        "gbdt": options.scorer.gbdt,
    });
    let published = models::publish(
        &out,
        &trained.model,
        data_dir,
        audit,
        parameters,
        input.datasets,
        started_on,
        args.replace,
    )?;
    Ok(TrainReport {
        model: name,
        kind: kind_name,
        layout: rows.layout.clone(),
        rows: rows.len(),
        rows_fitted: trained.rows_fitted,
        rows_held_out: trained.rows_held_out,
        rows_unused: trained.rows_unused,
        events_skipped: rows.skipped.clone(),
        dead_letters: input.dead_letters,
        evaluation: trained.evaluation.as_ref().map(EvalFigures::from),
        published,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

impl TrainReport {
    /// Prints what was trained, its held-back evaluation and where it was published.
    pub fn print_human(&self) {
        let report = self;
        println!(
            "trained {} `{}` on {} of {} {} rows in {:.1} s",
            report.kind,
            report.model,
            thousands(report.rows_fitted as u64),
            thousands(report.rows as u64),
            report.layout,
            report.elapsed_s
        );
        match &report.evaluation {
            Some(e) => {
                println!(
                    "held-back evaluation ({} rows):",
                    thousands(report.rows_held_out as u64)
                );
                e.print_human("  ");
            }
            None => println!("no held-back evaluation: the data has no labels of both classes"),
        }
        println!("signed: {}", report.published.signature);
        println!(
            "  key {}  root sha256:{}",
            report.published.key_id, report.published.root_digest
        );
        println!("provenance: {}", report.published.provenance);
        println!(
            "`rampart run` now scores with it; `rampart eval --model {}` evaluates it",
            report.published.dir
        );
    }
}

/// Arguments of `rampart eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The signed model directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled flow files or directories.
    #[arg(long, short, required = true, num_args = 1..)]
    pub input: Vec<PathBuf>,
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_parser = super::run::parse_format)]
    pub format: Option<Format>,
}

#[derive(Debug, Serialize)]
struct EvalReport {
    model: String,
    version: String,
    #[serde(flatten)]
    figures: EvalFigures,
    /// Labelled rows the model's contract refused to score.
    rows_not_scored: u64,
    /// Rows of the layout without a known label (e.g. Stratosphere's background).
    rows_unlabelled: u64,
    events_skipped: BTreeMap<String, u64>,
    dead_letters: u64,
}

/// Runs `rampart eval`.
pub fn eval(args: &EvalArgs, data_dir: &Path, config: &Config, json: bool) -> anyhow::Result<()> {
    let audit = crate::audit_log::open(data_dir)?;
    let model = models::load_scoring_model(&args.model, data_dir, &audit, "rampart eval")?;
    let input = models::read_events(&args.input, args.format, config)?;
    let relevant: Vec<_> = input
        .events
        .iter()
        .filter(|e| e.features.as_ref().is_some_and(|f| model.applies_to(f)))
        .collect();
    anyhow::ensure!(
        !relevant.is_empty(),
        "no input record carries the columns model `{}` reads ({} …)",
        model.name(),
        model
            .columns()
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = LabelledRows::from_events(relevant.iter().copied(), None)?;
    let evaluation = rampart_score::evaluate(model.model(), &rows).context("cannot evaluate")?;
    let known = rows.known().len() as u64;
    let mut skipped = rows.skipped.clone();
    let others = (input.events.len() - relevant.len()) as u64;
    if others > 0 {
        skipped.insert("not this model's layout".to_owned(), others);
    }
    let report = EvalReport {
        model: model.name().to_owned(),
        version: model.version().to_owned(),
        rows_not_scored: known - evaluation.rows,
        rows_unlabelled: rows.len() as u64 - known,
        figures: EvalFigures::from(&evaluation),
        events_skipped: skipped,
        dead_letters: input.dead_letters,
    };
    if json {
        return print_json(&report);
    }
    println!("model `{}` ({}), verified", report.model, report.version);
    report.figures.print_human("  ");
    if report.rows_not_scored > 0 {
        println!(
            "  {} labelled rows were out of the model's contract and not scored",
            thousands(report.rows_not_scored)
        );
    }
    if report.rows_unlabelled > 0 {
        println!(
            "  {} rows without a known label left out",
            thousands(report.rows_unlabelled)
        );
    }
    Ok(())
}
