//! The detectors `rampart run` applies to every event, and the configuration that picks them:
//! Sigma rules, threat-intel indicators and every signed scoring model.
//!
//! Per-event detectors are shared read-only across the parse workers; the alerts travel with
//! the parsed batch to the writer, which stores them after the events they cite. Sigma
//! correlation rules keep state across events, so they run in the writer thread
//! ([`Detectors::correlators`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::Utc;
use rampart_audit::AuditSink;
use rampart_core::{Alert, Event};
use rampart_detect::{Correlator, CorrelatorOptions, RuleSet};
use rampart_enrich::{Catalog, IntelStore, Inventory};
use rampart_score::ScoringModel;
use rampart_store::Store;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::config::Config;

/// The `SigmaHQ` Windows rules bundled with the binary (`crates/rampart/rules/ATTRIBUTION.md`).
const BUNDLED_RULES: &[u8] = include_bytes!("../rules/sigma-windows.tar.gz");
/// Where the bundled rules are written in a data dir, so that users can read them.
const BUNDLED_RULES_FILE: &str = "rules/sigma-windows.tar.gz";

/// `[detect]`: which Sigma rules run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Load the bundled `SigmaHQ` Windows rules (2,244 rules of level medium and above).
    /// Default true.
    pub bundled_sigma_rules: bool,
    /// More Sigma rules: files, directories or `.tar.gz` archives. Default none.
    pub sigma_rules: Vec<PathBuf>,
    /// How late (event time) an event may arrive for correlation rules, in seconds. Default 60.
    pub out_of_order_secs: u64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            bundled_sigma_rules: true,
            sigma_rules: Vec::new(),
            out_of_order_secs: 60,
        }
    }
}

/// `[enrich]`: threat intel and the asset inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichConfig {
    /// STIX 2.1 bundles and IOC lists (CSV or one indicator per line) loaded at every run, in
    /// addition to the STIX objects earlier runs stored. Default none.
    pub intel: Vec<PathBuf>,
    /// MISP warninglists (`list.json`) whose entries suppress indicator matches. Default none.
    pub warninglists: Vec<PathBuf>,
    /// Asset and identity inventory CSV (`kind,value,criticality[,owner][,tags]`). Default none.
    pub inventory: Option<PathBuf>,
}

/// What the detectors were built from, logged when a run starts.
#[derive(Debug, Default)]
struct DetectorsReport {
    /// Sigma single-event rules loaded.
    pub sigma_rules: usize,
    /// Sigma correlation rules loaded.
    pub sigma_correlations: usize,
    /// Sigma rules not loaded, counted by reason.
    pub sigma_rejected: std::collections::BTreeMap<String, usize>,
    /// Threat-intel indicators in force.
    pub indicators: usize,
    /// Intel items that could not be loaded.
    pub intel_errors: usize,
    /// Inventory rows loaded.
    pub assets: usize,
    /// Inventory rows rejected.
    pub inventory_errors: usize,
    /// `name@version` of every scoring model.
    pub models: Vec<String>,
}

/// Every per-event detector of a run, plus the reference data later stages read.
pub struct Detectors {
    models: Vec<ScoringModel>,
    sigma: Vec<Arc<RuleSet>>,
    intel: IntelStore,
    catalog: Catalog,
    inventory: Inventory,
    out_of_order_secs: u64,
}

impl std::fmt::Debug for Detectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detectors")
            .field("models", &self.models.len())
            .field("sigma", &self.sigma.iter().map(|s| s.len()).sum::<usize>())
            .field("indicators", &self.intel.indicator_count())
            .finish_non_exhaustive()
    }
}

impl Detectors {
    /// Builds the detectors a run in `data_dir` applies: the configured Sigma rules, the
    /// intel stored by earlier runs and the configured feeds, and every signed model (each
    /// verified before it is loaded; one that fails stops the run).
    pub fn build(
        data_dir: &Path,
        config: &Config,
        store: &dyn Store,
        audit: &dyn AuditSink,
    ) -> anyhow::Result<Self> {
        let mut report = DetectorsReport::default();
        let models = crate::models::configured_models(data_dir, &config.scoring, audit)?;
        report.models = models
            .iter()
            .map(|m| format!("{}@{}", m.name(), m.version()))
            .collect();
        let sigma = load_sigma(data_dir, &config.detect, &mut report)?;
        let intel = load_intel(store, &config.enrich, &mut report)?;
        let inventory = match &config.enrich.inventory {
            Some(path) => {
                let (inventory, errors) = Inventory::load_csv(path);
                for e in errors.iter().take(5) {
                    warn!(source = %e.source, item = %e.item, reason = %e.reason, "inventory row rejected");
                }
                report.inventory_errors = errors.len();
                inventory
            }
            None => Inventory::default(),
        };
        report.assets = inventory.len();
        info!(
            sigma_rules = report.sigma_rules,
            sigma_rejected = report.sigma_rejected.values().sum::<usize>(),
            indicators = report.indicators,
            intel_errors = report.intel_errors,
            assets = report.assets,
            inventory_errors = report.inventory_errors,
            models = ?report.models,
            "detectors ready"
        );
        Ok(Self {
            models,
            sigma,
            intel,
            catalog: Catalog::embedded(),
            inventory,
            out_of_order_secs: config.detect.out_of_order_secs,
        })
    }

    /// Appends the alerts `event` raises to `out`, tactics named and in kill-chain order.
    pub fn detect(&self, event: &Event, out: &mut Vec<Alert>) {
        let first = out.len();
        for rules in &self.sigma {
            out.extend(rules.evaluate(event));
        }
        // Replayed data is judged at its own time: an indicator valid when the event happened
        // matches, whatever its age today.
        let at = event.ecs.timestamp.unwrap_or_else(Utc::now);
        out.extend(self.intel.alerts_for(event, at));
        for model in &self.models {
            match model.alert_for(event) {
                Ok(Some(alert)) => out.push(alert),
                Ok(None) => {}
                // Scoring checks every cell against the contract first, so this is an
                // internal inconsistency; it must not stop the run or lose the event.
                Err(error) => {
                    warn!(model = model.name(), event = %event.id, %error, "scoring failed");
                }
            }
        }
        for alert in out.iter_mut().skip(first) {
            self.name_tactics(alert);
        }
    }

    /// Fresh streaming evaluators of the Sigma correlation rules, one per rule source that
    /// has any.
    pub fn correlators(&self) -> Vec<Correlator> {
        self.sigma
            .iter()
            .filter(|rules| rules.correlation_count() > 0)
            .map(|rules| {
                Correlator::with_options(
                    Arc::clone(rules),
                    CorrelatorOptions {
                        out_of_order_ms: i64::try_from(self.out_of_order_secs)
                            .unwrap_or(i64::MAX)
                            .saturating_mul(1000),
                        ..CorrelatorOptions::default()
                    },
                )
            })
            .collect()
    }

    /// Replaces tactic shortnames and ids with their names, in kill-chain order.
    pub fn name_tactics(&self, alert: &mut Alert) {
        let mut names: Vec<String> = alert
            .tactics
            .iter()
            .map(|t| {
                self.catalog
                    .tactic(t)
                    .map_or_else(|| t.clone(), |t| t.name.clone())
            })
            .collect();
        self.catalog.order_tactics(&mut names);
        alert.tactics = names;
    }

    /// The ATT&CK / ATLAS catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The asset inventory.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }
}

fn load_sigma(
    data_dir: &Path,
    config: &DetectConfig,
    report: &mut DetectorsReport,
) -> anyhow::Result<Vec<Arc<RuleSet>>> {
    let mut paths = Vec::new();
    if config.bundled_sigma_rules {
        paths.push(write_bundled_rules(data_dir)?);
    }
    paths.extend(config.sigma_rules.iter().cloned());
    // Each source is its own rule set: correlation rules refer to rules of their own source.
    let mut sets = Vec::new();
    for path in &paths {
        let (rules, load) = RuleSet::load(path)
            .with_context(|| format!("cannot read Sigma rules from `{}`", path.display()))?;
        for rejection in load.rejections.iter().take(3) {
            tracing::debug!(file = %rejection.file, reason = %rejection.reason, "Sigma rule not loaded");
        }
        report.sigma_rules += load.loaded;
        report.sigma_correlations += load.correlations;
        for (reason, count) in load.by_reason {
            *report.sigma_rejected.entry(reason).or_default() += count;
        }
        sets.push(Arc::new(rules));
    }
    Ok(sets)
}

/// Writes the bundled rules into the data dir unless an identical copy is there.
fn write_bundled_rules(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let path = data_dir.join(BUNDLED_RULES_FILE);
    let current = std::fs::read(&path).ok();
    if current.as_deref() != Some(BUNDLED_RULES) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&path, BUNDLED_RULES)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(path)
}

fn load_intel(
    store: &dyn Store,
    config: &EnrichConfig,
    report: &mut DetectorsReport,
) -> anyhow::Result<IntelStore> {
    let mut intel = IntelStore::new();
    let objects = rampart_store::collect_pages(|page| store.intel_objects(None, page))
        .context("cannot read stored threat intel")?;
    for object in &objects {
        if let Err(error) = intel.add_intel_object(object) {
            report.intel_errors += 1;
            if report.intel_errors <= 5 {
                warn!(object = %object.stix_id, %error, "intel object not loaded");
            }
        }
    }
    for path in &config.intel {
        let is_stix = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let loaded = if is_stix {
            intel.load_stix_bundle(path)
        } else {
            intel.load_ioc_list(path)
        }
        .with_context(|| format!("cannot load threat intel from `{}`", path.display()))?;
        log_item_errors(&loaded.errors);
        report.intel_errors += loaded.errors.len();
    }
    for path in &config.warninglists {
        let loaded = intel
            .load_warninglist(path)
            .with_context(|| format!("cannot load the warninglist `{}`", path.display()))?;
        log_item_errors(&loaded.errors);
        report.intel_errors += loaded.errors.len();
    }
    report.indicators = intel.indicator_count();
    Ok(intel)
}

fn log_item_errors(errors: &[rampart_enrich::ItemError]) {
    for e in errors.iter().take(5) {
        warn!(source = %e.source, item = %e.item, reason = %e.reason, "intel item not loaded");
    }
}
